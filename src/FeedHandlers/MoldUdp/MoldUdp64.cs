using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using Engine.Events;

namespace FeedHandlers.MoldUdp;

/// <summary>What a MoldUDP64 packet carries.</summary>
public enum MoldUdp64PacketKind : byte
{
    /// <summary>Message blocks: <see cref="MoldUdp64Header.MessageCount"/> messages starting at <see cref="MoldUdp64Header.Sequence"/>.</summary>
    Data,

    /// <summary>No messages; <see cref="MoldUdp64Header.Sequence"/> is the next sequence number the sender will use.</summary>
    Heartbeat,

    /// <summary>The session ended; <see cref="MoldUdp64Header.Sequence"/> is one past the last message of the session.</summary>
    EndOfSession,
}

/// <summary>A MoldUDP64 session name: 10 ASCII bytes, kept as two integers so comparing costs two compares.</summary>
public readonly record struct MoldUdp64Session(ulong Head, ushort Tail)
{
    /// <summary>Reads the 10 session bytes at the start of <paramref name="packet"/> (which holds at least 10 bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static MoldUdp64Session Read(ReadOnlySpan<byte> packet) =>
        new(BinaryPrimitives.ReadUInt64LittleEndian(packet), BinaryPrimitives.ReadUInt16LittleEndian(packet[8..]));

    /// <summary>A session from text (at most 10 ASCII characters, space-padded). Cold path.</summary>
    public static MoldUdp64Session FromText(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length > MoldUdp64.SessionLength)
        {
            throw new ArgumentException($"MoldUDP64 session '{name}' is longer than {MoldUdp64.SessionLength} characters.", nameof(name));
        }

        Span<byte> bytes = stackalloc byte[MoldUdp64.SessionLength];
        bytes.Fill((byte)' ');
        Encoding.ASCII.GetBytes(name, bytes);
        return Read(bytes);
    }

    /// <summary>Writes the 10 session bytes into <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Head);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], Tail);
    }

    /// <summary>The session name, trimmed. Allocates: cold path.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[MoldUdp64.SessionLength];
        Write(bytes);
        return Encoding.ASCII.GetString(bytes).TrimEnd(' ', '\0');
    }
}

/// <summary>The fixed header of a MoldUDP64 downstream packet.</summary>
/// <param name="Session">Session the packet belongs to.</param>
/// <param name="Sequence">Sequence number of the first message (data), or the next sequence number (heartbeat, end of session).</param>
/// <param name="MessageCount">Messages in the packet (0 for heartbeats and end of session).</param>
/// <param name="Kind">Data, heartbeat or end of session.</param>
public readonly record struct MoldUdp64Header(MoldUdp64Session Session, long Sequence, int MessageCount, MoldUdp64PacketKind Kind)
{
    /// <summary>One past the last sequence number the packet accounts for.</summary>
    public long NextSequence => Sequence + MessageCount;
}

/// <summary>
/// MoldUDP64 downstream framing (NASDAQ MoldUDP64 1.00): a 20-byte header — session (10 ASCII bytes),
/// sequence number (u64 big-endian) and message count (u16 big-endian) — then that many message blocks,
/// each a u16 big-endian length and the message. A count of 0 is a heartbeat, 0xFFFF the end of the
/// session; both carry the next sequence number. Parsing is in place and allocation-free.
/// </summary>
public static class MoldUdp64
{
    /// <summary>Bytes of the session name.</summary>
    public const int SessionLength = 10;

    /// <summary>Bytes of the packet header.</summary>
    public const int HeaderLength = 20;

    /// <summary>The message count that marks the end of a session.</summary>
    public const int EndOfSessionCount = 0xFFFF;

    /// <summary>The largest UDP payload over IPv4 (65,535 − 8 − 20).</summary>
    public const int MaxDatagramLength = 65_507;

    /// <summary>
    /// Validates the whole framing of <paramref name="packet"/>: the header is complete, every message
    /// block fits and the blocks fill the packet exactly. A packet that fails is rejected whole (so that
    /// the other line, or the gap logic, supplies its sequence numbers), never half-applied.
    /// </summary>
    /// <returns>True with the header; false with <see cref="RejectReason.TruncatedFrame"/> (the packet ends
    /// inside its header or a block) or <see cref="RejectReason.LengthMismatch"/> (bytes left after the
    /// announced blocks, or a heartbeat with a body).</returns>
    public static bool TryParse(ReadOnlySpan<byte> packet, out MoldUdp64Header header, out RejectReason reason)
    {
        if (packet.Length < HeaderLength)
        {
            header = default;
            reason = RejectReason.TruncatedFrame;
            return false;
        }

        var session = MoldUdp64Session.Read(packet);
        ulong sequence = BinaryPrimitives.ReadUInt64BigEndian(packet[SessionLength..]);
        int count = BinaryPrimitives.ReadUInt16BigEndian(packet[(SessionLength + 8)..]);
        MoldUdp64PacketKind kind = count switch
        {
            0 => MoldUdp64PacketKind.Heartbeat,
            EndOfSessionCount => MoldUdp64PacketKind.EndOfSession,
            _ => MoldUdp64PacketKind.Data,
        };

        // Sequence numbers beyond 2^62 are not a real session; refusing them keeps all arithmetic in range.
        if (sequence > long.MaxValue >> 1)
        {
            header = default;
            reason = RejectReason.InvalidField;
            return false;
        }

        header = new MoldUdp64Header(session, (long)sequence, kind == MoldUdp64PacketKind.Data ? count : 0, kind);
        if (kind != MoldUdp64PacketKind.Data)
        {
            reason = RejectReason.LengthMismatch;
            return packet.Length == HeaderLength;
        }

        int position = HeaderLength;
        for (int i = 0; i < count; i++)
        {
            if (packet.Length - position < 2)
            {
                reason = RejectReason.TruncatedFrame;
                return false;
            }

            int length = BinaryPrimitives.ReadUInt16BigEndian(packet[position..]);
            position += 2;
            if (packet.Length - position < length)
            {
                reason = RejectReason.TruncatedFrame;
                return false;
            }

            position += length;
        }

        reason = RejectReason.LengthMismatch;
        return position == packet.Length;
    }
}

/// <summary>
/// Walks the message blocks of a packet that passed <see cref="MoldUdp64.TryParse"/>, handing out each
/// message as a slice (no copy).
/// </summary>
public ref struct MoldUdp64BlockReader
{
    private readonly ReadOnlySpan<byte> _packet;
    private int _position;

    /// <summary>Reads the blocks of <paramref name="validatedPacket"/>.</summary>
    public MoldUdp64BlockReader(ReadOnlySpan<byte> validatedPacket)
    {
        _packet = validatedPacket;
        _position = MoldUdp64.HeaderLength;
    }

    /// <summary>The next message; false after the last.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Next(out ReadOnlySpan<byte> message)
    {
        if (_position >= _packet.Length)
        {
            message = default;
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(_packet[_position..]);
        message = _packet.Slice(_position + 2, length);
        _position += 2 + length;
        return true;
    }
}
