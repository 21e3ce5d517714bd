using System.Buffers.Binary;
using FeedHandlers.Itch;

namespace FeedHandlers.Iex;

/// <summary>IEX-TP message protocols (the segment header's message protocol id).</summary>
public enum IexProtocol : ushort
{
    /// <summary>Not a known protocol.</summary>
    Unknown = 0,

    /// <summary>TOPS 1.6 (top of book, trades): 0x8003.</summary>
    Tops16 = 0x8003,

    /// <summary>DEEP 1.0 (price-level depth, trades): 0x8004.</summary>
    Deep10 = 0x8004,
}

/// <summary>Why an IEX-TP segment (a UDP payload) was not read. Each is counted; none throws.</summary>
public enum SegmentReject
{
    /// <summary>Shorter than the 40-byte segment header, or a version other than 1.</summary>
    NotIexTp,

    /// <summary>A message protocol other than TOPS 1.6 (0x8003) or DEEP 1.0 (0x8004).</summary>
    UnsupportedProtocol,

    /// <summary>The header's payload length disagrees with the bytes after the header.</summary>
    PayloadLengthMismatch,

    /// <summary>The segment's first sequence number is below the next expected one (a duplicate or late segment); dropped.</summary>
    StaleSequence,
}

/// <summary>The 40-byte IEX-TP v1 segment header (little-endian), parsed.</summary>
public readonly struct IexTpHeader
{
    /// <summary>Bytes of the header.</summary>
    public const int Length = 40;

    /// <summary>Reads the header of <paramref name="segment"/> (at least <see cref="Length"/> bytes, checked by the caller).</summary>
    public IexTpHeader(ReadOnlySpan<byte> segment)
    {
        Version = segment[0];
        Protocol = (IexProtocol)BinaryPrimitives.ReadUInt16LittleEndian(segment[2..]);
        ChannelId = BinaryPrimitives.ReadUInt32LittleEndian(segment[4..]);
        SessionId = BinaryPrimitives.ReadUInt32LittleEndian(segment[8..]);
        PayloadLength = BinaryPrimitives.ReadUInt16LittleEndian(segment[12..]);
        MessageCount = BinaryPrimitives.ReadUInt16LittleEndian(segment[14..]);
        StreamOffset = BinaryPrimitives.ReadInt64LittleEndian(segment[16..]);
        FirstMessageSequence = BinaryPrimitives.ReadInt64LittleEndian(segment[24..]);
        SendTimeNs = BinaryPrimitives.ReadInt64LittleEndian(segment[32..]);
    }

    /// <summary>IEX-TP version (1).</summary>
    public byte Version { get; }

    /// <summary>Message protocol id.</summary>
    public IexProtocol Protocol { get; }

    /// <summary>Multicast channel.</summary>
    public uint ChannelId { get; }

    /// <summary>Session id.</summary>
    public uint SessionId { get; }

    /// <summary>Bytes of messages after the header.</summary>
    public ushort PayloadLength { get; }

    /// <summary>Messages in the segment (0 for a heartbeat).</summary>
    public ushort MessageCount { get; }

    /// <summary>Byte offset of the payload in the session's stream.</summary>
    public long StreamOffset { get; }

    /// <summary>Sequence number of the segment's first message (1-based in a session).</summary>
    public long FirstMessageSequence { get; }

    /// <summary>When the segment was sent, ns since the Unix epoch.</summary>
    public long SendTimeNs { get; }

    /// <summary>Checks a UDP payload's segment header; false with the reason when it is not a readable IEX-TP segment.</summary>
    public static bool TryRead(ReadOnlySpan<byte> segment, out IexTpHeader header, out SegmentReject reason)
    {
        header = default;
        if (segment.Length < Length || segment[0] != 1)
        {
            reason = SegmentReject.NotIexTp;
            return false;
        }

        header = new IexTpHeader(segment);
        if (header.Protocol is not (IexProtocol.Tops16 or IexProtocol.Deep10))
        {
            reason = SegmentReject.UnsupportedProtocol;
            return false;
        }

        if (header.PayloadLength != segment.Length - Length)
        {
            reason = SegmentReject.PayloadLengthMismatch;
            return false;
        }

        reason = default;
        return true;
    }
}

/// <summary>
/// Splits an IEX-TP payload into messages, each prefixed by a 2-byte little-endian length. Slices only, no
/// allocation. The same walk as <see cref="BinaryFileFrameReader"/> (whose prefix is big-endian), with the same outcomes.
/// </summary>
public ref struct IexMessageFrames
{
    private readonly ReadOnlySpan<byte> _payload;
    private int _position;

    /// <summary>Reads the messages of <paramref name="payload"/> (the bytes after the segment header).</summary>
    public IexMessageFrames(ReadOnlySpan<byte> payload)
    {
        _payload = payload;
        _position = 0;
    }

    /// <summary>The next message (see <see cref="FrameStatus"/>; a cut-off message or length consumes the rest).</summary>
    public FrameStatus Next(out ReadOnlySpan<byte> message)
    {
        message = default;
        int remaining = _payload.Length - _position;
        if (remaining == 0)
        {
            return FrameStatus.End;
        }

        if (remaining >= 2)
        {
            int length = BinaryPrimitives.ReadUInt16LittleEndian(_payload[_position..]);
            if (length <= remaining - 2)
            {
                message = _payload.Slice(_position + 2, length);
                _position += 2 + length;
                return length == 0 ? FrameStatus.EmptyFrame : FrameStatus.Message;
            }
        }

        _position = _payload.Length;
        return FrameStatus.Truncated;
    }
}
