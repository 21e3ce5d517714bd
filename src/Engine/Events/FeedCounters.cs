namespace Engine.Events;

/// <summary>Why a feed handler rejected a message. Each is counted; none throws.</summary>
public enum RejectReason
{
    /// <summary>The frame (or capture) ended before the length it announced.</summary>
    TruncatedFrame,

    /// <summary>A frame of length zero, with no message type.</summary>
    EmptyFrame,

    /// <summary>The message type is not in the protocol's spec.</summary>
    UnknownMessageType,

    /// <summary>The frame's length differs from the fixed length of its message type.</summary>
    LengthMismatch,

    /// <summary>A field holds a value the spec does not allow (e.g. a side other than B or S).</summary>
    InvalidField,

    /// <summary>A sequence number already delivered: the second copy of an A/B pair, or a repeat. Dropped.</summary>
    DuplicateSequence,

    /// <summary>A sequence number that arrived out of order, after it had been reported as a gap. Dropped.</summary>
    LateSequence,

    /// <summary>A packet of a session other than the one the feed locked on to. Dropped.</summary>
    SessionMismatch,

    /// <summary>A capture chunk whose CRC did not match its bytes; the reader resumed at the next chunk.</summary>
    ChecksumMismatch,
}

/// <summary>
/// What a feed handler did with its input: every message read is either processed or rejected with
/// a reason (read = processed + rejected), and processed messages are counted by type.
/// </summary>
/// <remarks>
/// Written by the feed thread only; read by others after the feed stopped (or, approximately, while
/// it runs: the counts are plain 64-bit fields).
/// </remarks>
public sealed class FeedCounters
{
    private readonly long[] _rejected = new long[Enum.GetValues<RejectReason>().Length];
    private readonly long[] _byType = new long[256];

    /// <summary>Messages (frames) read from the source.</summary>
    public long Read { get; private set; }

    /// <summary>Messages decoded and handled.</summary>
    public long Processed { get; private set; }

    /// <summary>Ticks published to the ring (order-book and reference messages normalized).</summary>
    public long Published { get; private set; }

    /// <summary>Messages rejected, all reasons.</summary>
    public long Rejected { get; private set; }

    /// <summary>Bytes left at the end of the input that did not form a frame.</summary>
    public long TrailingBytes { get; set; }

    /// <summary>Rejections for one reason.</summary>
    public long RejectedFor(RejectReason reason) => _rejected[(int)reason];

    /// <summary>Processed messages of one type (the protocol's type byte).</summary>
    public long ProcessedOfType(byte type) => _byType[type];

    /// <summary>(type, count) for every type with a non-zero count, by type.</summary>
    public IEnumerable<(char Type, long Count)> ProcessedByType()
    {
        for (int i = 0; i < _byType.Length; i++)
        {
            if (_byType[i] != 0)
            {
                yield return ((char)i, _byType[i]);
            }
        }
    }

    /// <summary>Counts a message read.</summary>
    public void CountRead() => Read++;

    /// <summary>Counts a processed message of <paramref name="type"/>.</summary>
    public void CountProcessed(byte type)
    {
        Processed++;
        _byType[type]++;
    }

    /// <summary>Counts a tick published.</summary>
    public void CountPublished() => Published++;

    /// <summary>Counts a rejection.</summary>
    public void CountRejected(RejectReason reason)
    {
        Rejected++;
        _rejected[(int)reason]++;
    }
}
