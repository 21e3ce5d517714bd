namespace FeedHandlers.MoldUdp;

/// <summary>
/// What one line (one socket of an A/B pair) delivered. Packet counts, except <see cref="Gap"/>, which
/// counts the sequence numbers this line skipped (whether or not the other line filled them).
/// </summary>
/// <remarks>Written by the feed thread only; read by others after the feed stopped (or, approximately, while it runs).</remarks>
public sealed class LineCounters
{
    internal LineCounters(int index) => Index = index;

    /// <summary>Line index (0 = A, 1 = B, …).</summary>
    public int Index { get; }

    /// <summary>The line's letter: A, B, ….</summary>
    public char Name => (char)('A' + Index);

    /// <summary>Datagrams received (every kind, good or bad).</summary>
    public long Received { get; internal set; }

    /// <summary>Data packets that delivered at least one message first (this line won the race for them).</summary>
    public long Won { get; internal set; }

    /// <summary>Data packets whose every message had already been delivered (the other line won, or a repeat).</summary>
    public long Duplicate { get; internal set; }

    /// <summary>Data packets that arrived after their sequence numbers had been reported as a gap.</summary>
    public long Late { get; internal set; }

    /// <summary>Sequence numbers this line jumped over (its own loss; the session gap counts only what no line filled).</summary>
    public long Gap { get; internal set; }

    /// <summary>Heartbeats received.</summary>
    public long Heartbeats { get; internal set; }

    /// <summary>End-of-session packets received.</summary>
    public long EndOfSession { get; internal set; }

    /// <summary>Packets rejected whole: truncated, a block overrunning the packet, bytes after the last block, oversized.</summary>
    public long Malformed { get; internal set; }

    /// <summary>Packets of another session, dropped.</summary>
    public long SessionMismatch { get; internal set; }

    /// <summary>Packets that arrived ahead of the next expected sequence and were held until the hole closed.</summary>
    public long Held { get; internal set; }

    /// <inheritdoc />
    public override string ToString() =>
        $"line {Name}: received {Received}, won {Won}, duplicate {Duplicate}, late {Late}, gap {Gap}, heartbeats {Heartbeats}, malformed {Malformed}, held {Held}";
}
