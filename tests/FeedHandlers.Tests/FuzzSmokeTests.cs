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
}
