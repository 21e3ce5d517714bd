using System.Buffers.Binary;
using FeedHandlers.Itch;

namespace FeedHandlers.MoldUdp;

/// <summary>
/// Builds MoldUDP64 downstream packets: the sender's side, for tools (<c>engine send</c>), tests and the
/// latency harness. Not a hot path of the engine, but allocation-free once built: packets are written
/// into the writer's own buffer and handed out as a span valid until the next call.
/// </summary>
public sealed class MoldUdp64PacketWriter
{
    private readonly byte[] _buffer;
    private readonly MoldUdp64Session _session;
    private int _length;
    private int _count;
    private long _sequence;

    /// <summary>A writer for <paramref name="session"/> whose packets hold at most <paramref name="maxPacketBytes"/> bytes.</summary>
    public MoldUdp64PacketWriter(MoldUdp64Session session, int maxPacketBytes = 1400)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPacketBytes, MoldUdp64.HeaderLength + 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxPacketBytes, MoldUdp64.MaxDatagramLength);
        _session = session;
        _buffer = new byte[maxPacketBytes];
        Begin(1);
    }

    /// <summary>Messages in the packet being built.</summary>
    public int Count => _count;

    /// <summary>Sequence number of the packet's first message.</summary>
    public long Sequence => _sequence;

    /// <summary>The packet built so far (header included); valid until the next call.</summary>
    public ReadOnlySpan<byte> Packet => _buffer.AsSpan(0, _length);

    /// <summary>Starts a data packet whose first message has <paramref name="sequence"/>.</summary>
    public void Begin(long sequence)
    {
        _sequence = sequence;
        _count = 0;
        _length = MoldUdp64.HeaderLength;
        WriteHeader(_buffer, _session, sequence, 0);
    }

    /// <summary>Appends a message block; false (nothing written) when it would not fit or the packet holds 65,534 messages.</summary>
    public bool TryAdd(ReadOnlySpan<byte> message)
    {
        if (_length + 2 + message.Length > _buffer.Length || _count == MoldUdp64.EndOfSessionCount - 1 || message.Length > ushort.MaxValue)
        {
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(_length), (ushort)message.Length);
        message.CopyTo(_buffer.AsSpan(_length + 2));
        _length += 2 + message.Length;
        _count++;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(MoldUdp64.SessionLength + 8), (ushort)_count);
        return true;
    }

    /// <summary>Writes a heartbeat (count 0) announcing <paramref name="nextSequence"/> into <paramref name="destination"/>; returns its length.</summary>
    public static int WriteHeartbeat(Span<byte> destination, MoldUdp64Session session, long nextSequence) =>
        WriteHeader(destination, session, nextSequence, 0);

    /// <summary>Writes an end-of-session packet (count 0xFFFF) into <paramref name="destination"/>; returns its length.</summary>
    public static int WriteEndOfSession(Span<byte> destination, MoldUdp64Session session, long nextSequence) =>
        WriteHeader(destination, session, nextSequence, MoldUdp64.EndOfSessionCount);

    /// <summary>
    /// Cuts an ITCH 5.0 BinaryFILE capture into MoldUDP64 packets of at most <paramref name="maxPacketBytes"/>
    /// bytes and <paramref name="maxMessagesPerPacket"/> messages, sequence numbers from 1, and appends
    /// an end-of-session packet. Frames that BinaryFILE cannot split end the capture. Allocates: tools and tests.
    /// </summary>
    public static List<byte[]> Packetize(ReadOnlySpan<byte> binaryFile, MoldUdp64Session session, int maxPacketBytes = 1400, int maxMessagesPerPacket = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessagesPerPacket, 1);
        var packets = new List<byte[]>();
        var writer = new MoldUdp64PacketWriter(session, maxPacketBytes);
        var frames = new BinaryFileFrameReader(binaryFile);
        long next = 1;
        FrameStatus status;
        while ((status = frames.Next(out ReadOnlySpan<byte> message)) is FrameStatus.Message or FrameStatus.EmptyFrame)
        {
            if (writer.Count == maxMessagesPerPacket || !writer.TryAdd(message))
            {
                if (writer.Count == 0)
                {
                    throw new ArgumentOutOfRangeException(nameof(maxPacketBytes), maxPacketBytes, $"A {message.Length}-byte message does not fit a packet.");
                }

                packets.Add(writer.Packet.ToArray());
                next += writer.Count;
                writer.Begin(next);
                writer.TryAdd(message);
            }
        }

        if (writer.Count > 0)
        {
            packets.Add(writer.Packet.ToArray());
            next += writer.Count;
        }

        byte[] end = new byte[MoldUdp64.HeaderLength];
        WriteEndOfSession(end, session, next);
        packets.Add(end);
        return packets;
    }

    private static int WriteHeader(Span<byte> destination, MoldUdp64Session session, long sequence, int count)
    {
        session.Write(destination);
        BinaryPrimitives.WriteUInt64BigEndian(destination[MoldUdp64.SessionLength..], (ulong)sequence);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(MoldUdp64.SessionLength + 8)..], (ushort)count);
        return MoldUdp64.HeaderLength;
    }
}
