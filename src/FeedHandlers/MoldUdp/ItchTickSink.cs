using System.Runtime.CompilerServices;
using Engine.Events;
using Engine.Pipeline;
using FeedHandlers.Itch;

namespace FeedHandlers.MoldUdp;

/// <summary>
/// The end of the live and recorded MoldUDP64 paths: validates each ITCH 5.0 message, claims a ring
/// slot, normalizes in place and publishes, exactly as the BinaryFILE replay does
/// (<see cref="Tick.Sequence"/> is the MoldUDP64 sequence number); a gap becomes a
/// <see cref="TickKind.SequenceGap"/> tick. Allocation-free.
/// </summary>
public readonly struct ItchTickSink : IMoldUdp64Sink
{
    private readonly TickPublisher _publisher;
    private readonly FeedCounters _counters;

    /// <summary>Publishes into <paramref name="publisher"/>, counting into <paramref name="counters"/> (the arbiter's).</summary>
    public ItchTickSink(TickPublisher publisher, FeedCounters counters)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        ArgumentNullException.ThrowIfNull(counters);
        _publisher = publisher;
        _counters = counters;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool OnMessage(ReadOnlySpan<byte> message, long sequence, long stampNs) =>
        ItchReplaySource.Publish(message, sequence, stampNs, _publisher, _counters);

    /// <inheritdoc />
    public bool OnGap(long firstMissing, long count, long stampNs)
    {
        if (!_publisher.Claim(out long slot))
        {
            return false;
        }

        ref Tick tick = ref _publisher[slot];
        tick = default;
        tick.Kind = TickKind.SequenceGap;
        tick.Sequence = firstMissing;
        tick.Quantity = count;
        tick.ReceiveTimestampNs = stampNs;
        _publisher.Publish(slot);
        _counters.CountPublished();
        return true;
    }
}
