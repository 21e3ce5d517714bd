using Engine.Pipeline;

namespace Engine.Tests;

/// <summary>
/// Several producers and consumers on one ring, every consumer checking ring order, per-producer order,
/// payload integrity and the marks of the stages before it: 10⁶ events in CI, 10⁸ with ENGINE_LONG_TESTS=1.
/// </summary>
[TestFixture]
public sealed class RingStressTests
{
    private static readonly bool s_long = Environment.GetEnvironmentVariable("ENGINE_LONG_TESTS") == "1";

    private static readonly long s_events = s_long ? 100_000_000 : 1_000_000;

    [TestCase(ProducerMode.Single, 1)]
    [TestCase(ProducerMode.Multi, 3)]
    public void EveryConsumerSeesEveryEventInOrderAndTheLossyOneAccountsForAllItSkipped(ProducerMode mode, int producers)
    {
        long perProducer = s_events / producers;
        long total = perProducer * producers;
        using var pipeline = new RingPipeline<StressEvent>(4096, mode);
        StageOptions Named(string name) => new() { Name = name };
        Stage<StageChecker> a = pipeline.AddStage(() => new StageChecker(new CheckCounts(producers), StageRole.A), default(YieldingWaitStrategy), Named("A"));
        Stage<StageChecker> b = pipeline.AddStage(() => new StageChecker(new CheckCounts(producers), StageRole.B), default(YieldingWaitStrategy), Named("B"), a);
        Stage<StageChecker> c = pipeline.AddStage(() => new StageChecker(new CheckCounts(producers), StageRole.C), default(YieldingWaitStrategy), Named("C"), a);
        Stage<StageChecker> d = pipeline.AddStage(() => new StageChecker(new CheckCounts(producers), StageRole.D), default(YieldingWaitStrategy), Named("D"), b, c);
        Stage<StageChecker> journal = pipeline.AddSideConsumer(() => new StageChecker(new CheckCounts(producers), StageRole.Side), default(BlockingWaitStrategy), BackPressurePolicy.Lossless, Named("journal"));
        Stage<StageChecker> log = pipeline.AddSideConsumer(() => new StageChecker(new CheckCounts(producers), StageRole.Side, slowEvery: 20_000), default(SleepingWaitStrategy), BackPressurePolicy.LossyWithAccounting, Named("log"), d);
        pipeline.Start();
        var run = new StressProducers(pipeline.Sequencer, pipeline.Ring, producers, perProducer, maxBatch: 16).Start();
        run.Join();

        Assert.That(pipeline.DrainAndStop(TimeSpan.FromMinutes(s_long ? 60 : 5)), Is.True, "drain-and-stop reached the last published sequence");
        Assert.That(run.Published, Is.EqualTo(total));
        foreach (Stage<StageChecker> stage in new[] { a, b, c, d, journal })
        {
            CheckCounts counts = stage.Handler.Counts;
            Assert.That(counts.Violations, Is.Zero, $"{stage.Name}: {counts.FirstViolation}");
            Assert.That(counts.Seen, Is.EqualTo(total), $"{stage.Name} lost nothing");
            Assert.That(counts.Gaps, Is.Zero, stage.Name);
            Assert.That(stage.Processor.FaultCount, Is.Zero, stage.Name);
        }

        CheckCounts logged = log.Handler.Counts;
        Assert.That(logged.Violations, Is.Zero, $"log: {logged.FirstViolation}");
        Assert.That(logged.Seen + log.Processor.EventsSkipped, Is.EqualTo(total), "lossy: handled + skipped = published");
        Assert.That(logged.Gaps, Is.EqualTo(log.Processor.EventsSkipped), "lossy: every skipped sequence counted, none twice");
        TestContext.Out.WriteLine($"{mode}: {total:N0} events; lossy log handled {logged.Seen:N0}, skipped {log.Processor.EventsSkipped:N0}; producer waits {pipeline.Sequencer.CapacityWaits:N0}; blocked-consumer wake-ups {pipeline.Sequencer.BlockedConsumerWakeUps:N0}");
    }
}
