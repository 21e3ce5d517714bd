using System.Text.Json;
using Engine.Fuzz;

namespace FeedHandlers.Tests;

/// <summary>
/// CI's short version of the fuzz command (perf/Engine.Fuzz runs 10⁶ inputs per target): the same
/// targets, seeds and mutator, a few thousand inputs each, no crash allowed. A hang ends the test
/// host through the fuzzer's watchdog, which fails the run.
/// </summary>
[TestFixture]
public sealed class FuzzSmokeTests
{
    [TestCase("itch", 30_000)]
    [TestCase("iex", 30_000)]
    [TestCase("lobster", 3_000)]
    [TestCase("moldudp", 30_000)]
    [TestCase("capture", 10_000)]
    public void MutatedRealMessagesNeverCrashAParser(string target, int inputs)
    {
        List<byte[]> seeds = Seeds.For(target);
        FuzzResult result = FuzzRunner.Run(target, FuzzTargets.All[target], seeds, inputs, seed: 7, TimeSpan.FromSeconds(20), crashFolder: null);
        Assert.That(result.Findings, Is.Empty);
        Assert.That((result.Inputs, result.Crashes, result.Hangs), Is.EqualTo(((long)inputs, 0L, 0L)));
        // With ../shared the seeds include real captures (about 40% of IEX inputs keep accepted messages);
        // without it only built ones (about 22%): either way well above this floor.
        Assert.That(result.InputsWithAcceptedMessages, Is.GreaterThan(inputs / 8), "the mutations still reach the parsers' message handling");
    }

    [Test]
    public void JsonReportCarriesEveryTargetsCountsRateSlowestInputAndSeed()
    {
        var results = new List<FuzzResult>();
        foreach (string target in new[] { "moldudp", "capture" })
        {
            results.Add(FuzzRunner.Run(target, FuzzTargets.All[target], Seeds.For(target), 300, seed: 3, TimeSpan.FromSeconds(20), crashFolder: null));
        }

        string path = Path.Combine(Path.GetTempPath(), $"fuzz-{Guid.NewGuid():N}.json");
        try
        {
            FuzzReport.WriteJson(path, results, 300, 3, 5_000, ["moldudp", "capture", "--inputs", "300", "--seed", "3"], realSeeds: false);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement root = doc.RootElement;
            Assert.That(root.GetProperty("command").GetString(), Does.EndWith("-- moldudp capture --inputs 300 --seed 3"));
            Assert.That((root.GetProperty("crashes").GetInt64(), root.GetProperty("hangs").GetInt64(), root.GetProperty("clean").GetBoolean()), Is.EqualTo((0L, 0L, true)));
            JsonElement[] targets = [.. root.GetProperty("targets").EnumerateArray()];
            Assert.That(targets.Select(t => t.GetProperty("target").GetString()), Is.EqualTo(new[] { "moldudp", "capture" }));
            foreach (JsonElement t in targets)
            {
                Assert.That(t.GetProperty("inputs").GetInt64(), Is.EqualTo(300));
                Assert.That(t.GetProperty("seed").GetUInt64(), Is.EqualTo(3UL));
                Assert.That((t.GetProperty("crashes").GetInt64(), t.GetProperty("hangs").GetInt64()), Is.EqualTo((0L, 0L)));
                Assert.That(t.GetProperty("inputs_per_second").GetDouble(), Is.GreaterThan(0));
                Assert.That(t.GetProperty("slowest_input_ms").GetDouble(), Is.GreaterThanOrEqualTo(0));
                Assert.That(t.GetProperty("findings").GetArrayLength(), Is.Zero);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
