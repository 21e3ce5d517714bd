using Engine.Events;
using Engine.Native;
using Engine.Pipeline;
using FeedHandlers.Capture;
using FeedHandlers.MoldUdp;

namespace FeedHandlers.Transport;

/// <summary>How the feed thread waits when no line has a datagram.</summary>
public enum FeedIdleWait
{
    /// <summary>Poll again at once: lowest latency; needs a core of its own.</summary>
    BusySpin,

    /// <summary>Spin briefly, then yield the core between polls (shared cores, tests).</summary>
    Yielding,
}

/// <summary>A live MoldUDP64 feed: its lines and how it is sequenced, arbitrated and stopped.</summary>
public sealed record MoldUdp64SourceOptions
{
    /// <summary>The lines carrying the stream: one, or two for A/B arbitration (line 0 = A).</summary>
    public required IReadOnlyList<UdpEndpoint> Lines { get; init; }

    /// <summary>Sequencing and arbitration (its <see cref="MoldUdp64ArbiterOptions.Lines"/> is set from <see cref="Lines"/>).</summary>
    public MoldUdp64ArbiterOptions Arbiter { get; init; } = new();

    /// <summary>Kernel receive buffer requested per socket.</summary>
    public int SocketBufferBytes { get; init; } = 4 << 20;

    /// <summary>How the feed thread waits while idle.</summary>
    public FeedIdleWait Wait { get; init; } = FeedIdleWait.BusySpin;

    /// <summary>Stop after this long without a datagram (tools and tests); null runs until the end of the session or cancellation.</summary>
    public TimeSpan? StopWhenIdle { get; init; }

    /// <summary>A journal that records every datagram received, with its line and receive timestamp (not owned; complete it after the run).</summary>
    public CaptureWriter? Journal { get; init; }
}

/// <summary>
/// A live ITCH 5.0 feed over MoldUDP64 as a tick source: on the pipeline's producer thread, polls the
/// lines (<see cref="MoldUdp64Feed{TSink}"/>), arbitrates A/B, reports gaps as
/// <see cref="TickKind.SequenceGap"/> ticks, and decodes each message in place into a ring slot
/// (<see cref="ItchTickSink"/>). A capture recorded from it replays through the same arbiter and sink
/// (<see cref="CaptureReplaySource"/>).
/// </summary>
/// <remarks>
/// The sockets are bound in the constructor (so a sender can start before <see cref="ITickSource.Run"/>);
/// the constructor throws <see cref="System.Net.Sockets.SocketException"/> naming the endpoint when the OS
/// refuses. <see cref="ITickSource.Run"/> returns at the end of the session (every sequence delivered
/// or reported missing), on cancellation, after <see cref="MoldUdp64SourceOptions.StopWhenIdle"/>, or
/// when the pipeline is down. No allocation per datagram.
/// </remarks>
public sealed class MoldUdp64Source : ITickSource, IFeedCountSource, ILiveFeed, IDisposable
{
    private readonly MoldUdp64SourceOptions _options;
    private readonly UdpLine[] _lines;
    private readonly MoldUdp64Feed<ItchTickSink> _feed;
    private bool _attached;

    /// <summary>Binds the lines of <paramref name="options"/>.</summary>
    public MoldUdp64Source(MoldUdp64SourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Lines.Count is < 1 or > 8)
        {
            throw new ArgumentException($"A MoldUDP64 feed needs 1 to 8 lines, not {options.Lines.Count}.", nameof(options));
        }

        _options = options;
        _lines = new UdpLine[options.Lines.Count];
        try
        {
            for (int i = 0; i < _lines.Length; i++)
            {
                _lines[i] = new UdpLine(options.Lines[i], options.Arbiter.MaxPacketBytes, options.SocketBufferBytes);
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        // Everything the receive loop touches is allocated here, before the producer thread starts; the sink
        // (which needs the pipeline's publisher) is attached when the run starts.
        var arbiter = new MoldUdp64Arbiter<ItchTickSink>(options.Arbiter with { Lines = _lines.Length }, default, Counters);
        _feed = new MoldUdp64Feed<ItchTickSink>(_lines, arbiter, options.Journal);
        Description = "MoldUDP64 " + string.Join(" + ", options.Lines);
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public FeedCounters Counters { get; } = new();

    /// <summary>The lines (bound ports are in <see cref="UdpLine.LocalPort"/>).</summary>
    public IReadOnlyList<UdpLine> Lines => _lines;

    /// <summary>The receive loop: arbiter, gaps, per-line counters.</summary>
    public MoldUdp64Feed<ItchTickSink> Feed => _feed;

    /// <inheritdoc />
    public IReadOnlyList<FeedCount> FeedCounts => _feed.Arbiter.FeedCounts("moldudp64");

    /// <inheritdoc />
    public long DatagramsReceived => _feed.Arbiter.DatagramsReceived;

    /// <summary>
    /// Points the receive loop at <paramref name="publisher"/>. <see cref="ITickSource.Run"/> calls it; a
    /// caller driving <see cref="MoldUdp64Feed{TSink}.Poll"/> itself calls it once instead.
    /// </summary>
    public MoldUdp64Feed<ItchTickSink> Attach(TickPublisher publisher)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        if (_attached)
        {
            throw new InvalidOperationException("The source is already attached.");
        }

        _attached = true;
        _feed.Arbiter.Sink = new ItchTickSink(publisher, Counters);
        return _feed;
    }

    /// <inheritdoc />
    public void Run(TickPublisher publisher, CancellationToken cancellationToken)
    {
        MoldUdp64Feed<ItchTickSink> feed = Attach(publisher);
        long idleLimit = _options.StopWhenIdle is TimeSpan idle ? (long)idle.TotalNanoseconds : long.MaxValue;
        long lastData = MonotonicClock.NowNs();
        var spinner = default(SpinWait);
        while (feed.SinkAlive && !feed.Arbiter.Ended)
        {
            if (feed.Poll() > 0)
            {
                lastData = MonotonicClock.NowNs();
                spinner.Reset();
                continue;
            }

            if (cancellationToken.IsCancellationRequested || MonotonicClock.NowNs() - lastData > idleLimit)
            {
                break;
            }

            if (_options.Wait == FeedIdleWait.Yielding)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }

        // Whatever is still held can no longer be completed by a line: report the holes, deliver the rest.
        if (feed.SinkAlive)
        {
            feed.Arbiter.FlushHoles(MonotonicClock.NowNs());
        }
    }

    /// <summary>Closes the sockets.</summary>
    public void Dispose()
    {
        foreach (UdpLine? line in _lines)
        {
            line?.Dispose();
        }
    }
}
