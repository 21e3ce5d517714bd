using System.Globalization;

namespace Engine.Native;

/// <summary>The cache-line round trip between two threads, measured by <see cref="CoreToCore.MeasureRoundTrip"/>.</summary>
/// <param name="MedianNs">Median over batches of the mean round trip in a batch, ns; NaN when nothing was measured.</param>
/// <param name="MinNs">The fastest batch's mean round trip, ns.</param>
/// <param name="Batches">Batches measured (after warm-up).</param>
/// <param name="RoundTripsPerBatch">Round trips timed together per batch (amortizes the clock read).</param>
/// <param name="First">Pinning of the thread that starts each round trip (null when not requested).</param>
/// <param name="Second">Pinning of the thread that echoes (null when not requested).</param>
/// <param name="FirstCpuSeen">CPU the first thread ran on at the end (-1 when unknown).</param>
/// <param name="SecondCpuSeen">CPU the echo thread ran on at the end (-1 when unknown).</param>
/// <param name="Detail">What was measured, or why nothing was.</param>
public sealed record RoundTripResult(double MedianNs, double MinNs, int Batches, int RoundTripsPerBatch, AffinityResult? First, AffinityResult? Second, int FirstCpuSeen, int SecondCpuSeen, string Detail)
{
    /// <summary>True when at least one batch completed.</summary>
    public bool Measured => Batches > 0;

    /// <inheritdoc />
    public override string ToString() => Measured
        ? string.Create(CultureInfo.InvariantCulture, $"{MedianNs:F0} ns median (min {MinNs:F0} ns) over {Batches} batches of {RoundTripsPerBatch}, CPUs {FirstCpuSeen}↔{SecondCpuSeen}")
        : Detail;
}

/// <summary>
/// Measures the hardware floor of any inter-thread hand-off: a ping-pong of one cache line between
/// two threads (the first writes an odd value, the second answers with the next even one). One
/// round trip is two cache-line transfers; a one-way hop through any ring costs at least half of it.
/// </summary>
/// <remarks>
/// Cold path: it creates two threads (never pins the caller), burns both CPUs for the duration, and
/// allocates its line in aligned native memory so nothing else shares it.
/// </remarks>
public static class CoreToCore
{
    private const int WarmupBatches = 5;
    private const long Stop = long.MinValue;

    /// <summary>
    /// Runs <paramref name="batches"/> batches of <paramref name="roundTripsPerBatch"/> round trips between
    /// a thread pinned to <paramref name="firstCpu"/> and one pinned to <paramref name="secondCpu"/> (null:
    /// left to the scheduler), stopping early at <paramref name="timeLimit"/>. Needs two CPUs to mean anything.
    /// </summary>
    public static RoundTripResult MeasureRoundTrip(int? firstCpu, int? secondCpu, int batches = 200, int roundTripsPerBatch = 100, TimeSpan? timeLimit = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batches, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(roundTripsPerBatch, 1);
        if (Environment.ProcessorCount < 2)
        {
            return new RoundTripResult(double.NaN, double.NaN, 0, roundTripsPerBatch, null, null, -1, -1, "one CPU: no core-to-core transfer to measure");
        }

        long deadline = MonotonicClock.NowNs() + (long)(timeLimit ?? TimeSpan.FromSeconds(2)).TotalNanoseconds;
        using var line = new AlignedBuffer<long>(16, 128);
        var samples = new double[batches];
        int measured = 0;
        AffinityResult? firstAffinity = null, secondAffinity = null;
        int firstCpuSeen = -1, secondCpuSeen = -1;

        var echo = new Thread(() =>
        {
            if (secondCpu is int cpu)
            {
                secondAffinity = CpuAffinity.PinCurrentThread(cpu);
            }

            ref long value = ref line[0];
            while (true)
            {
                long v = Volatile.Read(ref value);
                if (v == Stop)
                {
                    break;
                }

                if ((v & 1) == 1)
                {
                    Volatile.Write(ref value, v + 1);
                }
            }

            secondCpuSeen = CpuAffinity.CurrentCpu();
        })
        { IsBackground = true, Name = "pingpong-echo" };

        var ping = new Thread(() =>
        {
            if (firstCpu is int cpu)
            {
                firstAffinity = CpuAffinity.PinCurrentThread(cpu);
            }

            ref long value = ref line[0];
            long next = 1;
            for (int b = -WarmupBatches; b < batches; b++)
            {
                long start = MonotonicClock.NowNs();
                for (int i = 0; i < roundTripsPerBatch; i++)
                {
                    Volatile.Write(ref value, next);
                    long expected = next + 1;
                    while (Volatile.Read(ref value) != expected)
                    {
                    }

                    next += 2;
                }

                long end = MonotonicClock.NowNs();
                if (b >= 0)
                {
                    samples[measured++] = (end - start) / (double)roundTripsPerBatch;
                }

                if (end > deadline)
                {
                    break;
                }
            }

            firstCpuSeen = CpuAffinity.CurrentCpu();
            Volatile.Write(ref value, Stop);
        })
        { IsBackground = true, Name = "pingpong-first" };

        echo.Start();
        ping.Start();
        ping.Join();
        echo.Join();
        if (measured == 0)
        {
            return new RoundTripResult(double.NaN, double.NaN, 0, roundTripsPerBatch, firstAffinity, secondAffinity, firstCpuSeen, secondCpuSeen, "time limit reached during warm-up: the two threads rarely ran at the same time (busy CPUs, or both on one CPU)");
        }

        double[] sorted = samples[..measured];
        Array.Sort(sorted);
        double median = measured % 2 == 1 ? sorted[measured / 2] : (sorted[(measured / 2) - 1] + sorted[measured / 2]) / 2;
        return new RoundTripResult(median, sorted[0], measured, roundTripsPerBatch, firstAffinity, secondAffinity, firstCpuSeen, secondCpuSeen, "measured");
    }
}
