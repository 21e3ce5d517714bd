using System.Diagnostics;
using System.Security.Cryptography;

namespace Engine.Fuzz;

/// <summary>What one target's run found.</summary>
public sealed record FuzzResult(string Target, int Seeds, long Inputs, long Crashes, long Hangs, double Seconds, double SlowestMs, long InputsWithAcceptedMessages, long AcceptedMessages, IReadOnlyList<string> Findings)
{
    public double InputsPerSecond => Inputs / Math.Max(Seconds, 1e-9);
}

/// <summary>
/// Runs a target over mutated seeds, on one thread. An exception is a crash (the input is saved under
/// the output folder and the run goes on); an input that runs longer than the hang timeout is a hang:
/// a watchdog thread saves it, hands <c>onHang</c> the run so far (one hang) and ends the process,
/// since a stuck thread cannot be stopped.
/// </summary>
public static class FuzzRunner
{
    public static FuzzResult Run(string target, Func<byte[], long> run, IReadOnlyList<byte[]> seeds, long inputs, ulong seed, TimeSpan hangTimeout, string? crashFolder, Action<FuzzResult>? onHang = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(seeds);
        var mutator = new Mutator(seeds, seed);
        var findings = new List<string>();
        long crashes = 0;
        long started = 0;
        long ran = 0;
        var clock = Stopwatch.StartNew();
        byte[]? current = null;
        bool done = false;
        long hangTicks = (long)(hangTimeout.TotalSeconds * Stopwatch.Frequency);
        var watchdog = new Thread(() =>
        {
            while (!Volatile.Read(ref done))
            {
                Thread.Sleep(50);
                long at = Volatile.Read(ref started);
                if (at != 0 && Stopwatch.GetTimestamp() - at > hangTicks)
                {
                    string where = Save(crashFolder, target, "hang", Volatile.Read(ref current) ?? []);
                    Console.Error.WriteLine($"HANG in {target}: an input ran longer than {hangTimeout.TotalMilliseconds:N0} ms; saved to {where}");
                    onHang?.Invoke(new FuzzResult(target, seeds.Count, Volatile.Read(ref ran) + 1, Volatile.Read(ref crashes), 1, clock.Elapsed.TotalSeconds, hangTimeout.TotalMilliseconds, 0, 0, [$"hang: input {where}"]));
                    Environment.Exit(3);
                }
            }
        })
        { IsBackground = true, Name = "fuzz watchdog" };
        watchdog.Start();

        long slowest = 0;
        long deep = 0, accepted = 0;
        clock.Restart();
        for (long i = 0; i < inputs; i++)
        {
            // Seeds themselves first, then mutations.
            byte[] input = i < seeds.Count ? (byte[])seeds[(int)i].Clone() : mutator.Next();
            Volatile.Write(ref current, input);
            long t = Stopwatch.GetTimestamp();
            Volatile.Write(ref started, t);
            try
            {
                long n = run(input);
                accepted += n;
                deep += n > 0 ? 1 : 0;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                crashes++;
                string key = $"{ex.GetType().Name}: {ex.Message} @ {ex.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}";
                if (findings.Count < 20 && !findings.Exists(f => f.StartsWith(key, StringComparison.Ordinal)))
                {
                    findings.Add($"{key} (input {Save(crashFolder, target, "crash", input)})");
                }
            }

            long elapsed = Stopwatch.GetTimestamp() - t;
            Volatile.Write(ref started, 0);
            Volatile.Write(ref ran, i + 1);
            slowest = Math.Max(slowest, elapsed);
        }

        Volatile.Write(ref done, true);
        return new FuzzResult(target, seeds.Count, inputs, crashes, 0, clock.Elapsed.TotalSeconds, slowest * 1000.0 / Stopwatch.Frequency, deep, accepted, findings);
    }

    private static string Save(string? folder, string target, string kind, byte[] input)
    {
        if (folder is null)
        {
            return "(not saved)";
        }

        string dir = Path.Combine(folder, target);
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, $"{kind}-{Convert.ToHexStringLower(SHA256.HashData(input))[..16]}.bin");
        File.WriteAllBytes(path, input);
        return path;
    }
}
