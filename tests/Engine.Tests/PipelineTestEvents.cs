using System.Runtime.InteropServices;
using Engine.Pipeline;

namespace Engine.Tests;

/// <summary>A 64-byte event whose payload is a function of (producer, producer sequence), so a torn or stale read is detectable.</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
internal struct StressEvent
{
    public long ProducerSeq;
    public long Payload0;
    public long Payload1;
    public long StageA;
    public long StageB;
    public long StageC;
    public int Producer;
    public int Spare;
    public long Payload2;

    public static long Mix(long value) => (value * unchecked((long)0x9E3779B97F4A7C15)) ^ (value >>> 29);

    public void Fill(int producer, long producerSeq)
    {
        Producer = producer;
        ProducerSeq = producerSeq;
        long key = ((long)producer << 48) ^ producerSeq;
        Payload0 = Mix(key);
        Payload1 = Mix(key + 1);
        Payload2 = Mix(key + 2);
        StageA = 0;
        StageB = 0;
        StageC = 0;
    }

    public readonly bool PayloadIntact()
    {
        long key = ((long)Producer << 48) ^ ProducerSeq;
        return Payload0 == Mix(key) && Payload1 == Mix(key + 1) && Payload2 == Mix(key + 2);
    }
}

/// <summary>What a checking handler saw; one per consumer, written by its thread, read after the stop.</summary>
internal sealed class CheckCounts(int producers)
{
    public long Seen;
    public long Violations;
    public long Batches;
    public long Gaps;
    public long LastSequence = -1;
    public long[] LastProducerSeq = [.. Enumerable.Repeat(-1L, producers)];
    public string? FirstViolation;
    public long AllocatedAfterWarmup = -1;
    public long AllocationMark = -1;
    public int WarmupEvents;

    public void Violation(string what, long sequence)
    {
        Violations++;
        FirstViolation ??= $"{what} at sequence {sequence}";
    }

    public void CheckAllocation(long sequence)
    {
        if (WarmupEvents > 0 && Seen == WarmupEvents)
        {
            AllocationMark = GC.GetAllocatedBytesForCurrentThread();
        }
    }

    public void FinishAllocation()
    {
        if (AllocationMark >= 0)
        {
            AllocatedAfterWarmup = GC.GetAllocatedBytesForCurrentThread() - AllocationMark;
        }
    }
}

/// <summary>Which stage of a topology a <see cref="StageChecker"/> plays.</summary>
internal enum StageRole
{
    /// <summary>Reads off the producers; checks the payload and marks StageA.</summary>
    A,

    /// <summary>After A: checks StageA, marks StageB.</summary>
    B,

    /// <summary>After A: checks StageA, marks StageC.</summary>
    C,

    /// <summary>After B and C (a join): checks both marks.</summary>
    D,

    /// <summary>Reads only (a side consumer): checks the payload and per-producer order; tolerates gaps (lossy).</summary>
    Side,
}

/// <summary>
/// Checks every event it is handed: ring order (consecutive sequences, or counted gaps for a lossy
/// consumer), per-producer order, payload integrity, and the marks of the stages it depends on.
/// </summary>
internal struct StageChecker(CheckCounts counts, StageRole role, int slowEvery = 0) : IEventHandler<StressEvent>
{
    public readonly CheckCounts Counts = counts;
    private int _sinceSlow;

    public readonly void OnStart()
    {
    }

    public void OnEvent(ref StressEvent e, long sequence, bool endOfBatch)
    {
        CheckCounts c = Counts;
        if (sequence != c.LastSequence + 1)
        {
            if (role == StageRole.Side && sequence > c.LastSequence)
            {
                c.Gaps += sequence - c.LastSequence - 1;
            }
            else
            {
                c.Violation($"sequence {sequence} after {c.LastSequence}", sequence);
            }
        }

        c.LastSequence = sequence;
        if (!e.PayloadIntact())
        {
            c.Violation("payload torn or stale", sequence);
        }

        if ((uint)e.Producer >= (uint)c.LastProducerSeq.Length)
        {
            c.Violation($"producer {e.Producer}", sequence);
        }
        else
        {
            long last = c.LastProducerSeq[e.Producer];
            bool inOrder = role == StageRole.Side ? e.ProducerSeq > last : e.ProducerSeq == last + 1;
            if (!inOrder)
            {
                c.Violation($"producer {e.Producer} seq {e.ProducerSeq} after {last}", sequence);
            }

            c.LastProducerSeq[e.Producer] = e.ProducerSeq;
        }

        long mark = StressEvent.Mix(sequence);
        switch (role)
        {
            case StageRole.A:
                e.StageA = mark;
                break;
            case StageRole.B:
                if (e.StageA != mark)
                {
                    c.Violation("B ran before A", sequence);
                }

                e.StageB = mark;
                break;
            case StageRole.C:
                if (e.StageA != mark)
                {
                    c.Violation("C ran before A", sequence);
                }

                e.StageC = mark;
                break;
            case StageRole.D:
                if (e.StageB != mark || e.StageC != mark)
                {
                    c.Violation("D ran before B and C", sequence);
                }

                break;
            default:
                break;
        }

        c.Seen++;
        if (endOfBatch)
        {
            c.Batches++;
        }

        c.CheckAllocation(sequence);
        if (slowEvery > 0 && ++_sinceSlow >= slowEvery)
        {
            // A side consumer that falls behind now and then (a journal hitting the disk).
            _sinceSlow = 0;
            Thread.Sleep(1);
        }
    }

    public readonly void OnShutdown() => Counts.FinishAllocation();
}

/// <summary>Producer threads that fill <see cref="StressEvent"/>s in batches of 1..<c>maxBatch</c> and publish them.</summary>
internal sealed class StressProducers
{
    private readonly Thread[] _threads;
    private readonly long[] _published;
    private readonly long[] _allocated;

    public StressProducers(Sequencer sequencer, RingBuffer<StressEvent> ring, int producers, long perProducer, int maxBatch = 1, long warmup = 0)
    {
        _threads = new Thread[producers];
        _published = new long[producers];
        _allocated = [.. Enumerable.Repeat(-1L, producers)];
        for (int p = 0; p < producers; p++)
        {
            int producer = p;
            _threads[p] = new Thread(() => Produce(sequencer, ring, producer, perProducer, maxBatch, warmup)) { IsBackground = true, Name = $"test-producer-{p}" };
        }
    }

    /// <summary>Events published by all producers (exact after <see cref="Join"/>).</summary>
    public long Published => _published.Sum();

    /// <summary>Bytes each producer allocated after its warm-up (-1 when no warm-up was asked for).</summary>
    public IReadOnlyList<long> AllocatedAfterWarmup => _allocated;

    public StressProducers Start()
    {
        foreach (Thread t in _threads)
        {
            t.Start();
        }

        return this;
    }

    public void Join()
    {
        foreach (Thread t in _threads)
        {
            t.Join();
        }
    }

    private void Produce(Sequencer sequencer, RingBuffer<StressEvent> ring, int producer, long perProducer, int maxBatch, long warmup)
    {
        long produced = 0;
        long mark = 0;
        int batch = 1;
        while (produced < perProducer)
        {
            int n = (int)Math.Min(batch, perProducer - produced);
            if (!sequencer.Claim(n, out long hi))
            {
                break;
            }

            for (long s = hi - n + 1; s <= hi; s++)
            {
                ring[s].Fill(producer, produced++);
            }

            sequencer.Publish(hi - n + 1, hi);
            batch = batch == maxBatch ? 1 : batch + 1;
            if (warmup > 0 && mark == 0 && produced >= warmup)
            {
                mark = GC.GetAllocatedBytesForCurrentThread();
            }
        }

        if (mark != 0)
        {
            _allocated[producer] = GC.GetAllocatedBytesForCurrentThread() - mark;
        }

        _published[producer] = produced;
    }
}
