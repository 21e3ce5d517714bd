using System.Runtime.CompilerServices;
using Engine.Events;
using Engine.Native;
using FeedHandlers.Capture;
using FeedHandlers.MoldUdp;

namespace FeedHandlers.Transport;

/// <summary>
/// The live receive loop of a MoldUDP64 feed: one or more <see cref="UdpLine"/>s (A/B) polled by one
/// thread; each datagram is stamped on <see cref="MonotonicClock"/>, optionally appended to a capture
/// journal, and offered to the <see cref="MoldUdp64Arbiter{TSink}"/>, which decodes in place and hands
/// each message once, in order, to the sink.
/// </summary>
/// <remarks>
/// <see cref="Poll"/> is allocation-free (a test holds it to that over a hundred thousand datagrams) and
/// never blocks: it returns 0 when no line had a datagram. One thread (the feed thread). The feed owns
/// its lines and disposes them; it does not own the journal.
/// </remarks>
public sealed class MoldUdp64Feed<TSink> : IDisposable where TSink : struct, IMoldUdp64Sink
{
    private readonly UdpLine[] _lines;
    private readonly MoldUdp64Arbiter<TSink> _arbiter;
    private readonly CaptureWriter? _journal;
    private readonly int _batch;

    /// <summary>Polls <paramref name="lines"/> (line i is the arbiter's line i) into <paramref name="arbiter"/>, recording into <paramref name="journal"/> when given.</summary>
    public MoldUdp64Feed(IReadOnlyList<UdpLine> lines, MoldUdp64Arbiter<TSink> arbiter, CaptureWriter? journal = null, int batch = 64)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(arbiter);
        if (lines.Count != arbiter.Lines.Count)
        {
            throw new ArgumentException($"{lines.Count} lines for an arbiter of {arbiter.Lines.Count}.", nameof(lines));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        _lines = [.. lines];
        _arbiter = arbiter;
        _journal = journal;
        _batch = batch;
    }

    /// <summary>The arbiter (sequencing, gaps, per-line counters).</summary>
    public MoldUdp64Arbiter<TSink> Arbiter => _arbiter;

    /// <summary>The lines.</summary>
    public IReadOnlyList<UdpLine> Lines => _lines;

    /// <summary>False once the sink's consumer is gone (the pipeline stopped).</summary>
    public bool SinkAlive { get; private set; } = true;

    /// <summary>
    /// Reads what the lines have queued (up to the batch size per line, alternating lines so neither
    /// starves) and offers it to the arbiter; with nothing queued, lets the arbiter's hole timeout run.
    /// Returns the datagrams read.
    /// </summary>
    public int Poll()
    {
        int total = 0;
        for (int round = 0; round < _batch; round++)
        {
            int got = 0;
            for (int line = 0; line < _lines.Length; line++)
            {
                if (ReceiveOne(line))
                {
                    got++;
                }
            }

            if (got == 0 || !SinkAlive)
            {
                break;
            }

            total += got;
        }

        if (total == 0 && SinkAlive)
        {
            long now = MonotonicClock.NowNs();
            SinkAlive = _arbiter.Advance(now, now);
        }

        return total;
    }

    /// <summary>Closes the sockets.</summary>
    public void Dispose()
    {
        foreach (UdpLine line in _lines)
        {
            line.Dispose();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool ReceiveOne(int line)
    {
        UdpLine udp = _lines[line];
        if (!SinkAlive || !udp.TryReceive(out int length, out bool truncated))
        {
            return false;
        }

        long now = MonotonicClock.NowNs();
        ReadOnlySpan<byte> datagram = udp.Buffer[..length];
        _journal?.Append(line, now, datagram, truncated);
        if (truncated)
        {
            _arbiter.RejectDatagram(line, RejectReason.TruncatedFrame);
        }
        else
        {
            SinkAlive = _arbiter.Offer(line, datagram, now, now);
        }

        return true;
    }
}
