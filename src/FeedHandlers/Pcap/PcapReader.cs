using System.Buffers.Binary;

namespace FeedHandlers.Pcap;

/// <summary>What <see cref="PcapReader.Next"/> found.</summary>
public enum PcapStatus
{
    /// <summary>A captured packet: see the out parameter.</summary>
    Packet,

    /// <summary>A pcapng block that carries no packet (section header, interface description, statistics, ...), consumed.</summary>
    Skipped,

    /// <summary>The file ends inside a record (its header announces more bytes than are left); the rest of the file was consumed.</summary>
    Truncated,

    /// <summary>A record header that cannot be right (a length beyond any snapshot length, a pcapng block length that is not a multiple of 4); the rest of the file was consumed, since there is no way to find the next record.</summary>
    Corrupt,

    /// <summary>No input left.</summary>
    End,
}

/// <summary>One captured frame, a view into the capture (valid while the capture's bytes are).</summary>
public readonly ref struct PcapPacket
{
    /// <summary>Creates a packet view.</summary>
    public PcapPacket(ReadOnlySpan<byte> data, long timestampNs, int linkType, int originalLength)
    {
        Data = data;
        TimestampNs = timestampNs;
        LinkType = linkType;
        OriginalLength = originalLength;
    }

    /// <summary>The captured bytes (possibly fewer than <see cref="OriginalLength"/> when the capture's snapshot length cut the frame).</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>Capture timestamp, ns since the Unix epoch.</summary>
    public long TimestampNs { get; }

    /// <summary>The link-layer type (1 Ethernet, 113 Linux cooked, 101/228 raw IPv4).</summary>
    public int LinkType { get; }

    /// <summary>The frame's length on the wire.</summary>
    public int OriginalLength { get; }
}

/// <summary>
/// Reads packet captures held in memory: classic libpcap (both byte orders, µs or ns timestamps) and
/// pcapng (section header, interface description, enhanced and simple packet blocks; other blocks
/// are skipped; several sections and interfaces, each interface's link type and timestamp
/// resolution honoured). Hands out each frame as a slice: no copy, no allocation per record.
/// </summary>
/// <remarks>Single-threaded. A capture cut short ends with <see cref="PcapStatus.Truncated"/>; nothing throws for bad input.</remarks>
public sealed class PcapReader
{
    /// <summary>The largest record accepted (larger ones are <see cref="PcapStatus.Corrupt"/>): 256 KiB, libpcap's own limit.</summary>
    public const int MaxRecordLength = 256 * 1024;

    private const int MaxInterfaces = 64;
    private const uint ShbType = 0x0A0D0D0A;
    private readonly ReadOnlyMemory<byte> _data;
    private readonly int[] _linkTypes = new int[MaxInterfaces];
    private readonly long[] _ticksPerSecond = new long[MaxInterfaces];
    private readonly bool _pcapng;
    private bool _bigEndian;
    private readonly bool _nanoseconds;
    private readonly int _linkType;
    private int _interfaces;
    private int _position;

    private PcapReader(ReadOnlyMemory<byte> data, bool pcapng, bool bigEndian, bool nanoseconds, int linkType, int position)
    {
        _data = data;
        _pcapng = pcapng;
        _bigEndian = bigEndian;
        _nanoseconds = nanoseconds;
        _linkType = linkType;
        _position = position;
    }

    /// <summary>True for pcapng, false for classic pcap.</summary>
    public bool IsPcapNg => _pcapng;

    /// <summary>Bytes consumed so far.</summary>
    public int Position => _position;

    /// <summary>
    /// Recognizes the capture format from its first bytes. False, with a message saying why, when
    /// <paramref name="data"/> is neither pcap nor pcapng.
    /// </summary>
    public static bool TryOpen(ReadOnlyMemory<byte> data, out PcapReader reader, out string error)
    {
        ReadOnlySpan<byte> span = data.Span;
        reader = null!;
        if (span.Length < 4)
        {
            error = $"A capture of {span.Length} bytes has no pcap or pcapng header.";
            return false;
        }

        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(span);
        if (magic == ShbType)
        {
            reader = new PcapReader(data, pcapng: true, bigEndian: false, nanoseconds: false, linkType: 0, position: 0);
            error = string.Empty;
            return true;
        }

        (bool known, bool bigEndian, bool nanoseconds) = magic switch
        {
            0xA1B2C3D4 => (true, false, false),
            0xD4C3B2A1 => (true, true, false),
            0xA1B23C4D => (true, false, true),
            0x4D3CB2A1 => (true, true, true),
            _ => (false, false, false),
        };
        if (!known)
        {
            error = $"Magic 0x{magic:X8} is neither pcap (a1b2c3d4, a1b23c4d in either byte order) nor pcapng (0a0d0d0a).";
            return false;
        }

        if (span.Length < 24)
        {
            error = $"A pcap file header has 24 bytes; the capture has {span.Length}.";
            return false;
        }

        int linkType = (int)(Read32(span, 20, bigEndian) & 0x0FFF_FFFF);
        reader = new PcapReader(data, pcapng: false, bigEndian, nanoseconds, linkType, position: 24);
        error = string.Empty;
        return true;
    }

    /// <summary>Reads the next record.</summary>
    public PcapStatus Next(out PcapPacket packet)
    {
        packet = default;
        ReadOnlySpan<byte> data = _data.Span;
        if (_position >= data.Length)
        {
            return PcapStatus.End;
        }

        return _pcapng ? NextBlock(data, out packet) : NextRecord(data, out packet);
    }

    private PcapStatus NextRecord(ReadOnlySpan<byte> data, out PcapPacket packet)
    {
        packet = default;
        int remaining = data.Length - _position;
        if (remaining < 16)
        {
            return Finish(PcapStatus.Truncated, data);
        }

        ReadOnlySpan<byte> header = data.Slice(_position, 16);
        uint seconds = Read32(header, 0, _bigEndian);
        uint fraction = Read32(header, 4, _bigEndian);
        uint captured = Read32(header, 8, _bigEndian);
        uint original = Read32(header, 12, _bigEndian);
        if (captured > MaxRecordLength)
        {
            return Finish(PcapStatus.Corrupt, data);
        }

        if (captured > remaining - 16)
        {
            return Finish(PcapStatus.Truncated, data);
        }

        long ns = (seconds * 1_000_000_000L) + (_nanoseconds ? fraction : fraction * 1_000L);
        packet = new PcapPacket(data.Slice(_position + 16, (int)captured), ns, _linkType, (int)Math.Min(original, int.MaxValue));
        _position += 16 + (int)captured;
        return PcapStatus.Packet;
    }

    private PcapStatus NextBlock(ReadOnlySpan<byte> data, out PcapPacket packet)
    {
        packet = default;
        int remaining = data.Length - _position;
        if (remaining < 12)
        {
            return Finish(PcapStatus.Truncated, data);
        }

        ReadOnlySpan<byte> head = data.Slice(_position, 12);
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(head);
        if (type == ShbType)
        {
            // The byte-order magic decides how this section (this block's length included) reads.
            uint order = BinaryPrimitives.ReadUInt32LittleEndian(head[8..]);
            if (order == 0x1A2B3C4D)
            {
                _bigEndian = false;
            }
            else if (order == 0x4D3C2B1A)
            {
                _bigEndian = true;
            }
            else
            {
                return Finish(PcapStatus.Corrupt, data);
            }

            _interfaces = 0;
        }
        else
        {
            type = Read32(head, 0, _bigEndian);
        }

        uint length = Read32(head, 4, _bigEndian);
        if (length < 12 || (length & 3) != 0 || length > MaxRecordLength + 64)
        {
            return Finish(PcapStatus.Corrupt, data);
        }

        if (length > remaining)
        {
            return Finish(PcapStatus.Truncated, data);
        }

        ReadOnlySpan<byte> block = data.Slice(_position, (int)length);
        if (Read32(block, (int)length - 4, _bigEndian) != length)
        {
            return Finish(PcapStatus.Corrupt, data);
        }

        _position += (int)length;
        ReadOnlySpan<byte> body = block[8..^4];
        switch (type)
        {
            case 1:
                return InterfaceDescription(body);
            case 6:
                return EnhancedPacket(body, out packet);
            case 3:
                if (_interfaces == 0 || body.Length < 4)
                {
                    return PcapStatus.Skipped;
                }

                uint wire = Read32(body, 0, _bigEndian);
                int captured = (int)Math.Min(wire, (uint)(body.Length - 4));
                packet = new PcapPacket(body.Slice(4, captured), 0, _linkTypes[0], (int)Math.Min(wire, int.MaxValue));
                return PcapStatus.Packet;
            default:
                return PcapStatus.Skipped;
        }
    }

    private PcapStatus InterfaceDescription(ReadOnlySpan<byte> body)
    {
        if (body.Length < 8 || _interfaces == MaxInterfaces)
        {
            return PcapStatus.Skipped;
        }

        int index = _interfaces++;
        _linkTypes[index] = Read16(body, 0, _bigEndian);
        _ticksPerSecond[index] = 1_000_000;
        ReadOnlySpan<byte> options = body[8..];
        while (options.Length >= 4)
        {
            int code = Read16(options, 0, _bigEndian);
            int size = Read16(options, 2, _bigEndian);
            if (code == 0 || size > options.Length - 4)
            {
                break;
            }

            if (code == 9 && size >= 1)
            {
                // if_tsresol: 10^-v, or 2^-v when the top bit is set.
                byte v = options[4];
                int exponent = v & 0x7F;
                bool binary = (v & 0x80) != 0;
                if ((binary && exponent <= 62) || (!binary && exponent <= 18))
                {
                    _ticksPerSecond[index] = binary ? 1L << exponent : Pow10(exponent);
                }
            }

            options = options[Math.Min(options.Length, 4 + ((size + 3) & ~3))..];
        }

        return PcapStatus.Skipped;
    }

    private PcapStatus EnhancedPacket(ReadOnlySpan<byte> body, out PcapPacket packet)
    {
        packet = default;
        if (body.Length < 20)
        {
            return PcapStatus.Skipped;
        }

        uint iface = Read32(body, 0, _bigEndian);
        ulong stamp = ((ulong)Read32(body, 4, _bigEndian) << 32) | Read32(body, 8, _bigEndian);
        uint captured = Read32(body, 12, _bigEndian);
        uint original = Read32(body, 16, _bigEndian);
        if (iface >= (uint)_interfaces || captured > (uint)(body.Length - 20))
        {
            return PcapStatus.Skipped;
        }

        long perSecond = _ticksPerSecond[iface];
        long ns = perSecond == 1_000_000_000 ? (long)stamp
            : (long)((stamp / (ulong)perSecond * 1_000_000_000UL) + (stamp % (ulong)perSecond * 1_000_000_000UL / (ulong)perSecond));
        packet = new PcapPacket(body.Slice(20, (int)captured), ns, _linkTypes[iface], (int)Math.Min(original, int.MaxValue));
        return PcapStatus.Packet;
    }

    private PcapStatus Finish(PcapStatus status, ReadOnlySpan<byte> data)
    {
        _position = data.Length;
        return status;
    }

    private static long Pow10(int exponent)
    {
        long value = 1;
        for (int i = 0; i < exponent; i++)
        {
            value *= 10;
        }

        return value;
    }

    private static uint Read32(ReadOnlySpan<byte> s, int offset, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(s[offset..]) : BinaryPrimitives.ReadUInt32LittleEndian(s[offset..]);

    private static int Read16(ReadOnlySpan<byte> s, int offset, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(s[offset..]) : BinaryPrimitives.ReadUInt16LittleEndian(s[offset..]);
}
