using System.Globalization;
using Engine.Fuzz;

// dotnet run -c Release --project perf/Engine.Fuzz -- [itch|iex|lobster ...] [--inputs N] [--seed S] [--hang-ms T] [--out DIR]
var targets = new List<string>();
long inputs = 1_000_000;
ulong seed = 1;
int hangMs = 5_000;
string output = Path.Combine("out", "fuzz");
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
        default:
            if (!FuzzTargets.All.ContainsKey(args[i]))
            {
                Console.Error.WriteLine($"usage: Engine.Fuzz [{string.Join('|', FuzzTargets.All.Keys)} ...] [--inputs N] [--seed S] [--hang-ms T] [--out DIR]; unknown argument '{args[i]}'");
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
foreach (string target in targets)
{
    List<byte[]> seeds = Seeds.For(target);
    FuzzResult r = FuzzRunner.Run(target, FuzzTargets.All[target], seeds, inputs, seed, TimeSpan.FromMilliseconds(hangMs), output);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Target,-8} seeds {r.Seeds,5}  inputs {r.Inputs,12:N0}  crashes {r.Crashes,6:N0}  hangs {r.Hangs}  {r.Seconds,8:F1} s  {r.InputsPerSecond,10:N0} inputs/s  slowest {r.SlowestMs:F2} ms  inputs with accepted messages {100.0 * r.InputsWithAcceptedMessages / r.Inputs:F1}% ({r.AcceptedMessages:N0} messages)"));
    foreach (string finding in r.Findings)
    {
        Console.WriteLine($"  {finding}");
    }

    clean &= r.Crashes == 0;
}

Console.WriteLine(clean ? "fuzz: 0 crashes, 0 hangs" : "fuzz: CRASHES FOUND");
return clean ? 0 : 1;
