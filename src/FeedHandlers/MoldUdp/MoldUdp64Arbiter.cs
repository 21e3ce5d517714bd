using System.Runtime.CompilerServices;
using Engine.Events;
using Engine.Pipeline;

namespace FeedHandlers.MoldUdp;

/// <summary>
/// Where an arbitrated MoldUDP64 stream goes: each message once, in sequence order, and each gap that
/// no line filled. Implement on a struct and pass it as the arbiter's type argument (direct calls).
/// </summary>
public interface IMoldUdp64Sink
{
    /// <summary>The message with <paramref name="sequence"/>, received at <paramref name="stampNs"/>. The span is valid during the call only. False when the consumer is gone (stops the feed).</summary>
    bool OnMessage(ReadOnlySpan<byte> message, long sequence, long stampNs);

    /// <summary>Sequence numbers [<paramref name="firstMissing"/>, <paramref name="firstMissing"/> + <paramref name="count"/>) will never be delivered. False when the consumer is gone.</summary>
    bool OnGap(long firstMissing, long count, long stampNs);
}

/// <summary>A sink that keeps nothing: for recording and counting (the arbiter counts everything itself).</summary>
public readonly struct DiscardSink : IMoldUdp64Sink
{
    /// <inheritdoc />
    public bool OnMessage(ReadOnlySpan<byte> message, long sequence, long stampNs) => true;

    /// <inheritdoc />
    public bool OnGap(long firstMissing, long count, long stampNs) => true;
}

/// <summary>How a <see cref="MoldUdp64Arbiter{TSink}"/> is sized and when it gives up on a hole.</summary>
public sealed record MoldUdp64ArbiterOptions
{
    /// <summary>Lines carrying the same stream (1 = a single line; 2 = A/B). At most 8.</summary>
    public int Lines { get; init; } = 1;

    /// <summary>
    /// How long a hole may stay open while some line has not yet passed it (that line might still fill
    /// it), on the arbiter's clock. When every line has passed the hole it is reported at once.
    /// </summary>
    public long GapTimeoutNs { get; init; } = 1_000_000;

    /// <summary>Packets that arrived ahead of the next expected sequence that can be held at once; when full, the hole is reported.</summary>
    public int HeldPackets { get; init; } = 64;

    /// <summary>Largest packet, bytes (sizes each held slot; larger packets are rejected as truncated frames).</summary>
    public int MaxPacketBytes { get; init; } = 2048;

    /// <summary>Sequence number of the session's first message (1 for a session joined at its start); null takes the first packet's sequence number.</summary>
    public long? FirstSequence { get; init; } = 1;
}

/// <summary>
/// MoldUDP64 sequencing and A/B line arbitration: takes packets from one or more lines that carry the
/// same stream and hands each message to the sink exactly once, in sequence order. The first copy of a
/// sequence number wins; later copies are counted as duplicates and dropped. A packet ahead of the next
/// expected sequence is held (copied into a preallocated slot) while another line may still fill the
/// hole; the hole is reported to the sink as a gap (first missing, count) when every line has passed it,
/// when <see cref="MoldUdp64ArbiterOptions.GapTimeoutNs"/> has elapsed, or when a packet must be held and every slot is taken.
/// Messages that arrive after their hole was reported are counted as late and dropped.
/// </summary>
/// <remarks>
/// <para>One thread (the feed thread) calls everything. Allocation-free after construction.</para>
/// <para>Two clocks: <c>clockNs</c> decides timeouts (live: now; replay: the recorded receive time, so a
/// replay makes the same decisions as the live run), <c>stampNs</c> is stamped on what reaches the sink
/// (the receive timestamp the pipeline measures latency from).</para>
/// <para>Accounting: every message of every well-formed packet is counted as read in
/// <see cref="Counters"/> and is either handed to the sink (which counts processed or rejected) or
/// rejected here as <see cref="RejectReason.DuplicateSequence"/> or <see cref="RejectReason.LateSequence"/>.
/// A malformed packet or one of another session counts as one frame read and rejected.</para>
/// </remarks>
public sealed class MoldUdp64Arbiter<TSink> where TSink : struct, IMoldUdp64Sink
{
    private const int RecentGaps = 64;

    private readonly FeedCounters _counters;
    private readonly LineCounters[] _lines;
    private readonly long[] _lineNext;
    private readonly long _gapTimeoutNs;
    private readonly int _slotBytes;
    private readonly HeldPacket[] _held;
    private readonly byte[] _heldBytes;
    private readonly int[] _freeSlots;
    private readonly long[] _gapFirst = new long[RecentGaps];
    private readonly long[] _gapEnd = new long[RecentGaps];
    private TSink _sink;
    private int _freeCount;
    private int _heldCount;
    private long _expected;
    private bool _started;
    private bool _sessionLocked;
    private MoldUdp64Session _session;
    private long _endSequence = -1;
    private long _holeSinceNs = -1;

    /// <summary>Builds the arbiter and its held slots; <paramref name="counters"/> is shared with the sink.</summary>
    public MoldUdp64Arbiter(MoldUdp64ArbiterOptions options, TSink sink, FeedCounters counters)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Lines, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Lines, 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.HeldPackets, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxPacketBytes, MoldUdp64.HeaderLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxPacketBytes, MoldUdp64.MaxDatagramLength);
        ArgumentOutOfRangeException.ThrowIfNegative(options.GapTimeoutNs);
        _sink = sink;
        _counters = counters;
        _gapTimeoutNs = options.GapTimeoutNs;
        _slotBytes = options.MaxPacketBytes;
        _lines = new LineCounters[options.Lines];
        _lineNext = new long[options.Lines];
        for (int i = 0; i < _lines.Length; i++)
        {
            _lines[i] = new LineCounters(i);
        }

        _held = new HeldPacket[options.HeldPackets];
        _heldBytes = new byte[options.HeldPackets * options.MaxPacketBytes];
        _freeSlots = new int[options.HeldPackets];
        for (int i = 0; i < _freeSlots.Length; i++)
        {
            _freeSlots[i] = _freeSlots.Length - 1 - i;
        }

        _freeCount = _freeSlots.Length;
        if (options.FirstSequence is long first)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(first, 0);
            Start(first);
        }
    }

    /// <summary>The sink, by reference.</summary>
    public ref TSink Sink => ref _sink;

    /// <summary>Feed counts: messages read, rejected by reason (the sink adds processed and its own rejections).</summary>
    public FeedCounters Counters => _counters;

    /// <summary>Per-line counters.</summary>
    public IReadOnlyList<LineCounters> Lines => _lines;

    /// <summary>The next sequence number the sink will get.</summary>
    public long NextSequence => _expected;

    /// <summary>The session locked on to (the first well-formed packet's), or default before any.</summary>
    public MoldUdp64Session Session => _session;

    /// <summary>True once an end-of-session packet was seen and every sequence before it was delivered or reported missing.</summary>
    public bool Ended { get; private set; }

    /// <summary>Messages handed to the sink.</summary>
    public long DeliveredMessages { get; private set; }

    /// <summary>Messages dropped because their sequence number had already been delivered.</summary>
    public long DuplicateMessages { get; private set; }

    /// <summary>Messages dropped because their sequence number had already been reported missing.</summary>
    public long LateMessages { get; private set; }

    /// <summary>Gaps reported (holes no line filled).</summary>
    public long Gaps { get; private set; }

    /// <summary>Sequence numbers reported missing, all gaps.</summary>
    public long MissedMessages { get; private set; }

    /// <summary>
    /// Gaps, duplicates and missed messages as <see cref="FeedCount"/>s for the engine's metrics (label
    /// <c>feed</c> = <paramref name="feed"/>). Start-up only; the reads are plain reads of this arbiter's
    /// single-writer counts, made on the telemetry thread.
    /// </summary>
    public IReadOnlyList<FeedCount> FeedCounts(string feed) =>
    [
        new FeedCount(FeedCountKind.Gaps, feed, () => Gaps),
        new FeedCount(FeedCountKind.Duplicates, feed, () => DuplicateMessages),
        new FeedCount(FeedCountKind.MissedMessages, feed, () => MissedMessages),
    ];

    /// <summary>Datagrams received on every line so far (data, heartbeats, rejected ones).</summary>
    public long DatagramsReceived
    {
        get
        {
            long n = 0;
            foreach (LineCounters line in _lines)
            {
                n += line.Received;
            }

            return n;
        }
    }

    /// <summary>Packets held right now.</summary>
    public int HeldNow => _heldCount;

    /// <summary>
    /// Takes one datagram received on <paramref name="line"/>. The bytes are read (and, for a packet
    /// ahead of the stream, copied) during the call only. Returns false when the sink's consumer is gone.
    /// </summary>
    public bool Offer(int line, ReadOnlySpan<byte> packet, long clockNs, long stampNs)
    {
        // A hole whose time ran out before this packet arrived is reported first, as a live feed polling
        // while idle would have: a replay, driven by recorded receive times, decides the same way.
        if (_holeSinceNs >= 0 && clockNs - _holeSinceNs >= _gapTimeoutNs && !CheckHole(clockNs, stampNs))
        {
            return false;
        }

        LineCounters lc = _lines[line];
        lc.Received++;
        if (!MoldUdp64.TryParse(packet, out MoldUdp64Header h, out RejectReason reason) || packet.Length > _slotBytes)
        {
            lc.Malformed++;
            RejectFrame(packet.Length > _slotBytes ? RejectReason.TruncatedFrame : reason);
            return true;
        }

        if (!_sessionLocked)
        {
            _session = h.Session;
            _sessionLocked = true;
        }
        else if (h.Session != _session)
        {
            lc.SessionMismatch++;
            RejectFrame(RejectReason.SessionMismatch);
            return true;
        }

        if (!_started)
        {
            Start(h.Sequence);
        }

        long next = h.NextSequence;
        if (h.Sequence > _lineNext[line])
        {
            lc.Gap += h.Sequence - _lineNext[line];
        }

        if (next > _lineNext[line])
        {
            _lineNext[line] = next;
        }

        switch (h.Kind)
        {
            case MoldUdp64PacketKind.Heartbeat:
                lc.Heartbeats++;
                break;
            case MoldUdp64PacketKind.EndOfSession:
                lc.EndOfSession++;
                if (_endSequence < 0)
                {
                    _endSequence = h.Sequence;
                }

                break;
            default:
                if (next <= _expected)
                {
                    CountStale(lc, h.Sequence, h.MessageCount);
                }
                else if (h.Sequence <= _expected)
                {
                    lc.Won++;
                    if (!Deliver(packet, h.Sequence, stampNs) || !DrainHeld())
                    {
                        return false;
                    }
                }
                else if (!Hold(line, packet, in h, clockNs, stampNs))
                {
                    return false;
                }

                break;
        }

        return CheckHole(clockNs, stampNs);
    }

    /// <summary>Counts a datagram received on <paramref name="line"/> that cannot be offered (cut by the receive buffer, or recorded so): malformed, rejected for <paramref name="reason"/>.</summary>
    public void RejectDatagram(int line, RejectReason reason)
    {
        LineCounters lc = _lines[line];
        lc.Received++;
        lc.Malformed++;
        RejectFrame(reason);
    }

    /// <summary>At the end of the input: reports every hole still open (no packet can fill it any more) and delivers what was held behind it. False when the sink's consumer is gone.</summary>
    public bool FlushHoles(long stampNs)
    {
        while (_heldCount > 0 || HasLinePassed())
        {
            if (!DeclareGap(stampNs) || !DrainHeld())
            {
                return false;
            }
        }

        return CheckHole(0, stampNs);
    }

    /// <summary>Lets time pass without a packet (an idle poll): reports a hole whose timeout elapsed. False when the sink's consumer is gone.</summary>
    public bool Advance(long clockNs, long stampNs) => _holeSinceNs < 0 || CheckHole(clockNs, stampNs);

    private bool HasLinePassed()
    {
        for (int i = 0; i < _lineNext.Length; i++)
        {
            if (_lineNext[i] > _expected)
            {
                return true;
            }
        }

        return false;
    }

    private void Start(long first)
    {
        _expected = first;
        Array.Fill(_lineNext, first);
        _started = true;
    }

    private void RejectFrame(RejectReason reason)
    {
        _counters.CountRead();
        _counters.CountRejected(reason);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Deliver(ReadOnlySpan<byte> packet, long sequence, long stampNs)
    {
        var blocks = new MoldUdp64BlockReader(packet);
        long s = sequence;
        while (blocks.Next(out ReadOnlySpan<byte> message))
        {
            _counters.CountRead();
            if (s < _expected)
            {
                CountStaleMessage(s);
            }
            else
            {
                _expected = s + 1;
                DeliveredMessages++;
                if (!_sink.OnMessage(message, s, stampNs))
                {
                    return false;
                }
            }

            s++;
        }

        return true;
    }

    // Every message of a packet that brings nothing new: duplicate, or late when its hole was reported.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CountStale(LineCounters lc, long sequence, int count)
    {
        long lateBefore = LateMessages;
        for (long s = sequence; s < sequence + count; s++)
        {
            _counters.CountRead();
            CountStaleMessage(s);
        }

        if (LateMessages > lateBefore)
        {
            lc.Late++;
        }
        else
        {
            lc.Duplicate++;
        }
    }

    private void CountStaleMessage(long sequence)
    {
        if (InReportedGap(sequence))
        {
            LateMessages++;
            _counters.CountRejected(RejectReason.LateSequence);
        }
        else
        {
            DuplicateMessages++;
            _counters.CountRejected(RejectReason.DuplicateSequence);
        }
    }

    private bool InReportedGap(long sequence)
    {
        int n = (int)Math.Min(Gaps, RecentGaps);
        for (int i = 0; i < n; i++)
        {
            if (sequence >= _gapFirst[i] && sequence < _gapEnd[i])
            {
                return true;
            }
        }

        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Hold(int line, ReadOnlySpan<byte> packet, in MoldUdp64Header h, long clockNs, long stampNs)
    {
        LineCounters lc = _lines[line];
        for (int i = 0; i < _heldCount; i++)
        {
            if (_held[i].Sequence == h.Sequence && _held[i].Count == h.MessageCount)
            {
                // The other line's copy of a packet already held: a duplicate now, not later.
                CountStale(lc, h.Sequence, h.MessageCount);
                return true;
            }
        }

        if (_heldCount == _held.Length)
        {
            // No room: report the hole before this packet, then take the packet as it now stands.
            if (!DeclareGap(stampNs) || !DrainHeld())
            {
                return false;
            }

            if (h.NextSequence <= _expected)
            {
                CountStale(lc, h.Sequence, h.MessageCount);
                return true;
            }

            if (h.Sequence <= _expected)
            {
                lc.Won++;
                return Deliver(packet, h.Sequence, stampNs) && DrainHeld();
            }
        }

        int slot = _freeSlots[--_freeCount];
        packet.CopyTo(_heldBytes.AsSpan(slot * _slotBytes, _slotBytes));
        _held[_heldCount++] = new HeldPacket(h.Sequence, h.MessageCount, packet.Length, line, slot, clockNs, stampNs);
        lc.Held++;
        return true;
    }

    // Delivers (or drops as stale) every held packet the stream has caught up with.
    private bool DrainHeld()
    {
        int i = 0;
        while (i < _heldCount)
        {
            HeldPacket p = _held[i];
            if (p.Sequence > _expected)
            {
                i++;
                continue;
            }

            _held[i] = _held[--_heldCount];
            _freeSlots[_freeCount++] = p.Slot;
            LineCounters lc = _lines[p.Line];
            if (p.Sequence + p.Count <= _expected)
            {
                CountStale(lc, p.Sequence, p.Count);
            }
            else
            {
                lc.Won++;

                // The slot was just freed, but nothing can reuse it before Deliver returns (only Hold takes slots).
                if (!Deliver(_heldBytes.AsSpan(p.Slot * _slotBytes, p.Length), p.Sequence, p.StampNs))
                {
                    return false;
                }
            }

            // _expected moved: an earlier-skipped packet may now be due.
            i = 0;
        }

        return true;
    }

    private bool CheckHole(long clockNs, long stampNs)
    {
        while (true)
        {
            if (!Ended && _endSequence >= 0 && _expected >= _endSequence)
            {
                Ended = true;
            }

            bool allPassed = true;
            bool anyPassed = _heldCount > 0;
            for (int i = 0; i < _lineNext.Length; i++)
            {
                bool passed = _lineNext[i] > _expected;
                allPassed &= passed;
                anyPassed |= passed;
            }

            if (!anyPassed)
            {
                _holeSinceNs = -1;
                return true;
            }

            if (_holeSinceNs < 0)
            {
                _holeSinceNs = _heldCount > 0 ? OldestHeldClock() : clockNs;
            }

            if (!allPassed && clockNs - _holeSinceNs < _gapTimeoutNs)
            {
                return true;
            }

            if (!DeclareGap(stampNs) || !DrainHeld())
            {
                return false;
            }
        }
    }

    private long OldestHeldClock()
    {
        long oldest = long.MaxValue;
        for (int i = 0; i < _heldCount; i++)
        {
            oldest = Math.Min(oldest, _held[i].ClockNs);
        }

        return oldest;
    }

    // Reports [_expected, the nearest sequence some line or held packet shows) as missing.
    private bool DeclareGap(long stampNs)
    {
        long end = long.MaxValue;
        for (int i = 0; i < _heldCount; i++)
        {
            end = Math.Min(end, _held[i].Sequence);
        }

        for (int i = 0; i < _lineNext.Length; i++)
        {
            if (_lineNext[i] > _expected)
            {
                end = Math.Min(end, _lineNext[i]);
            }
        }

        long first = _expected;
        long count = end - first;
        int at = (int)(Gaps % RecentGaps);
        _gapFirst[at] = first;
        _gapEnd[at] = end;
        Gaps++;
        MissedMessages += count;
        _expected = end;
        _holeSinceNs = -1;
        return _sink.OnGap(first, count, stampNs);
    }

    private readonly record struct HeldPacket(long Sequence, int Count, int Length, int Line, int Slot, long ClockNs, long StampNs);
}
