using Engine.Pipeline;

namespace Engine.Tests;

/// <summary>Topologies, back-pressure policies and the lifecycle of <see cref="RingPipeline{T}"/>.</summary>
[TestFixture]
public sealed class PipelineTests
{
    private static readonly TimeSpan s_drain = TimeSpan.FromMinutes(2);

    [TestCase(ProducerMode.Single, 1)]
    [TestCase(ProducerMode.Multi, 2)]
    public void DiamondRunsEachStageAfterTheStagesItDependsOn(ProducerMode mode, int producers)
    {
        const long PerProducer = 100_000;
        using var pipeline = new RingPipeline<StressEvent>(1024, mode);
        Stage<StageChecker> a = pipeline.AddStage(() => new StageChecker(new CheckCounts(producers), StageRole.A), default(YieldingWaitStrategy), new StageOptions { Name = "A" });
        Stage<StageChecker> b = pipeline.AddStage(() => new StageChecker(new CheckCounts(producers), StageRole.B), default(YieldingWaitStrategy), new StageOptions { Name = "B" }, a);
        Stage<StageChecker> c = pipeline.AddStage(() => new StageChecker(new CheckCounts(producers), StageRole.C), default(YieldingWaitStrategy), new StageOptions { Name = "C" }, a);
        Stage<StageChecker> d = pipeline.AddStage(() => new StageChecker(new CheckCounts(producers), StageRole.D), default(YieldingWaitStrategy), new StageOptions { Name = "D" }, b, c);
        pipeline.Start();
        var run = new StressProducers(pipeline.Sequencer, pipeline.Ring, producers, PerProducer, maxBatch: 4).Start();
        run.Join();

        Assert.That(pipeline.DrainAndStop(s_drain), Is.True, "drain-and-stop reached the last published sequence");
        long total = producers * PerProducer;
        Assert.That(run.Published, Is.EqualTo(total));
        foreach (Stage<StageChecker> stage in new[] { a, b, c, d })
        {
            CheckCounts counts = stage.Handler.Counts;
            Assert.That(counts.Violations, Is.Zero, $"{stage.Name}: {counts.FirstViolation}");
            Assert.That(counts.Seen, Is.EqualTo(total), $"{stage.Name} saw every event");
            Assert.That(stage.Processor.EventsHandled, Is.EqualTo(total));
            Assert.That(stage.Sequence.Value, Is.EqualTo(total - 1));
        }

        Assert.That(new[] { a.IsGating, b.IsGating, c.IsGating, d.IsGating }, Is.EqualTo(new[] { false, false, false, true }), "only the end of the graph gates the producers");
    }

    [Test]
    public void ChainOfThreeHandsEachEventDownInOrder()
    {
        const long Events = 200_000;
        using var pipeline = new RingPipeline<StressEvent>(256);
        Stage<StageChecker> a = pipeline.AddStage(() => new StageChecker(new CheckCounts(1), StageRole.A), default(YieldingWaitStrategy));
        Stage<StageChecker> b = pipeline.AddStage(() => new StageChecker(new CheckCounts(1), StageRole.B), default(YieldingWaitStrategy), null, a);
        Stage<StageChecker> c = pipeline.AddStage(() => new StageChecker(new CheckCounts(1), StageRole.Side), default(SleepingWaitStrategy), null, b);
        pipeline.Start();
        new StressProducers(pipeline.Sequencer, pipeline.Ring, 1, Events, maxBatch: 8).Start().Join();

        Assert.That(pipeline.DrainAndStop(s_drain), Is.True);
        foreach (Stage<StageChecker> stage in new[] { a, b, c })
        {
            Assert.That(stage.Handler.Counts.Violations, Is.Zero, stage.Handler.Counts.FirstViolation);
            Assert.That(stage.Handler.Counts.Seen, Is.EqualTo(Events));
        }

        Assert.That(c.Handler.Counts.Gaps, Is.Zero, "a lossless consumer never skips");
        Assert.That(a.Handler.Counts.Batches, Is.LessThanOrEqualTo(Events), "events are handled in batches");
    }

    [TestCase(ProducerMode.Single, 1)]
    [TestCase(ProducerMode.Multi, 2)]
    public void LossySideConsumerSkipsAheadAndCountsExactlyWhatItSkipped(ProducerMode mode, int producers)
    {
        const long PerProducer = 150_000;
        using var pipeline = new RingPipeline<StressEvent>(256, mode);
        Stage<StageChecker> main = pipeline.AddStage(() => new StageChecker(new CheckCounts(producers), StageRole.A), default(YieldingWaitStrategy), new StageOptions { Name = "main" });
        Stage<StageChecker> journal = pipeline.AddSideConsumer(() => new StageChecker(new CheckCounts(producers), StageRole.Side, slowEvery: 2_000), default(YieldingWaitStrategy), BackPressurePolicy.LossyWithAccounting, new StageOptions { Name = "journal" });
        pipeline.Start();
        var run = new StressProducers(pipeline.Sequencer, pipeline.Ring, producers, PerProducer, maxBatch: 3).Start();
        run.Join();

        Assert.That(pipeline.DrainAndStop(s_drain), Is.True);
        long total = producers * PerProducer;
        CheckCounts seen = journal.Handler.Counts;
        Assert.That(seen.Violations, Is.Zero, $"no torn or out-of-order copy reached the handler: {seen.FirstViolation}");
        Assert.That(journal.Processor.EventsSkipped, Is.GreaterThan(0), "the slow journal was lapped");
        Assert.That(seen.Seen + journal.Processor.EventsSkipped, Is.EqualTo(total), "handled + skipped = published, exactly");
        Assert.That(seen.Gaps, Is.EqualTo(journal.Processor.EventsSkipped), "the skip count equals the gaps the handler saw");
        Assert.That(journal.Processor.EventsHandled, Is.EqualTo(seen.Seen));
        Assert.That(main.Handler.Counts.Seen, Is.EqualTo(total), "the critical stage lost nothing");
        Assert.That(main.Handler.Counts.Violations, Is.Zero, main.Handler.Counts.FirstViolation);
        Assert.That(journal.IsGating, Is.False, "the producers never wait for a lossy consumer");
    }

    [Test]
    public void LosslessSideConsumerHoldsTheProducerBackAndLosesNothing()
    {
        const long Events = 20_000;
        using var pipeline = new RingPipeline<StressEvent>(64);
        Stage<StageChecker> main = pipeline.AddStage(() => new StageChecker(new CheckCounts(1), StageRole.A), default(YieldingWaitStrategy));
        Stage<StageChecker> journal = pipeline.AddSideConsumer(() => new StageChecker(new CheckCounts(1), StageRole.Side, slowEvery: 2_000), default(BlockingWaitStrategy), BackPressurePolicy.Lossless);
        pipeline.Start();
        new StressProducers(pipeline.Sequencer, pipeline.Ring, 1, Events).Start().Join();

        Assert.That(pipeline.DrainAndStop(s_drain), Is.True);
        Assert.That(journal.Handler.Counts.Seen, Is.EqualTo(Events));
        Assert.That(journal.Handler.Counts.Gaps, Is.Zero);
        Assert.That(journal.Handler.Counts.Violations, Is.Zero, journal.Handler.Counts.FirstViolation);
        Assert.That(journal.IsGating && main.IsGating, Is.True);
        Assert.That(pipeline.Sequencer.CapacityWaits, Is.GreaterThan(0), "the producer waited for the slow journal");
    }

    [TestCase(ProducerMode.Single)]
    [TestCase(ProducerMode.Multi)]
    public void BlockingConsumerIsWokenByEveryPublishAfterItFellAsleep(ProducerMode mode)
    {
        const int Rounds = 5_000;
        using var pipeline = new RingPipeline<StressEvent>(64, mode);
        Stage<StageChecker> sleeper = pipeline.AddStage(() => new StageChecker(new CheckCounts(1), StageRole.A), default(BlockingWaitStrategy));
        pipeline.Start();
        Assert.That(pipeline.Sequencer.SignalsBlockedConsumers, Is.True);
        var random = new Random(7);
        for (int i = 0; i < Rounds; i++)
        {
            long s = pipeline.Sequencer.Next();
            pipeline.Ring[s].Fill(0, i);
            pipeline.Sequencer.Publish(s);

            // A lost wake-up leaves the consumer asleep with the event unread: fail instead of hanging.
            long deadline = Environment.TickCount64 + 10_000;
            while (sleeper.Sequence.Value < s)
            {
                Assert.That(Environment.TickCount64, Is.LessThan(deadline), $"consumer not woken for sequence {s}");
                Thread.Yield();
            }

            if (random.Next(4) == 0)
            {
                Thread.Sleep(0);
            }
        }

        Assert.That(pipeline.DrainAndStop(s_drain), Is.True);
        Assert.That(sleeper.Handler.Counts.Seen, Is.EqualTo(Rounds));
        Assert.That(sleeper.Handler.Counts.Violations, Is.Zero, sleeper.Handler.Counts.FirstViolation);
        Assert.That(pipeline.Sequencer.BlockedConsumerWakeUps, Is.GreaterThan(0), "the consumer did sleep and was woken");
    }

    [Test]
    public void BusySpinRingsPayNoSignallingCost()
    {
        using var pipeline = new RingPipeline<StressEvent>(64);
        pipeline.AddStage(() => new StageChecker(new CheckCounts(1), StageRole.A), default(BusySpinWaitStrategy));
        Assert.That(pipeline.Sequencer.SignalsBlockedConsumers, Is.False, "no fence per publish without a blocking consumer");
    }

    [Test]
    public void HandlerFaultIsReportedWithItsSequenceAndClosesTheRingForProducers()
    {
        using var pipeline = new RingPipeline<StressEvent>(64);
        Stage<ThrowingHandler> stage = pipeline.AddStage(() => new ThrowingHandler(1_000, every: false), default(YieldingWaitStrategy), new StageOptions { Name = "features" });
        pipeline.Start();
        var run = new StressProducers(pipeline.Sequencer, pipeline.Ring, 1, 1_000_000).Start();
        run.Join();

        Assert.That(run.Published, Is.LessThan(1_000_000), "the producer gave up once the stage halted instead of hanging on a full ring");
        Assert.That(pipeline.Sequencer.IsClosed, Is.True);
        Assert.That(pipeline.Sequencer.ClosedReason, Does.Contain("features").And.Contain("fault"));
        Assert.That(pipeline.DrainAndStop(s_drain), Is.False, "the stage stopped short of the last published event");
        Assert.That(stage.Processor.HaltedByFault, Is.True);
        Assert.That(stage.Processor.FaultCount, Is.EqualTo(1));
        Assert.That(stage.Processor.Faults[0].Sequence, Is.EqualTo(1_000));
        Assert.That(stage.Processor.Faults[0].Exception.Message, Is.EqualTo("bad event 1000"));
        Assert.That(stage.Sequence.Value, Is.EqualTo(999), "everything before the fault was handled");
        Assert.That(() => pipeline.Sequencer.Next(), Throws.InvalidOperationException.With.Message.Contains("features"));
    }

    [Test]
    public void SkipAndCountFaultsLetDownstreamStagesSeeEveryEvent()
    {
        const long Events = 50_000;
        using var pipeline = new RingPipeline<StressEvent>(128);
        Stage<ThrowingHandler> flaky = pipeline.AddStage(() => new ThrowingHandler(100, every: true), default(YieldingWaitStrategy), new StageOptions { FaultPolicy = HandlerFaultPolicy.SkipAndCount });
        Stage<StageChecker> after = pipeline.AddStage(() => new StageChecker(new CheckCounts(1), StageRole.Side), default(YieldingWaitStrategy), null, flaky);
        pipeline.Start();
        new StressProducers(pipeline.Sequencer, pipeline.Ring, 1, Events).Start().Join();

        Assert.That(pipeline.DrainAndStop(s_drain), Is.True);
        long faults = (Events + 99) / 100;
        Assert.That(flaky.Processor.FaultCount, Is.EqualTo(faults), "every fault counted");
        Assert.That(flaky.Processor.Faults, Has.Count.EqualTo(EventProcessorBase.MaxFaultsKept), "the first ones kept with their sequences");
        Assert.That(flaky.Processor.Faults.Select(f => f.Sequence), Is.EqualTo(Enumerable.Range(0, EventProcessorBase.MaxFaultsKept).Select(i => i * 100L)));
        Assert.That(flaky.Processor.EventsHandled + flaky.Processor.FaultCount, Is.EqualTo(Events));
        Assert.That(after.Handler.Counts.Seen, Is.EqualTo(Events));
        Assert.That(after.Handler.Counts.Violations, Is.Zero, after.Handler.Counts.FirstViolation);
    }

    [Test]
    public void AnExceptionFromOnShutdownIsKeptAsAFault()
    {
        using var pipeline = new RingPipeline<StressEvent>(64);
        Stage<ShutdownThrows> stage = pipeline.AddStage(() => default(ShutdownThrows), default(BlockingWaitStrategy));
        pipeline.Start();
        new StressProducers(pipeline.Sequencer, pipeline.Ring, 1, 10).Start().Join();

        Assert.That(pipeline.DrainAndStop(s_drain), Is.True);
        Assert.That(stage.Processor.FaultCount, Is.EqualTo(1));
        Assert.That(stage.Processor.Faults[0].Sequence, Is.EqualTo(9), "the last sequence reached");
        Assert.That(stage.Processor.Faults[0].Exception.Message, Is.EqualTo("flush failed"));
        Assert.That(stage.Error, Is.Null);
    }

    [Test]
    public void StartRethrowsWhatAHandlerFactoryThrewAndStopsTheOtherStages()
    {
        using var pipeline = new RingPipeline<StressEvent>(64);
        Stage<StageChecker> fine = pipeline.AddStage(() => new StageChecker(new CheckCounts(1), StageRole.A), default(BlockingWaitStrategy));
        pipeline.AddStage<StageChecker, BusySpinWaitStrategy>(() => throw new InvalidOperationException("model does not fit the spec"), default, null, fine);

        Assert.That(pipeline.Start, Throws.InvalidOperationException.With.Message.EqualTo("model does not fit the spec"));
        Assert.That(pipeline.IsRunning, Is.False);
        Assert.That(fine.Processor.HasStopped, Is.True, "the healthy stage was halted and joined");
        Assert.That(pipeline.Sequencer.Claim(1, out _), Is.True, "an empty ring still has room");
        Assert.That(pipeline.Sequencer.IsClosed, Is.True, "but it accepts no waiting claims");
    }

    [Test]
    public void HaltStopsStagesWithEventsStillQueued()
    {
        using var pipeline = new RingPipeline<StressEvent>(1024);
        Stage<StageChecker> slow = pipeline.AddStage(() => new StageChecker(new CheckCounts(1), StageRole.A, slowEvery: 1), default(YieldingWaitStrategy));
        pipeline.Start();
        new StressProducers(pipeline.Sequencer, pipeline.Ring, 1, 500, maxBatch: 500).Start().Join();
        pipeline.Halt();

        Assert.That(slow.Processor.HasStopped, Is.True);
        Assert.That(slow.Sequence.Value, Is.LessThan(499), "halt does not drain");
        Assert.That(slow.Handler.Counts.Seen, Is.EqualTo(slow.Sequence.Value + 1));
        Assert.That(slow.Handler.Counts.Violations, Is.Zero);
    }

    [Test]
    public void BuilderRejectsTopologiesThatCouldLoseOrCorruptEvents()
    {
        using var pipeline = new RingPipeline<StressEvent>(64, ProducerMode.Multi);
        Stage<StageChecker> lossy = pipeline.AddSideConsumer(() => new StageChecker(new CheckCounts(1), StageRole.Side), default(SleepingWaitStrategy), BackPressurePolicy.LossyWithAccounting);
        Assert.That(() => pipeline.AddStage(() => new StageChecker(new CheckCounts(1), StageRole.B), default(SleepingWaitStrategy), null, lossy),
            Throws.ArgumentException.With.Message.Contains("lossy"));
        Assert.That(pipeline.Start, Throws.InvalidOperationException.With.Message.Contains("at least one lossless stage"));
        Assert.That(pipeline.IsRunning, Is.False, "a rejected topology never starts");

        using var other = new RingPipeline<StressEvent>(64);
        Stage<StageChecker> foreign = other.AddStage(() => new StageChecker(new CheckCounts(1), StageRole.A), default(SleepingWaitStrategy));
        using var third = new RingPipeline<StressEvent>(64);
        Assert.That(() => third.AddStage(() => new StageChecker(new CheckCounts(1), StageRole.B), default(SleepingWaitStrategy), null, foreign),
            Throws.ArgumentException.With.Message.Contains("does not belong"));
        Assert.That(third.Start, Throws.InvalidOperationException.With.Message.Contains("at least one stage"));
    }

    [Test]
    public void StageThreadIsPinnedToTheCoreAskedFor()
    {
        using var pipeline = new RingPipeline<StressEvent>(64);
        Stage<StageChecker> stage = pipeline.AddStage(() => new StageChecker(new CheckCounts(1), StageRole.A), default(BlockingWaitStrategy), new StageOptions { Name = "pinned", Core = 0 });
        pipeline.Start();
        Assert.That(pipeline.DrainAndStop(s_drain), Is.True);

        Assert.That(stage.Affinity, Is.Not.Null);
        if (!OperatingSystem.IsLinux())
        {
            Assert.That(stage.Affinity!.Applied, Is.False, "reported as not applied off Linux");
            return;
        }

        Assert.That(stage.Affinity!.Applied, Is.True, stage.Affinity.ToString());
        Assert.That(stage.Affinity.Granted, Is.EqualTo(new[] { 0 }));
        Assert.That(stage.CpuAtStart, Is.Zero);
    }

    [TestCase(ProducerMode.Single)]
    [TestCase(ProducerMode.Multi)]
    public void PublishAndConsumeAllocateNothingAfterStart(ProducerMode mode)
    {
        const int Warmup = 20_000;
        const long PerProducer = 500_000;
        int producers = mode == ProducerMode.Multi ? 2 : 1;
        using var pipeline = new RingPipeline<StressEvent>(1024, mode);
        var counts = new List<CheckCounts>();
        CheckCounts Counts()
        {
            var c = new CheckCounts(producers) { WarmupEvents = Warmup };
            counts.Add(c);
            return c;
        }

        CheckCounts ca = Counts(), cb = Counts(), cj = Counts(), cl = Counts();
        Stage<StageChecker> a = pipeline.AddStage(() => new StageChecker(ca, StageRole.A), default(YieldingWaitStrategy));
        pipeline.AddStage(() => new StageChecker(cb, StageRole.B), default(BusySpinWaitStrategy), null, a);
        pipeline.AddSideConsumer(() => new StageChecker(cj, StageRole.Side), default(BlockingWaitStrategy), BackPressurePolicy.Lossless);
        pipeline.AddSideConsumer(() => new StageChecker(cl, StageRole.Side), default(SleepingWaitStrategy), BackPressurePolicy.LossyWithAccounting);
        pipeline.Start();

        int gen0 = GC.CollectionCount(0);
        var run = new StressProducers(pipeline.Sequencer, pipeline.Ring, producers, PerProducer, maxBatch: 4, warmup: Warmup).Start();
        run.Join();
        Assert.That(pipeline.DrainAndStop(s_drain), Is.True);

        Assert.That(run.AllocatedAfterWarmup, Is.All.EqualTo(0), "producer bytes allocated after warm-up");
        foreach (CheckCounts c in counts)
        {
            Assert.That(c.Violations, Is.Zero, c.FirstViolation);
            Assert.That(c.AllocatedAfterWarmup, Is.Zero, "consumer bytes allocated after warm-up");
        }

        Assert.That(GC.CollectionCount(0), Is.EqualTo(gen0), "no garbage collection while the ring ran");
    }

    private readonly struct ShutdownThrows : IEventHandler<StressEvent>
    {
        public void OnStart()
        {
        }

        public void OnEvent(ref StressEvent data, long sequence, bool endOfBatch)
        {
        }

        public void OnShutdown() => throw new InvalidOperationException("flush failed");
    }

    /// <summary>Throws at one sequence, or at every multiple of it.</summary>
    private readonly struct ThrowingHandler(long at, bool every) : IEventHandler<StressEvent>
    {
        public void OnStart()
        {
        }

        public void OnEvent(ref StressEvent data, long sequence, bool endOfBatch)
        {
            if (every ? sequence % at == 0 : sequence == at)
            {
                throw new InvalidOperationException($"bad event {sequence}");
            }
        }

        public void OnShutdown()
        {
        }
    }
}
