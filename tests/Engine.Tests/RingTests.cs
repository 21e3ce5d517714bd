using Engine.Events;
using Engine.Pipeline;

namespace Engine.Tests;

[TestFixture]
public sealed class RingTests
{
    /// <summary>Events in the stress run: 10⁶ in CI; set ENGINE_LONG_TESTS=1 for 10⁸.</summary>
    private static readonly long s_events = Environment.GetEnvironmentVariable("ENGINE_LONG_TESTS") == "1" ? 100_000_000 : 1_000_000;

    [Test]
    public void RejectsCapacityThatIsNotAPowerOfTwo()
    {
        Assert.That(() => new RingBuffer<Tick>(1000), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => new RingBuffer<Tick>(1), Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void TryNextReportsBackPressureWhenTheConsumerIsAFullRingBehind()
    {
        var sequencer = new SingleProducerSequencer(4);
        var consumer = new Sequence();
        sequencer.AddGatingSequences(consumer);
        for (int i = 0; i < 4; i++)
        {
            Assert.That(sequencer.TryNext(out long s), Is.True);
            sequencer.Publish(s);
        }

        Assert.That(sequencer.TryNext(out _), Is.False, "ring full: back-pressured, not overwritten");
        consumer.SetValue(0);
        Assert.That(sequencer.TryNext(out long next), Is.True);
        Assert.That(next, Is.EqualTo(4));
    }

    [Test]
    public void BatchClaimsReturnTheHighestSequenceAndReportBackPressure()
    {
        foreach (Sequencer sequencer in new Sequencer[] { new SingleProducerSequencer(8), new MultiProducerSequencer(8) })
        {
            var consumer = new Sequence();
            sequencer.AddGatingSequences(consumer);
            Assert.That(sequencer.TryNext(3, out long hi), Is.True);
            Assert.That(hi, Is.EqualTo(2), $"{sequencer.Mode}: batch 0..2");
            Assert.That(sequencer.TryNext(5, out hi), Is.True);
            Assert.That(hi, Is.EqualTo(7));
            Assert.That(sequencer.TryNext(1, out _), Is.False, $"{sequencer.Mode}: ring full, nothing consumed");
            sequencer.Publish(0, 7);
            consumer.SetValue(2);
            Assert.That(sequencer.TryNext(4, out _), Is.False, "only 3 slots free");
            Assert.That(sequencer.TryNext(3, out hi), Is.True);
            Assert.That(hi, Is.EqualTo(10));
        }
    }

    [Test]
    public void ClaimSizeMustFitTheRing()
    {
        foreach (Sequencer sequencer in new Sequencer[] { new SingleProducerSequencer(8), new MultiProducerSequencer(8) })
        {
            Assert.That(() => sequencer.TryNext(0, out _), Throws.TypeOf<ArgumentOutOfRangeException>(), sequencer.Mode.ToString());
            Assert.That(() => sequencer.TryNext(9, out _), Throws.TypeOf<ArgumentOutOfRangeException>(), sequencer.Mode.ToString());
            Assert.That(() => sequencer.Publish(3, 2), Throws.TypeOf<ArgumentOutOfRangeException>(), "reversed range");
        }

        Assert.That(() => new MultiProducerSequencer(12), Throws.TypeOf<ArgumentOutOfRangeException>(), "per-slot flags need a power of two");
    }

    [Test]
    public void ConsumersNeverSeeAClaimedButUnpublishedSlot()
    {
        var sequencer = new MultiProducerSequencer(16);
        SequenceBarrier barrier = sequencer.NewBarrier();
        long a = sequencer.Next();
        long b = sequencer.Next();
        long c = sequencer.Next();
        Assert.That((a, b, c), Is.EqualTo((0L, 1L, 2L)));
        Assert.That(barrier.AvailableSequence(), Is.EqualTo(2), "the cursor counts claims");

        sequencer.Publish(c);
        sequencer.Publish(b);
        Assert.That(barrier.HighestPublished(0, barrier.AvailableSequence()), Is.EqualTo(-1), "slot 0 claimed, not published: nothing readable");
        Assert.That(sequencer.IsAvailable(1) && sequencer.IsAvailable(2) && !sequencer.IsAvailable(0), Is.True);

        sequencer.Publish(a);
        Assert.That(barrier.HighestPublished(0, barrier.AvailableSequence()), Is.EqualTo(2));

        long hi = sequencer.Next(4);
        sequencer.Publish(hi - 3, hi - 2);
        Assert.That(barrier.HighestPublished(3, barrier.AvailableSequence()), Is.EqualTo(hi - 2), "half of a batch published");
        sequencer.Publish(hi - 3, hi);
        Assert.That(barrier.HighestPublished(3, barrier.AvailableSequence()), Is.EqualTo(hi));
    }

    [Test]
    public void PublicationFlagsTellLapsApart()
    {
        var sequencer = new MultiProducerSequencer(4);
        var consumer = new Sequence();
        sequencer.AddGatingSequences(consumer);
        sequencer.Publish(0, sequencer.Next(4));
        consumer.SetValue(3);
        Assert.That(sequencer.IsAvailable(0), Is.True);
        long s = sequencer.Next();
        Assert.That(s, Is.EqualTo(4));
        Assert.That(sequencer.IsAvailable(4), Is.False, "claimed, not yet published");
        sequencer.Publish(s);
        Assert.That(sequencer.IsAvailable(4), Is.True);
        Assert.That(sequencer.IsAvailable(0), Is.False, "slot 0 now holds sequence 4");
    }

    [Test]
    public void MultiProducerCursorCountsEveryClaimOfConcurrentProducers()
    {
        const int Producers = 4, PerProducer = 50_000;
        var sequencer = new MultiProducerSequencer(1 << 20);
        var claimed = new long[Producers * PerProducer];
        var threads = new Thread[Producers];
        for (int p = 0; p < Producers; p++)
        {
            int producer = p;
            threads[p] = new Thread(() =>
            {
                for (int i = 0; i < PerProducer; i++)
                {
                    long s = sequencer.Next();
                    claimed[s] = producer + 1;
                    sequencer.Publish(s);
                }
            });
            threads[p].Start();
        }

        foreach (Thread t in threads)
        {
            t.Join();
        }

        Assert.That(sequencer.Cursor.Value, Is.EqualTo((Producers * PerProducer) - 1));
        Assert.That(claimed.Count(c => c == 0), Is.Zero, "every sequence claimed exactly once");
        Assert.That(sequencer.HighestPublished(0, sequencer.Cursor.Value), Is.EqualTo(sequencer.Cursor.Value));
        for (int p = 1; p <= Producers; p++)
        {
            Assert.That(claimed.Count(c => c == p), Is.EqualTo(PerProducer), $"producer {p}");
        }
    }

    [Test]
    public void SpscDeliversEveryEventInOrderWithItsPayload()
    {
        using var ring = new RingBuffer<Tick>(1024);
        var sequencer = new SingleProducerSequencer(ring.Capacity);
        var checker = new OrderChecker { State = new CheckState() };
        var processor = new EventProcessor<Tick, OrderChecker, BusySpinWaitStrategy>(ring, sequencer.NewBarrier(), checker);
        sequencer.AddGatingSequences(processor.Sequence);
        var consumerThread = new Thread(processor.Run) { IsBackground = true };
        consumerThread.Start();

        var publisher = new TickPublisher(ring, sequencer);
        for (long i = 0; i < s_events; i++)
        {
            Assert.That(publisher.Claim(out long s), Is.True);
            ref Tick t = ref publisher[s];
            t.Sequence = i;
            t.OrderId = (ulong)(i * 31);
            t.Price = i ^ 0x5555;
            publisher.Publish(s);
        }

        Assert.That(processor.DrainAndHalt(publisher.LastPublished), Is.True);
        consumerThread.Join();
        CheckState state = processor.Handler.State;
        Assert.That(state.Seen, Is.EqualTo(s_events), "drain-and-stop lost nothing");
        Assert.That(state.Violations, Is.Zero);
        Assert.That(state.Batches, Is.GreaterThan(0));
    }

    [Test]
    public void HandlerFaultHaltsWithTheSequenceAndIsNeverSwallowed()
    {
        using var ring = new RingBuffer<Tick>(64);
        var sequencer = new SingleProducerSequencer(ring.Capacity);
        var processor = new EventProcessor<Tick, ThrowAt, YieldingWaitStrategy>(ring, sequencer.NewBarrier(), new ThrowAt(5));
        sequencer.AddGatingSequences(processor.Sequence);
        var thread = new Thread(processor.Run) { IsBackground = true };
        thread.Start();
        var publisher = new TickPublisher(ring, sequencer);
        for (int i = 0; i < 10; i++)
        {
            publisher.Publish(new Tick { Sequence = i });
        }

        thread.Join(TimeSpan.FromSeconds(10));
        Assert.That(processor.HaltedByFault, Is.True);
        Assert.That(processor.FaultCount, Is.EqualTo(1));
        Assert.That(processor.Faults[0].Sequence, Is.EqualTo(5));
        Assert.That(processor.Faults[0].Exception.Message, Does.Contain("bad event 5"));
        Assert.That(processor.Sequence.Value, Is.EqualTo(4), "everything before the fault was handled");
    }

    [Test]
    public void SkipAndCountPolicyHandlesTheRest()
    {
        using var ring = new RingBuffer<Tick>(64);
        var sequencer = new SingleProducerSequencer(ring.Capacity);
        var processor = new EventProcessor<Tick, ThrowAt, YieldingWaitStrategy>(ring, sequencer.NewBarrier(), new ThrowAt(5), HandlerFaultPolicy.SkipAndCount);
        sequencer.AddGatingSequences(processor.Sequence);
        var thread = new Thread(processor.Run) { IsBackground = true };
        thread.Start();
        var publisher = new TickPublisher(ring, sequencer);
        for (int i = 0; i < 10; i++)
        {
            publisher.Publish(new Tick { Sequence = i });
        }

        Assert.That(processor.DrainAndHalt(publisher.LastPublished), Is.True);
        thread.Join();
        Assert.That(processor.FaultCount, Is.EqualTo(1));
        Assert.That(processor.HaltedByFault, Is.False);
        Assert.That(processor.Sequence.Value, Is.EqualTo(9));
    }

    [Test]
    public void ProducerStopsClaimingWhenTheConsumerIsGone()
    {
        using var ring = new RingBuffer<Tick>(4);
        var sequencer = new SingleProducerSequencer(4);
        var consumer = new Sequence();
        sequencer.AddGatingSequences(consumer);
        var publisher = new TickPublisher(ring, sequencer);
        for (int i = 0; i < 4; i++)
        {
            Assert.That(publisher.Publish(new Tick()), Is.True);
        }

        sequencer.Close("consumer gone");
        Assert.That(publisher.Claim(out _), Is.False, "a full ring with a dead consumer must not hang the producer");
        Assert.That(() => sequencer.Next(), Throws.InvalidOperationException.With.Message.Contains("consumer gone"));
    }

    [Test]
    public void PublishAndConsumeAllocateNothing()
    {
        using var ring = new RingBuffer<Tick>(1024);
        var sequencer = new SingleProducerSequencer(ring.Capacity);
        var processor = new EventProcessor<Tick, OrderChecker, BusySpinWaitStrategy>(ring, sequencer.NewBarrier(), new OrderChecker { State = new CheckState() });
        sequencer.AddGatingSequences(processor.Sequence);
        long consumerAllocated = -1;
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            processor.Run();
            consumerAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        })
        { IsBackground = true };
        thread.Start();
        var publisher = new TickPublisher(ring, sequencer);
        PublishRange(publisher, 0, 10_000); // warm-up (JIT)
        long producerBefore = GC.GetAllocatedBytesForCurrentThread();
        int gen0 = GC.CollectionCount(0);
        PublishRange(publisher, 10_000, 1_000_000);
        long producerAllocated = GC.GetAllocatedBytesForCurrentThread() - producerBefore;
        processor.DrainAndHalt(publisher.LastPublished);
        thread.Join();
        Assert.That(producerAllocated, Is.Zero, "producer bytes allocated over 10^6 publishes");
        Assert.That(consumerAllocated, Is.Zero, "consumer bytes allocated over its whole run");
        Assert.That(GC.CollectionCount(0), Is.EqualTo(gen0), "no GC during the run");
        Assert.That(processor.Handler.State.Violations, Is.Zero);
    }

    private static void PublishRange(TickPublisher publisher, long from, long to)
    {
        for (long i = from; i < to; i++)
        {
            publisher.Claim(out long s);
            ref Tick t = ref publisher[s];
            t.Sequence = i;
            t.OrderId = (ulong)(i * 31);
            t.Price = i ^ 0x5555;
            publisher.Publish(s);
        }
    }

    internal sealed class CheckState
    {
        public long Seen;
        public long Violations;
        public long Batches;
    }

    private struct OrderChecker : IEventHandler<Tick>
    {
        public CheckState State;

        public readonly void OnStart()
        {
        }

        public readonly void OnEvent(ref Tick data, long sequence, bool endOfBatch)
        {
            CheckState s = State;
            if (data.Sequence != s.Seen || data.Sequence != sequence || data.OrderId != (ulong)(sequence * 31) || data.Price != (sequence ^ 0x5555))
            {
                s.Violations++;
            }

            s.Seen++;
            if (endOfBatch)
            {
                s.Batches++;
            }
        }

        public readonly void OnShutdown()
        {
        }
    }

    private readonly struct ThrowAt(long bad) : IEventHandler<Tick>
    {
        public void OnStart()
        {
        }

        public void OnEvent(ref Tick data, long sequence, bool endOfBatch)
        {
            if (sequence == bad)
            {
                throw new InvalidOperationException($"bad event {sequence}");
            }
        }

        public void OnShutdown()
        {
        }
    }
}
