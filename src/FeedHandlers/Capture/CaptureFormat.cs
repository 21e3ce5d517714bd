using System.Buffers.Binary;
using MemoryPack;

namespace FeedHandlers.Capture;

/// <summary>What the records of a capture hold.</summary>
public enum CaptureProtocol : byte
{
    /// <summary>Not set.</summary>
    Unknown = 0,

    /// <summary>Each record is one MoldUDP64 datagram as received (carrying ITCH 5.0 messages), with its line and receive timestamp.</summary>
    MoldUdp64Itch50 = 1,
}

/// <summary>An instrument named by a capture: id (ITCH stock locate) and symbol.</summary>
[MemoryPackable]
public sealed partial record CaptureInstrument(int Id, string Symbol);

/// <summary>
/// The header of an engine capture: what was recorded, from where, when, and the instruments known when
/// recording started. Serialized with MemoryPack in its version-tolerant form, so later format versions
/// can add members without breaking readers of this one.
/// </summary>
[MemoryPackable(GenerateType.VersionTolerant)]
public sealed partial class CaptureHeader
{
    /// <summary>What the records hold.</summary>
    [MemoryPackOrder(0)]
    public CaptureProtocol Protocol { get; set; }

    /// <summary>Free text: what was recorded (e.g. the command line's endpoints).</summary>
    [MemoryPackOrder(1)]
    public string Source { get; set; } = "";

    /// <summary>The endpoint of each line, by line index (0 = A).</summary>
    [MemoryPackOrder(2)]
    public string[] Lines { get; set; } = [];

    /// <summary>Wall-clock time the recording started, ns since the Unix epoch (UTC).</summary>
    [MemoryPackOrder(3)]
    public long StartedUnixNs { get; set; }

    /// <summary>The recording process's monotonic clock (the records' receive-timestamp clock) at <see cref="StartedUnixNs"/>: maps receive timestamps to wall time.</summary>
    [MemoryPackOrder(4)]
    public long StartedMonotonicNs { get; set; }

    /// <summary>Instruments known up front (may be empty; the summary at the end lists those seen in the stream).</summary>
    [MemoryPackOrder(5)]
    public CaptureInstrument[] Instruments { get; set; } = [];

    /// <summary>The program that wrote the capture.</summary>
    [MemoryPackOrder(6)]
    public string Writer { get; set; } = "";
}

/// <summary>
/// The last chunk of a capture that was closed cleanly: counts and what the recorder learned from the
/// stream (session, sequence range, gaps, instruments from reference data). MemoryPack, version tolerant.
/// </summary>
[MemoryPackable(GenerateType.VersionTolerant)]
public sealed partial class CaptureSummary
{
    /// <summary>Records written.</summary>
    [MemoryPackOrder(0)]
    public long Records { get; set; }

    /// <summary>Record chunks written.</summary>
    [MemoryPackOrder(1)]
    public long Chunks { get; set; }

    /// <summary>Records the writer dropped because the disk fell behind (drop policy only).</summary>
    [MemoryPackOrder(2)]
    public long DroppedRecords { get; set; }

    /// <summary>The MoldUDP64 session, when known.</summary>
    [MemoryPackOrder(3)]
    public string Session { get; set; } = "";

    /// <summary>The next sequence number after the last delivered message.</summary>
    [MemoryPackOrder(4)]
    public long NextSequence { get; set; }

    /// <summary>Gaps no line filled, while recording.</summary>
    [MemoryPackOrder(5)]
    public long Gaps { get; set; }

    /// <summary>Sequence numbers missing, all gaps.</summary>
    [MemoryPackOrder(6)]
    public long MissedMessages { get; set; }

    /// <summary>Instruments defined by the stream's reference data (ITCH stock directory).</summary>
    [MemoryPackOrder(7)]
    public CaptureInstrument[] Instruments { get; set; } = [];

    /// <summary>True when the session's end-of-session packet was recorded.</summary>
    [MemoryPackOrder(8)]
    public bool EndOfSession { get; set; }
}

/// <summary>Kinds of chunk.</summary>
public enum CaptureChunkKind : ushort
{
    /// <summary>Records (received datagrams).</summary>
    Records = 1,

    /// <summary>A MemoryPack <see cref="CaptureSummary"/>; the last chunk of a cleanly closed capture.</summary>
    Summary = 2,
}

/// <summary>
/// The engine capture format, version 1 (all integers little-endian):
/// <code>
/// file     = preamble header-bytes header-crc chunk*
/// preamble = magic[8] = 89 'E' 'N' 'G' 'C' 'A' 'P' 0A | version u16 = 1 | reserved u16 = 0 | header-length u32
/// header   = header-length bytes: a MemoryPack CaptureHeader (version tolerant) | header-crc u32 = CRC-32C of those bytes
/// chunk    = magic "CHNK" | kind u16 | reserved u16 | payload-length u32 | record-count u32 | chunk-index u64
///            | payload-crc u32 (CRC-32C of the payload) | header-crc u32 (CRC-32C of the 28 bytes before it) | payload
/// payload  = record* (kind Records) or a MemoryPack CaptureSummary (kind Summary)
/// record   = receive-timestamp-ns i64 | line u8 | flags u8 (1 = cut by the receive buffer) | length u16 | bytes
/// </code>
/// A reader checks the chunk header's CRC before trusting its length, and the payload's CRC before
/// reading a record; on a failure it reports the chunk and scans forward for the next chunk magic
/// whose header checks out.
/// </summary>
public static class CaptureFormat
{
    /// <summary>Format version written and read.</summary>
    public const ushort Version = 1;

    /// <summary>Bytes of the fixed preamble.</summary>
    public const int PreambleLength = 16;

    /// <summary>Bytes of a chunk header.</summary>
    public const int ChunkHeaderLength = 32;

    /// <summary>Bytes of a record header.</summary>
    public const int RecordHeaderLength = 12;

    /// <summary>The chunk magic, "CHNK" read as a little-endian u32.</summary>
    public const uint ChunkMagic = 0x4B4E4843;

    /// <summary>Record flag: the datagram was longer than the receive buffer and is cut.</summary>
    public const byte FlagTruncated = 1;

    /// <summary>Largest payload a reader accepts (a corrupted length above it is a corrupted header).</summary>
    public const int MaxPayloadLength = 64 << 20;

    private static ReadOnlySpan<byte> MagicBytes => [0x89, (byte)'E', (byte)'N', (byte)'G', (byte)'C', (byte)'A', (byte)'P', 0x0A];

    /// <summary>True when <paramref name="start"/> (the first bytes of a file) begins with the capture magic.</summary>
    public static bool IsCapture(ReadOnlySpan<byte> start) => start.StartsWith(MagicBytes);

    /// <summary>True when the file at <paramref name="path"/> is an engine capture (else, e.g., ITCH BinaryFILE). Reads 8 bytes (decompressing a .gz).</summary>
    public static bool IsCaptureFile(string path)
    {
        using Stream stream = CaptureFile.OpenRead(path);
        Span<byte> start = stackalloc byte[8];
        return stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false) == start.Length && IsCapture(start);
    }

    internal static void WritePreamble(Span<byte> destination, int headerLength)
    {
        MagicBytes.CopyTo(destination);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[10..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], headerLength);
    }

    internal static void WriteChunkHeader(Span<byte> destination, CaptureChunkKind kind, ReadOnlySpan<byte> payload, int records, long index)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, ChunkMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], (ushort)kind);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], payload.Length);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], records);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], index);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[24..], Crc32C.Compute(payload));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[28..], Crc32C.Compute(destination[..28]));
    }

    internal static void WriteRecordHeader(Span<byte> destination, long receivedNs, int line, byte flags, int length)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination, receivedNs);
        destination[8] = (byte)line;
        destination[9] = flags;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[10..], (ushort)length);
    }
}
