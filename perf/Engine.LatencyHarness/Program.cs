using Engine.LatencyHarness;
using Engine.LatencyHarness.Scenarios;
using Spectre.Console;

// dotnet run -c Release --project perf/Engine.LatencyHarness -- SCENARIO [--quick] [--json FILE]
var scenarios = new Dictionary<string, Func<bool, ScenarioResult>>(StringComparer.Ordinal)
{
    ["replay"] = ReplayScenario.Run,
    ["inference"] = InferenceScenario.Run,
    ["compiled"] = CompiledScenario.Run,
    ["providers"] = ProvidersScenario.Run,
    ["feeds"] = FeedsScenario.Run,
    ["ring"] = RingScenario.Run,
};

if (Console.IsOutputRedirected)
{
    AnsiConsole.Profile.Width = 200;
}

if (args.Length == 0 || !scenarios.TryGetValue(args[0], out Func<bool, ScenarioResult>? run))
{
    Console.Error.WriteLine($"usage: Engine.LatencyHarness SCENARIO [--quick] [--json FILE]; scenarios: {string.Join(", ", scenarios.Keys)}");
    return 2;
}

bool quick = args.Contains("--quick");
int jsonAt = Array.IndexOf(args, "--json");
string? json = jsonAt >= 0 && jsonAt + 1 < args.Length ? args[jsonAt + 1] : null;
if (jsonAt >= 0 && json is null)
{
    Console.Error.WriteLine("--json needs a file name");
    return 2;
}

ScenarioResult result = run(quick);
result.Print();
if (json is not null)
{
    result.WriteJson(json);
    Console.WriteLine($"wrote {json}");
}

return 0;
