using System.Runtime.CompilerServices;
using Engine.Events;
using Engine.Pipeline;
using FeedHandlers.Capture;

namespace FeedHandlers.Itch;

/// <summary>How fast a replay offers messages.</summary>
/// <param name="MessagesPerSecond">Open-loop rate; 0 means as fast as the pipeline takes them.</param>
public readonly record struct ReplayPacing(double MessagesPerSecond)
{
    /// <summary>As fast as possible: receive timestamps are taken when each message is read, so queueing in the ring shows up in the latency.</summary>
    public static ReplayPacing AsFastAsPossible => new(0);

    /// <summary>True when paced.</summary>
    public bool IsPaced => MessagesPerSecond > 0;
}

/// <summary>
/// Replays an ITCH 5.0 BinaryFILE capture held in memory into a tick pipeline: frame, validate,
/// claim a ring slot, normalize in place, publish. Runs on the pipeline's producer thread.
/// </summary>
/// <remarks>
/// Pacing is open-loop: message i is due at start + i / rate, and its receive timestamp is that due
/// time, not the time it was actually sent. A stall (a full ring, a descheduled thread) therefore
/// shows up as the latency it caused instead of being hidden (no coordinated omission). Unpaced,
/// the receive timestamp is the time the message was read. Every frame is counted: read =
/// processed + rejected (by reason); trailing bytes that do not form a frame are a truncated frame.
/// </remarks>
public sealed class ItchReplaySource : ITickSource, IPacedSource
{
    private readonly ReadOnlyMemory<byte> _capture;
    private readonly ReplayPacing _pacing;
    private ReplayPacer _pacer;

    /// <summary>Replays <paramref name="capture"/> (BinaryFILE bytes) at <paramref name="pacing"/>.</summary>
    public ItchReplaySource(ReadOnlyMemory<byte> capture, ReplayPacing pacing, string description = "ITCH 5.0 capture")
    {
        _capture = capture;
        _pacing = pacing;
        _pacer = new ReplayPacer(pacing);
        Description = description;
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public FeedCounters Counters { get; } = new();

    /// <summary>Messages that were sent after their due time (paced runs): the producer fell behind.</summary>
    public long LateMessages => _pacer.LateMessages;

    /// <summary>Gaps of more than <see cref="StallThresholdNs"/> between consecutive messages of a paced run in which the producer did not run (it was descheduled or the machine stalled).</summary>
    public long ProducerStalls => _pacer.ProducerStalls;

    /// <summary>The longest such gap, ns.</summary>
    public long LongestProducerStallNs => _pacer.LongestProducerStallNs;

    /// <summary>Threshold for <see cref="ProducerStalls"/>: 50 µs.</summary>
    public const long StallThresholdNs = ReplayPacer.StallThresholdNs;

    /// <inheritdoc />
    public void Run(TickPublisher publisher, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        var frames = new BinaryFileFrameReader(_capture.Span);
        FeedCounters counters = Counters;
        _pacer = new ReplayPacer(_pacing);
        long index = 0;
        while (true)
        {
            FrameStatus status = frames.Next(out ReadOnlySpan<byte> message);
            if (status == FrameStatus.End)
            {
                break;
            }

            counters.CountRead();
            index++;
            long received = _pacer.Next();
            if (status != FrameStatus.Message)
            {
                counters.CountRejected(status == FrameStatus.EmptyFrame ? RejectReason.EmptyFrame : RejectReason.TruncatedFrame);
                continue;
            }

            if (!Publish(message, index, received, publisher, counters, frames.Remaining))
            {
                return;
            }

            if ((index & 0xFFF) == 0 && cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    // Validate, claim, normalize in place, publish; shared with the live MoldUDP64 path. False only when the pipeline is down.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Publish(ReadOnlySpan<byte> message, long index, long received, TickPublisher publisher, FeedCounters counters, int readableAfter = 0)
    {
        ItchDisposition disposition = ItchNormalizer.Classify(message, out RejectReason reason);
        if (disposition == ItchDisposition.Rejected)
        {
            counters.CountRejected(reason);
            return true;
        }

        byte type = message[0];
        if (disposition == ItchDisposition.Tick)
        {
            if (!publisher.Claim(out long sequence))
            {
                return false;
            }

            ref Tick tick = ref publisher[sequence];
            ItchNormalizer.NormalizeTick(message, ref tick, readableAfter);
            tick.Sequence = index;
            tick.ReceiveTimestampNs = received;
            publisher.Publish(sequence);
            counters.CountPublished();
        }

        counters.CountProcessed(type);
        return true;
    }
}
