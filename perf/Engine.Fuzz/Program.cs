using System.Globalization;
using Engine.Fuzz;

// dotnet run -c Release --project perf/Engine.Fuzz -- [itch|iex|lobster|moldudp|capture ...] [--inputs N] [--seed S] [--hang-ms T] [--out DIR] [--json FILE]
// (also: `afl TARGET` under afl-fuzz, `seeds TARGET DIR`; see perf/fuzz-afl.sh)
if (args.Length == 2 && args[0] == "afl" && FuzzTargets.All.TryGetValue(args[1], out Func<byte[], long>? aflTarget))
{
    // Under afl-fuzz (see perf/fuzz-afl.sh): SharpFuzz's fork server runs the target once per input
    // AFL makes, with coverage from the instrumented FeedHandlers and Engine.Cli assemblies; an
    // exception escaping the target is the crash AFL records.
    SharpFuzz.Fuzzer.Run(stream =>
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        aflTarget(copy.ToArray());
    });
    return 0;
}

if (args.Length == 3 && args[0] == "seeds" && FuzzTargets.All.ContainsKey(args[1]))
{
    // Writes a target's seed inputs as files, for afl-fuzz's -i folder.
    Directory.CreateDirectory(args[2]);
    List<byte[]> all = Seeds.For(args[1]);
    for (int i = 0; i < all.Count; i++)
    {
        File.WriteAllBytes(Path.Combine(args[2], $"seed-{i:D4}.bin"), all[i]);
    }

    Console.WriteLine($"wrote {all.Count} seeds to {Path.GetFullPath(args[2])}");
    return 0;
}

var targets = new List<string>();
long inputs = 1_000_000;
ulong seed = 1;
int hangMs = 5_000;
string output = Path.Combine("out", "fuzz");
string? jsonPath = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--inputs" when i + 1 < args.Length:
            inputs = long.Parse(args[++i], NumberStyles.Integer, CultureInfo.InvariantCulture);
            break;
        case "--seed" when i + 1 < args.Length:
            seed = ulong.Parse(args[++i], NumberStyles.Integer, CultureInfo.InvariantCulture);
            break;
        case "--hang-ms" when i + 1 < args.Length:
            hangMs = int.Parse(args[++i], NumberStyles.Integer, CultureInfo.InvariantCulture);
            break;
        case "--out" when i + 1 < args.Length:
            output = args[++i];
            break;
        case "--json" when i + 1 < args.Length:
            jsonPath = args[++i];
            break;
        default:
            if (!FuzzTargets.All.ContainsKey(args[i]))
            {
                Console.Error.WriteLine($"usage: Engine.Fuzz [{string.Join('|', FuzzTargets.All.Keys)} ...] [--inputs N] [--seed S] [--hang-ms T] [--out DIR] [--json FILE]; unknown argument '{args[i]}'");
                return 2;
            }

            targets.Add(args[i]);
            break;
    }
}

if (targets.Count == 0)
{
    targets.AddRange(FuzzTargets.All.Keys);
}

Console.WriteLine($"fuzzing {string.Join(", ", targets)}: {inputs:N0} inputs each, seed {seed}, hang = an input running over {hangMs:N0} ms; findings saved under {Path.GetFullPath(output)}");
Console.WriteLine(Seeds.Shared is null ? "../shared absent: seeds from the bundled sample and hand-built captures only" : $"seeds include real data from {Seeds.Shared}");
bool clean = true;
var results = new List<FuzzResult>();
bool realSeeds = Seeds.Shared is not null;
foreach (string target in targets)
{
    List<byte[]> seeds = Seeds.For(target);
    FuzzResult r = FuzzRunner.Run(target, FuzzTargets.All[target], seeds, inputs, seed, TimeSpan.FromMilliseconds(hangMs), output, hung =>
    {
        if (jsonPath is not null)
        {
            FuzzReport.WriteJson(jsonPath, [.. results, hung], inputs, seed, hangMs, args, realSeeds);
        }
    });
    results.Add(r);
    if (jsonPath is not null)
    {
        FuzzReport.WriteJson(jsonPath, results, inputs, seed, hangMs, args, realSeeds);
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Target,-8} seeds {r.Seeds,5}  inputs {r.Inputs,12:N0}  crashes {r.Crashes,6:N0}  hangs {r.Hangs}  {r.Seconds,8:F1} s  {r.InputsPerSecond,10:N0} inputs/s  slowest {r.SlowestMs:F2} ms  inputs with accepted messages {100.0 * r.InputsWithAcceptedMessages / r.Inputs:F1}% ({r.AcceptedMessages:N0} messages)"));
    foreach (string finding in r.Findings)
    {
        Console.WriteLine($"  {finding}");
    }

    clean &= r.Crashes == 0;
}

Console.WriteLine(clean ? "fuzz: 0 crashes, 0 hangs" : "fuzz: CRASHES FOUND");
if (jsonPath is not null)
{
    Console.WriteLine($"results → {Path.GetFullPath(jsonPath)}");
}

return clean ? 0 : 1;
