namespace Engine.Cli.Sample;

/// <summary>
/// SplitMix64: a tiny, fast PRNG whose output depends only on the seed (unlike System.Random, whose
/// algorithm is an implementation detail), so the sample capture is reproducible on any runtime.
/// </summary>
internal sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong NextULong()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n).</summary>
    public int Next(int n) => (int)(NextDouble() * n);

    public bool Chance(double p) => NextDouble() < p;

    /// <summary>Exponential with the given mean.</summary>
    public double Exponential(double mean) => -mean * Math.Log(1.0 - NextDouble());

    /// <summary>Geometric count of failures before a success of probability <paramref name="p"/>.</summary>
    public int Geometric(double p) => (int)Math.Floor(Math.Log(1.0 - NextDouble()) / Math.Log(1.0 - p));

    /// <summary>Standard normal (Box–Muller).</summary>
    public double Gaussian() => Math.Sqrt(-2.0 * Math.Log(1.0 - NextDouble())) * Math.Cos(2.0 * Math.PI * NextDouble());
}
