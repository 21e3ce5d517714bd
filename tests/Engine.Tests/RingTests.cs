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
