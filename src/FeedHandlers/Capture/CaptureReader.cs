using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using MemoryPack;

namespace FeedHandlers.Capture;

/// <summary>A file that is not an engine capture, of a version this reader does not know, or whose header is damaged.</summary>
public sealed class CaptureFormatException : IOException
{
    /// <summary>Creates the exception.</summary>
    public CaptureFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public CaptureFormatException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public CaptureFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>What <see cref="CaptureReader.Next"/> found.</summary>
public enum CaptureReadStatus
{
    /// <summary>A chunk whose header and payload CRCs check out.</summary>
    Chunk,

    /// <summary>Damaged bytes (see <see cref="CaptureReader.LastCorruption"/>); the reader has moved on to the next chunk it can trust.</summary>
    Corrupt,

    /// <summary>The end of the capture.</summary>
    End,
}

/// <summary>How a stretch of a capture was damaged.</summary>
public enum CaptureCorruption
{
    /// <summary>No damage.</summary>
    None,

    /// <summary>Bytes where a chunk header should be that are not one (wrong magic, or the header's CRC fails): skipped up to the next valid chunk header.</summary>
    ChunkHeader,

    /// <summary>A chunk whose payload does not match its CRC: skipped whole (its header's length is trusted, its header CRC having passed).</summary>
    PayloadChecksum,

    /// <summary>The file ends inside a chunk (a recording cut short).</summary>
    Truncated,

    /// <summary>A summary chunk that MemoryPack could not read.</summary>
    Summary,
}

/// <summary>A chunk handed out by <see cref="CaptureReader.Next"/>; its payload is valid until the next call.</summary>
public readonly ref struct CaptureChunk
{
    internal CaptureChunk(CaptureChunkKind kind, long index, int recordCount, long offset, ReadOnlySpan<byte> payload)
    {
        Kind = kind;
        Index = index;
        RecordCount = recordCount;
        Offset = offset;
        Payload = payload;
    }

    /// <summary>Records or summary.</summary>
    public CaptureChunkKind Kind { get; }

    /// <summary>The writer's chunk index (0-based; a gap in indices means chunks were lost).</summary>
    public long Index { get; }

    /// <summary>Records the header announces.</summary>
    public int RecordCount { get; }

    /// <summary>File offset of the chunk header.</summary>
    public long Offset { get; }

    /// <summary>The payload bytes.</summary>
    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>The records of a <see cref="CaptureChunkKind.Records"/> chunk.</summary>
    public CaptureRecordReader Records => new(Payload);
}

/// <summary>One record: a datagram as received.</summary>
public readonly ref struct CaptureRecord
{
    internal CaptureRecord(long receivedNs, int line, bool truncated, ReadOnlySpan<byte> data)
    {
        ReceivedNs = receivedNs;
        Line = line;
        Truncated = truncated;
        Data = data;
    }

    /// <summary>Receive timestamp on the recording process's monotonic clock, ns.</summary>
    public long ReceivedNs { get; }

    /// <summary>Line index (0 = A).</summary>
    public int Line { get; }

    /// <summary>True when the datagram was longer than the receive buffer and is cut.</summary>
    public bool Truncated { get; }

    /// <summary>The bytes.</summary>
    public ReadOnlySpan<byte> Data { get; }
}

/// <summary>Walks the records of a payload whose CRC passed; a record that overruns the payload ends the walk with <see cref="Malformed"/> set.</summary>
public ref struct CaptureRecordReader
{
    private readonly ReadOnlySpan<byte> _payload;
    private int _position;

    internal CaptureRecordReader(ReadOnlySpan<byte> payload)
    {
        _payload = payload;
        _position = 0;
        Malformed = false;
    }

    /// <summary>True when the payload held bytes that do not form a record (a writer bug: the CRC passed).</summary>
    public bool Malformed { get; private set; }

    /// <summary>The next record; false at the end (or at a malformed record).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Next(out CaptureRecord record)
    {
        int remaining = _payload.Length - _position;
        if (remaining >= CaptureFormat.RecordHeaderLength)
        {
            ReadOnlySpan<byte> header = _payload.Slice(_position, CaptureFormat.RecordHeaderLength);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(header[10..]);
            if (length <= remaining - CaptureFormat.RecordHeaderLength)
            {
                record = new CaptureRecord(BinaryPrimitives.ReadInt64LittleEndian(header), header[8], (header[9] & CaptureFormat.FlagTruncated) != 0,
                    _payload.Slice(_position + CaptureFormat.RecordHeaderLength, length));
                _position += CaptureFormat.RecordHeaderLength + length;
                return true;
            }
        }

        Malformed |= remaining != 0;
        _position = _payload.Length;
        record = default;
        return false;
    }
}

/// <summary>
/// Reads the engine capture format (<see cref="CaptureFormat"/>) sequentially from any stream (a file,
/// a gzip stream, a socket) through a <see cref="PipeReader"/>: the header at construction, then one
/// chunk per <see cref="Next"/>, each checked against its CRCs. A damaged chunk is reported
/// (<see cref="CaptureReadStatus.Corrupt"/>, with what and where) and the reader resumes at the next
/// chunk whose header checks out.
/// </summary>
/// <remarks>
/// One thread. The chunk handed out points into the pipe's buffers (or, when it spans several, a
/// scratch buffer of the reader's) and is valid until the next call. Allocation per chunk is the
/// pipe's (pooled segments, and the stream's own reads), none per record. Throws
/// <see cref="CaptureFormatException"/> at construction when the stream is no capture.
/// </remarks>
public sealed class CaptureReader : IDisposable
{
    private readonly PipeReader _reader;
    // Sized for the default chunk up front, so a chunk that spans two pipe segments costs no large allocation mid-replay.
    private byte[] _scratch = new byte[1 << 19];
    private ReadOnlySequence<byte> _held;
    private long _heldConsume;
    private bool _holding;
    private long _offset;
    private bool _inCorruptRegion;
    private bool _ended;

    /// <summary>Reads the preamble and header from <paramref name="stream"/> (owned unless <paramref name="leaveOpen"/>).</summary>
    public CaptureReader(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 1 << 20, minimumReadSize: 1 << 16, leaveOpen: leaveOpen));
        try
        {
            Header = ReadHeader();
        }
        catch
        {
            _reader.Complete();
            throw;
        }
    }

    /// <summary>Opens the capture at <paramref name="path"/> (a <c>.gz</c> is decompressed on the fly).</summary>
    public static CaptureReader Open(string path) => new(CaptureFile.OpenRead(path));

    /// <summary>The capture's header.</summary>
    public CaptureHeader Header { get; }

    /// <summary>The summary chunk, once read (null for a capture that was not closed cleanly).</summary>
    public CaptureSummary? Summary { get; private set; }

    /// <summary>Valid chunks read.</summary>
    public long Chunks { get; private set; }

    /// <summary>Damaged stretches reported.</summary>
    public long CorruptChunks { get; private set; }

    /// <summary>Bytes skipped as damaged.</summary>
    public long SkippedBytes { get; private set; }

    /// <summary>What the last <see cref="CaptureReadStatus.Corrupt"/> was.</summary>
    public CaptureCorruption LastCorruption { get; private set; }

    /// <summary>File offset where the last damaged stretch began.</summary>
    public long LastCorruptionOffset { get; private set; }

    /// <summary>Reads the next chunk. See <see cref="CaptureReadStatus"/>.</summary>
    public CaptureReadStatus Next(out CaptureChunk chunk)
    {
        chunk = default;
        Release();
        Span<byte> header = stackalloc byte[CaptureFormat.ChunkHeaderLength];
        while (true)
        {
            if (_ended)
            {
                return CaptureReadStatus.End;
            }

            ReadResult result = ReadAtLeast(CaptureFormat.ChunkHeaderLength);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (buffer.Length < CaptureFormat.ChunkHeaderLength)
            {
                _reader.AdvanceTo(buffer.End);
                _ended = true;
                if (buffer.Length == 0)
                {
                    return CaptureReadStatus.End;
                }

                return Corrupt(CaptureCorruption.Truncated, _offset, buffer.Length);
            }

            buffer.Slice(0, CaptureFormat.ChunkHeaderLength).CopyTo(header);
            if (!ValidChunkHeader(header, out CaptureChunkKind kind, out int payloadLength, out int records, out long index, out uint payloadCrc))
            {
                long start = _offset;
                long skip = SkipToMagic(buffer);
                _reader.AdvanceTo(buffer.GetPosition(skip), buffer.End);
                _offset += skip;
                SkippedBytes += skip;
                if (!_inCorruptRegion)
                {
                    _inCorruptRegion = true;
                    CorruptChunks++;
                    LastCorruption = CaptureCorruption.ChunkHeader;
                    LastCorruptionOffset = start;
                    return CaptureReadStatus.Corrupt;
                }

                continue;
            }

            _inCorruptRegion = false;
            long total = CaptureFormat.ChunkHeaderLength + (long)payloadLength;
            if (buffer.Length < total)
            {
                _reader.AdvanceTo(buffer.Start, buffer.End);
                result = ReadAtLeast((int)total);
                buffer = result.Buffer;
                if (buffer.Length < total)
                {
                    _reader.AdvanceTo(buffer.End);
                    _ended = true;
                    return Corrupt(CaptureCorruption.Truncated, _offset, buffer.Length);
                }
            }

            ReadOnlySequence<byte> payloadBytes = buffer.Slice(CaptureFormat.ChunkHeaderLength, payloadLength);
            ReadOnlySpan<byte> payload = Contiguous(payloadBytes);
            long chunkOffset = _offset;
            if (Crc32C.Compute(payload) != payloadCrc)
            {
                return SkipChunk(CaptureCorruption.PayloadChecksum, buffer, total);
            }

            if (kind == CaptureChunkKind.Summary)
            {
                if (!CaptureMemoryPackCheck.IsSummary(payload))
                {
                    return SkipChunk(CaptureCorruption.Summary, buffer, total);
                }

                try
                {
                    Summary = MemoryPackSerializer.Deserialize<CaptureSummary>(payload);
                }
                catch (MemoryPackSerializationException)
                {
                    return SkipChunk(CaptureCorruption.Summary, buffer, total);
                }
            }

            // Keep the bytes until the next call: the chunk's payload points into them.
            _held = buffer;
            _heldConsume = total;
            _holding = true;
            _offset += total;
            Chunks++;
            chunk = new CaptureChunk(kind, index, records, chunkOffset, payload);
            return CaptureReadStatus.Chunk;
        }
    }

    /// <summary>Releases the pipe and (unless left open) the stream.</summary>
    public void Dispose()
    {
        Release();
        _reader.Complete();
    }

    private CaptureReadStatus Corrupt(CaptureCorruption what, long offset, long skipped)
    {
        CorruptChunks++;
        SkippedBytes += skipped;
        LastCorruption = what;
        LastCorruptionOffset = offset;
        return CaptureReadStatus.Corrupt;
    }

    // A chunk whose header checked out but whose payload cannot be used: consumed whole (its length is trusted) and reported.
    private CaptureReadStatus SkipChunk(CaptureCorruption what, ReadOnlySequence<byte> buffer, long total)
    {
        long chunkOffset = _offset;
        _reader.AdvanceTo(buffer.GetPosition(total));
        _offset += total;
        return Corrupt(what, chunkOffset, total);
    }

    private void Release()
    {
        if (_holding)
        {
            _reader.AdvanceTo(_held.GetPosition(_heldConsume));
            _holding = false;
        }
    }

    // Bytes to skip so the buffer starts at the next possible chunk magic (at least 1, so the reader moves).
    private static long SkipToMagic(ReadOnlySequence<byte> buffer)
    {
        ReadOnlySpan<byte> magic = "CHNK"u8;
        var reader = new SequenceReader<byte>(buffer);
        reader.Advance(1);
        while (reader.TryAdvanceTo(magic[0], advancePastDelimiter: false))
        {
            // A candidate, or a possible start of one cut by the end of what has been read so far.
            if (reader.Remaining < magic.Length || reader.IsNext(magic))
            {
                return reader.Consumed;
            }

            reader.Advance(1);
        }

        return buffer.Length;
    }

    private static bool ValidChunkHeader(ReadOnlySpan<byte> h, out CaptureChunkKind kind, out int payloadLength, out int records, out long index, out uint payloadCrc)
    {
        kind = (CaptureChunkKind)BinaryPrimitives.ReadUInt16LittleEndian(h[4..]);
        payloadLength = BinaryPrimitives.ReadInt32LittleEndian(h[8..]);
        records = BinaryPrimitives.ReadInt32LittleEndian(h[12..]);
        index = BinaryPrimitives.ReadInt64LittleEndian(h[16..]);
        payloadCrc = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
        return BinaryPrimitives.ReadUInt32LittleEndian(h) == CaptureFormat.ChunkMagic
            && BinaryPrimitives.ReadUInt32LittleEndian(h[28..]) == Crc32C.Compute(h[..28])
            && kind is CaptureChunkKind.Records or CaptureChunkKind.Summary
            && (uint)payloadLength <= CaptureFormat.MaxPayloadLength;
    }

    private ReadOnlySpan<byte> Contiguous(ReadOnlySequence<byte> bytes)
    {
        if (bytes.IsSingleSegment)
        {
            return bytes.FirstSpan;
        }

        if (_scratch.Length < bytes.Length)
        {
            _scratch = new byte[Math.Max(bytes.Length, _scratch.Length * 2)];
        }

        bytes.CopyTo(_scratch);
        return _scratch.AsSpan(0, (int)bytes.Length);
    }

    private CaptureHeader ReadHeader()
    {
        ReadResult result = ReadAtLeast(CaptureFormat.PreambleLength);
        ReadOnlySequence<byte> buffer = result.Buffer;
        Span<byte> preamble = stackalloc byte[CaptureFormat.PreambleLength];
        int have = (int)Math.Min(buffer.Length, CaptureFormat.PreambleLength);
        buffer.Slice(0, have).CopyTo(preamble);
        if (!CaptureFormat.IsCapture(preamble[..have]))
        {
            throw new CaptureFormatException("Not an engine capture: the file does not start with the capture magic (89 'ENGCAP' 0A).");
        }

        if (have < CaptureFormat.PreambleLength)
        {
            throw new CaptureFormatException($"Engine capture cut short: {buffer.Length} bytes, fewer than the {CaptureFormat.PreambleLength}-byte preamble.");
        }

        int version = BinaryPrimitives.ReadUInt16LittleEndian(preamble[8..]);
        if (version != CaptureFormat.Version)
        {
            throw new CaptureFormatException($"Engine capture version {version} is not supported (this reader reads version {CaptureFormat.Version}).");
        }

        int headerLength = BinaryPrimitives.ReadInt32LittleEndian(preamble[12..]);
        if ((uint)headerLength > CaptureFormat.MaxPayloadLength)
        {
            throw new CaptureFormatException($"Engine capture header length {headerLength} is out of range: the preamble is damaged.");
        }

        int total = CaptureFormat.PreambleLength + headerLength + 4;
        _reader.AdvanceTo(buffer.Start, buffer.End);
        buffer = ReadAtLeast(total).Buffer;
        if (buffer.Length < total)
        {
            throw new CaptureFormatException($"Engine capture ends inside its {headerLength}-byte header.");
        }

        ReadOnlySpan<byte> header = Contiguous(buffer.Slice(CaptureFormat.PreambleLength, headerLength));
        Span<byte> crcBytes = stackalloc byte[4];
        buffer.Slice(CaptureFormat.PreambleLength + headerLength, 4).CopyTo(crcBytes);
        if (BinaryPrimitives.ReadUInt32LittleEndian(crcBytes) != Crc32C.Compute(header))
        {
            throw new CaptureFormatException("Engine capture header is damaged: its CRC-32C does not match.");
        }

        // MemoryPack trusts the lengths inside: bytes that pass the CRC but lie about them must not reach it.
        if (!CaptureMemoryPackCheck.IsHeader(header))
        {
            throw new CaptureFormatException("Engine capture header could not be read: it is not a well-formed capture header (member, string or array lengths disagree with its bytes).");
        }

        CaptureHeader? parsed;
        try
        {
            parsed = MemoryPackSerializer.Deserialize<CaptureHeader>(header);
        }
        catch (MemoryPackSerializationException ex)
        {
            throw new CaptureFormatException($"Engine capture header could not be read: {ex.Message}", ex);
        }

        _reader.AdvanceTo(buffer.GetPosition(total));
        _offset = total;
        return parsed ?? throw new CaptureFormatException("Engine capture header is empty.");
    }

    // The pipe's reads are asynchronous; the replay thread wants them synchronous. Once per chunk.
    private ReadResult ReadAtLeast(int bytes)
    {
        ValueTask<ReadResult> read = _reader.ReadAtLeastAsync(bytes);
        return read.IsCompletedSuccessfully ? read.Result : read.AsTask().GetAwaiter().GetResult();
    }
}
