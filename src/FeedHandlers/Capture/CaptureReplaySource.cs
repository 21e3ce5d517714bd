using Engine.Events;
using Engine.Pipeline;
using FeedHandlers.Itch;
using FeedHandlers.MoldUdp;

namespace FeedHandlers.Capture;

/// <summary>A damaged stretch of a capture met during a replay.</summary>
/// <param name="Offset">File offset where it began.</param>
/// <param name="What">What was wrong.</param>
public readonly record struct CaptureDamage(long Offset, CaptureCorruption What);

/// <summary>
/// Replays an engine capture of MoldUDP64 datagrams through exactly the live path: each recorded
/// datagram is offered, on its recorded line, to a <see cref="MoldUdp64Arbiter{TSink}"/> publishing
/// through <see cref="ItchTickSink"/> — the arbiter and sink a live <see cref="Transport.MoldUdp64Source"/>
/// uses — so gaps, duplicates and A/B wins come out as they did live. The arbiter's clock is the
/// recorded receive time (so its hole timeouts decide as they did live); the receive timestamp stamped
/// on the ticks is this process's, paced open-loop (<see cref="ReplayPacer"/>) per datagram.
/// </summary>
/// <remarks>
/// Reads the file through <see cref="CaptureReader"/> (System.IO.Pipelines), chunk by chunk: a damaged
/// chunk is counted as one frame rejected for <see cref="RejectReason.ChecksumMismatch"/> (or
/// <see cref="RejectReason.TruncatedFrame"/> when the file ends inside one), listed in
/// <see cref="Damage"/>, and the replay resumes at the next good chunk. Runs once.
/// </remarks>
public sealed class CaptureReplaySource : ITickSource, IPacedSource, IFeedCountSource, IDisposable
{
    private readonly CaptureReader _reader;
    private readonly MoldUdp64Arbiter<ItchTickSink> _arbiter;
    private readonly List<CaptureDamage> _damage = [];
    private ReplayPacer _pacer;
    private bool _ran;

    /// <summary>Opens <paramref name="reader"/>'s capture (owned from here) for a replay at <paramref name="pacing"/> (datagrams per second).</summary>
    public CaptureReplaySource(CaptureReader reader, ReplayPacing pacing, MoldUdp64ArbiterOptions? arbiter = null, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (reader.Header.Protocol != CaptureProtocol.MoldUdp64Itch50)
        {
            reader.Dispose();
            throw new CaptureFormatException($"This capture holds {reader.Header.Protocol} records; the replay reads {CaptureProtocol.MoldUdp64Itch50}.");
        }

        _reader = reader;
        _pacer = new ReplayPacer(pacing);
        // Built here, not on the producer thread: its held slots are a large allocation that must not land mid-run.
        // The sink is attached when the run starts.
        _arbiter = new MoldUdp64Arbiter<ItchTickSink>(
            (arbiter ?? new MoldUdp64ArbiterOptions()) with { Lines = Math.Clamp(reader.Header.Lines.Length, 1, 8), MaxPacketBytes = MoldUdp64.MaxDatagramLength },
            default,
            Counters);
        Description = description ?? $"engine capture ({reader.Header.Source})";
    }

    /// <summary>Opens the capture at <paramref name="path"/>.</summary>
    public static CaptureReplaySource Open(string path, ReplayPacing pacing, MoldUdp64ArbiterOptions? arbiter = null) =>
        new(CaptureReader.Open(path), pacing, arbiter, Path.GetFullPath(path));

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public FeedCounters Counters { get; } = new();

    /// <summary>The capture's header.</summary>
    public CaptureHeader Header => _reader.Header;

    /// <summary>The reader (chunks, damage counts, the summary once read).</summary>
    public CaptureReader Reader => _reader;

    /// <summary>The arbiter: gaps, duplicates, per-line counters.</summary>
    public MoldUdp64Arbiter<ItchTickSink> Arbiter => _arbiter;

    /// <inheritdoc />
    public IReadOnlyList<FeedCount> FeedCounts => _arbiter.FeedCounts("moldudp64");

    /// <summary>Damaged stretches met, in file order.</summary>
    public IReadOnlyList<CaptureDamage> Damage => _damage;

    /// <inheritdoc />
    public long LateMessages => _pacer.LateMessages;

    /// <inheritdoc />
    public long ProducerStalls => _pacer.ProducerStalls;

    /// <inheritdoc />
    public long LongestProducerStallNs => _pacer.LongestProducerStallNs;

    /// <inheritdoc />
    public void Run(TickPublisher publisher, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        if (_ran)
        {
            throw new InvalidOperationException("A capture replays once.");
        }

        _ran = true;
        MoldUdp64Arbiter<ItchTickSink> arbiter = _arbiter;
        arbiter.Sink = new ItchTickSink(publisher, Counters);
        int lines = arbiter.Lines.Count;
        CaptureReadStatus status;
        while ((status = _reader.Next(out CaptureChunk chunk)) != CaptureReadStatus.End)
        {
            if (status == CaptureReadStatus.Corrupt)
            {
                _damage.Add(new CaptureDamage(_reader.LastCorruptionOffset, _reader.LastCorruption));
                Counters.CountRead();
                Counters.CountRejected(_reader.LastCorruption == CaptureCorruption.Truncated ? RejectReason.TruncatedFrame : RejectReason.ChecksumMismatch);
                continue;
            }

            if (chunk.Kind != CaptureChunkKind.Records)
            {
                continue;
            }

            CaptureRecordReader records = chunk.Records;
            while (records.Next(out CaptureRecord record))
            {
                long stamp = _pacer.Next();
                if (record.Truncated || record.Line >= lines)
                {
                    arbiter.RejectDatagram(Math.Min(record.Line, lines - 1), record.Truncated ? RejectReason.TruncatedFrame : RejectReason.InvalidField);
                }
                else if (!arbiter.Offer(record.Line, record.Data, record.ReceivedNs, stamp))
                {
                    return;
                }
            }

            if (records.Malformed)
            {
                Counters.CountRead();
                Counters.CountRejected(RejectReason.TruncatedFrame);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }

        arbiter.FlushHoles(_pacer.Next());
    }

    /// <summary>Closes the capture.</summary>
    public void Dispose() => _reader.Dispose();
}
