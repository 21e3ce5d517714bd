using System.Buffers;
using System.Buffers.Binary;

namespace FeedHandlers.Pcap;

/// <summary>
/// Writes UDP datagrams as Ethernet/IPv4/UDP frames into a classic pcap (µs timestamps) or a pcapng
/// capture, in memory. For tests, fuzz seeds and tools; not a hot path.
/// </summary>
public sealed class PcapWriter
{
    private readonly ArrayBufferWriter<byte> _stream = new(1 << 16);
    private readonly bool _pcapng;

    /// <summary>Starts a capture (link type Ethernet).</summary>
    public PcapWriter(bool pcapng = false)
    {
        _pcapng = pcapng;
        Span<byte> b = stackalloc byte[28];
        if (pcapng)
        {
            // Section header block (no options), then one Ethernet interface with ns resolution.
            BinaryPrimitives.WriteUInt32LittleEndian(b, 0x0A0D0D0A);
            BinaryPrimitives.WriteUInt32LittleEndian(b[4..], 28);
            BinaryPrimitives.WriteUInt32LittleEndian(b[8..], 0x1A2B3C4D);
            BinaryPrimitives.WriteUInt16LittleEndian(b[12..], 1);
            BinaryPrimitives.WriteUInt16LittleEndian(b[14..], 0);
            BinaryPrimitives.WriteInt64LittleEndian(b[16..], -1);
            BinaryPrimitives.WriteUInt32LittleEndian(b[24..], 28);
            _stream.Write(b);
            Span<byte> idb = stackalloc byte[28];
            BinaryPrimitives.WriteUInt32LittleEndian(idb, 1);
            BinaryPrimitives.WriteUInt32LittleEndian(idb[4..], 28);
            BinaryPrimitives.WriteUInt16LittleEndian(idb[8..], 1);
            BinaryPrimitives.WriteUInt32LittleEndian(idb[12..], 65535);
            BinaryPrimitives.WriteUInt16LittleEndian(idb[16..], 9);
            BinaryPrimitives.WriteUInt16LittleEndian(idb[18..], 1);
            idb[20] = 9;
            BinaryPrimitives.WriteUInt32LittleEndian(idb[24..], 28);
            _stream.Write(idb);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b, 0xA1B2C3D4);
            BinaryPrimitives.WriteUInt16LittleEndian(b[4..], 2);
            BinaryPrimitives.WriteUInt16LittleEndian(b[6..], 4);
            BinaryPrimitives.WriteUInt32LittleEndian(b[16..], 65535);
            BinaryPrimitives.WriteUInt32LittleEndian(b[20..], 1);
            _stream.Write(b[..24]);
        }
    }

    /// <summary>The capture so far.</summary>
    public byte[] ToArray() => _stream.WrittenSpan.ToArray();

    /// <summary>Appends a UDP datagram to <paramref name="port"/> captured at <paramref name="timestampNs"/> (epoch ns).</summary>
    public void Udp(long timestampNs, ushort port, ReadOnlySpan<byte> payload)
    {
        int frameLength = 14 + 20 + 8 + payload.Length;
        var frame = new byte[frameLength];
        Span<byte> f = frame;
        f[..6].Fill(0x01);
        f[6..12].Fill(0x02);
        BinaryPrimitives.WriteUInt16BigEndian(f[12..], 0x0800);
        Span<byte> ip = f[14..];
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload.Length));
        ip[8] = 64;
        ip[9] = 17;
        ip[12] = 10;
        ip[15] = 1;
        ip[16] = 233;
        ip[19] = 1;
        Span<byte> udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 10_000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], port);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload.Length));
        payload.CopyTo(udp[8..]);
        Frame(timestampNs, frame);
    }

    /// <summary>Appends a raw Ethernet frame.</summary>
    public void Frame(long timestampNs, ReadOnlySpan<byte> frame)
    {
        if (_pcapng)
        {
            int padded = (frame.Length + 3) & ~3;
            int length = 32 + padded;
            Span<byte> h = stackalloc byte[28];
            BinaryPrimitives.WriteUInt32LittleEndian(h, 6);
            BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)length);
            BinaryPrimitives.WriteUInt32LittleEndian(h[8..], 0);
            BinaryPrimitives.WriteUInt32LittleEndian(h[12..], (uint)((ulong)timestampNs >> 32));
            BinaryPrimitives.WriteUInt32LittleEndian(h[16..], (uint)timestampNs);
            BinaryPrimitives.WriteUInt32LittleEndian(h[20..], (uint)frame.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(h[24..], (uint)frame.Length);
            _stream.Write(h);
            _stream.Write(frame);
            _stream.Write(new byte[padded - frame.Length]);
            Span<byte> t = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(t, (uint)length);
            _stream.Write(t);
        }
        else
        {
            Span<byte> h = stackalloc byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(h, (uint)(timestampNs / 1_000_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)(timestampNs % 1_000_000_000 / 1_000));
            BinaryPrimitives.WriteUInt32LittleEndian(h[8..], (uint)frame.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(h[12..], (uint)frame.Length);
            _stream.Write(h);
            _stream.Write(frame);
        }
    }
}
