using System.Runtime.CompilerServices;
using Engine.Events;

namespace Engine.Pipeline;

/// <summary>
/// The producer's end of a tick ring: claim a slot, write the tick into it in place, publish.
/// </summary>
/// <remarks>
/// One producer thread. <see cref="Claim"/> waits while the ring is full (lossless back-pressure)
/// and returns false only once the sequencer is closed (a gating stage stopped), so a producer can
/// never hang on a dead pipeline. Every claimed sequence must be published, in order.
/// </remarks>
public sealed class TickPublisher
{
    private readonly RingBuffer<Tick> _ring;
    private readonly SingleProducerSequencer _sequencer;

    /// <summary>A publisher over <paramref name="ring"/>, claiming through <paramref name="sequencer"/> (whose gating sequences must already be set).</summary>
    public TickPublisher(RingBuffer<Tick> ring, SingleProducerSequencer sequencer)
    {
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentNullException.ThrowIfNull(sequencer);
        _ring = ring;
        _sequencer = sequencer;
    }

    /// <summary>The last sequence published (−1 before the first).</summary>
    public long LastPublished => _sequencer.Cursor.Value;

    /// <summary>When set (before the producer starts), times receive → publish and publish → dequeue.</summary>
    public Telemetry.RingHandOffTimer? HandOffTimer { get; set; }

    /// <summary>Times a claim found the ring full and had to wait for the consumer.</summary>
    public long FullRingWaits => _sequencer.CapacityWaits;

    /// <summary>The slot of a claimed sequence: write the tick here, then <see cref="Publish(long)"/>.</summary>
    public ref Tick this[long sequence]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref _ring[sequence];
    }

    /// <summary>Claims the next slot, waiting while the ring is full. False when the ring is closed (the pipeline is down).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Claim(out long sequence) => _sequencer.Claim(1, out sequence);

    /// <summary>Makes the slot visible to the consumer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish(long sequence)
    {
        HandOffTimer?.Published(sequence, _ring[sequence].ReceiveTimestampNs);
        _sequencer.Publish(sequence);
    }

    /// <summary>Claims a slot, copies <paramref name="tick"/> into it and publishes it. False when the pipeline is down.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Publish(in Tick tick)
    {
        if (!Claim(out long sequence))
        {
            return false;
        }

        _ring[sequence] = tick;
        Publish(sequence);
        return true;
    }
}

/// <summary>
/// Something that produces ticks into a pipeline: a capture replay, a live feed. Runs on the
/// producer thread the pipeline gives it.
/// </summary>
public interface ITickSource
{
    /// <summary>What the source reads, for reports.</summary>
    string Description { get; }

    /// <summary>What the source read, processed and rejected.</summary>
    FeedCounters Counters { get; }

    /// <summary>Produces every tick, publishing through <paramref name="publisher"/>; returns at the end of the input, on cancellation, or when the pipeline is down.</summary>
    void Run(TickPublisher publisher, CancellationToken cancellationToken);
}
