using Engine.Events;
using Engine.Native;
using Engine.Pipeline;

namespace FeedHandlers.Iex;

/// <summary>
/// IEX TOPS 1.6 / DEEP 1.0 captures (pcap or pcapng, in memory) as an engine input: every tick of
/// <see cref="IexCaptureDecoder"/> is published into the ring as fast as the pipeline takes it, with
/// the receive timestamp taken when it is written. Runs on the pipeline's producer thread. When the
/// pipeline times its hand-offs, each message's capture timestamp − IEX timestamp (both ns since the
/// epoch) is recorded as <c>exchange_to_receive</c>: the recording host's latency from IEX, not this one's.
/// </summary>
public sealed class IexPcapSource : ITickSource, IFeedCountSource
{
    private readonly ReadOnlyMemory<byte> _capture;

    /// <summary>Replays <paramref name="capture"/>.</summary>
    public IexPcapSource(ReadOnlyMemory<byte> capture, string description = "IEX capture")
    {
        _capture = capture;
        Description = description;
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <summary>The decoder (its <see cref="IexCaptureDecoder.Counters"/> count every layer).</summary>
    public IexCaptureDecoder Decoder { get; } = new();

    /// <inheritdoc />
    public FeedCounters Counters => Decoder.Counters.Messages;

    /// <summary>
    /// Sequence gaps and missed messages (label <c>feed</c> = <c>iex</c>). IEX-TP segments that repeat
    /// sequences already seen are counted as rejected segments (<see cref="SegmentReject.StaleSequence"/>),
    /// not as duplicate messages, so no duplicate count is exported.
    /// </summary>
    public IReadOnlyList<FeedCount> FeedCounts =>
    [
        new FeedCount(FeedCountKind.Gaps, "iex", () => Decoder.Counters.SequenceGaps),
        new FeedCount(FeedCountKind.MissedMessages, "iex", () => Decoder.Counters.MissingMessages),
    ];

    /// <summary>Set when the input was no pcap or pcapng capture.</summary>
    public string? Error { get; private set; }

    /// <inheritdoc />
    public void Run(TickPublisher publisher, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        var sink = new PublishingSink(publisher, cancellationToken);
        if (!Decoder.Run(_capture, ref sink, out string error))
        {
            Error = error;
        }
    }

    private struct PublishingSink(TickPublisher publisher, CancellationToken cancellationToken) : IIexTickSink
    {
        private long _count;

        public bool OnTick(ref readonly Tick tick)
        {
            if (!publisher.Claim(out long sequence))
            {
                return false;
            }

            // The decoder's receive time is the capture's (ns since the epoch), on the same clock as IEX's
            // exchange timestamp, so their difference is the exchange → capture latency of the recording.
            // A synthetic definition repeats its message's timestamp: counted once, with the message.
            if (tick.ExchangeTimestampNs > 0 && (tick.Flags & TickFlags.Synthetic) == 0)
            {
                publisher.HandOffTimer?.ExchangeToReceive(tick.ReceiveTimestampNs - tick.ExchangeTimestampNs);
            }

            ref Tick slot = ref publisher[sequence];
            slot = tick;
            slot.ReceiveTimestampNs = MonotonicClock.NowNs();
            publisher.Publish(sequence);
            return (++_count & 0xFFF) != 0 || !cancellationToken.IsCancellationRequested;
        }
    }
}
