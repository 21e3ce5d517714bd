using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using MemoryPack;

namespace FeedHandlers.Capture;

/// <summary>What a <see cref="CaptureWriter"/> does when every chunk buffer is waiting for the disk.</summary>
public enum CaptureBackPressure
{
    /// <summary>Wait (spinning, then yielding) for the disk: nothing is lost; the caller slows down. For recorders and converters.</summary>
    Block,

    /// <summary>Drop the record and count it (<see cref="CaptureWriter.DroppedRecords"/>): a journal beside a live feed must never hold the feed up.</summary>
    Drop,
}

/// <summary>Sizing of a <see cref="CaptureWriter"/>.</summary>
public sealed record CaptureWriterOptions
{
    /// <summary>Payload bytes per chunk (a chunk is sealed, CRC'd and handed to the disk thread when the next record would not fit).</summary>
    public int ChunkBytes { get; init; } = 256 << 10;

    /// <summary>Chunk buffers: one being filled, the rest queued for or being written to disk.</summary>
    public int Buffers { get; init; } = 8;

    /// <summary>What to do when all buffers are queued.</summary>
    public CaptureBackPressure BackPressure { get; init; } = CaptureBackPressure.Block;
}

/// <summary>
/// Writes the engine capture format (<see cref="CaptureFormat"/>): the preamble and MemoryPack header at
/// construction, then records appended by one thread into preallocated chunk buffers. A full chunk is
/// sealed (CRC-32C of its payload and of its header) and handed, through a single-producer queue, to a
/// dedicated disk thread that writes it to the stream, so the appending thread never waits for I/O
/// (unless <see cref="CaptureBackPressure.Block"/> applies and the disk is behind).
/// </summary>
/// <remarks>
/// <see cref="Append"/> is allocation-free and must be called by one thread. <see cref="Complete"/>
/// (called by that same thread, or after it stopped) seals the last chunk, waits for the disk thread,
/// and writes the summary chunk. The writer owns the stream and closes it on <see cref="Dispose"/>.
/// </remarks>
public sealed class CaptureWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly CaptureWriterOptions _options;
    private readonly byte[][] _buffers;
    private readonly int[] _lengths;
    private readonly int[] _records;
    private readonly IndexQueue _full;
    private readonly IndexQueue _free;
    private readonly Thread _diskThread;
    private int _current = -1;
    private long _chunkIndex;
    private bool _completed;

    // Written by the appending thread (true at Complete), read by the disk thread: stop once drained.
    private volatile bool _closing;

    // Written by the disk thread when a write fails, read by the appending thread: rethrown at Complete.
    private volatile Exception? _diskError;

    /// <summary>Writes the preamble and <paramref name="header"/> to <paramref name="stream"/> (owned from here) and starts the disk thread.</summary>
    public CaptureWriter(Stream stream, CaptureHeader header, CaptureWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(header);
        _options = options ?? new CaptureWriterOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.ChunkBytes, CaptureFormat.RecordHeaderLength + ushort.MaxValue);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.ChunkBytes, CaptureFormat.MaxPayloadLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.Buffers, 2);
        _stream = stream;
        Header = header;

        byte[] headerBytes = MemoryPackSerializer.Serialize(header);
        Span<byte> preamble = stackalloc byte[CaptureFormat.PreambleLength];
        CaptureFormat.WritePreamble(preamble, headerBytes.Length);
        _stream.Write(preamble);
        _stream.Write(headerBytes);
        Span<byte> crc = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(crc, Crc32C.Compute(headerBytes));
        _stream.Write(crc);

        _buffers = new byte[_options.Buffers][];
        _lengths = new int[_options.Buffers];
        _records = new int[_options.Buffers];
        _full = new IndexQueue(_options.Buffers);
        _free = new IndexQueue(_options.Buffers);
        for (int i = 0; i < _buffers.Length; i++)
        {
            _buffers[i] = GC.AllocateUninitializedArray<byte>(CaptureFormat.ChunkHeaderLength + _options.ChunkBytes, pinned: true);
            _free.TryEnqueue(i);
        }

        _diskThread = new Thread(DiskLoop) { IsBackground = true, Name = "capture-disk" };
        _diskThread.Start();
    }

    /// <summary>The header written.</summary>
    public CaptureHeader Header { get; }

    /// <summary>Records appended (and kept).</summary>
    public long Records { get; private set; }

    /// <summary>Record chunks sealed.</summary>
    public long Chunks => _chunkIndex;

    /// <summary>Records dropped under <see cref="CaptureBackPressure.Drop"/> because every buffer was waiting for the disk.</summary>
    public long DroppedRecords { get; private set; }

    /// <summary>Times <see cref="Append"/> found every buffer queued (waited under Block, dropped under Drop).</summary>
    public long BackPressureEvents { get; private set; }

    /// <summary>
    /// Appends one record: <paramref name="data"/> received on <paramref name="line"/> at
    /// <paramref name="receivedNs"/>. False only when the record was dropped (Drop policy). Appending thread only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Append(int line, long receivedNs, ReadOnlySpan<byte> data, bool truncated = false)
    {
        if (data.Length > ushort.MaxValue)
        {
            ThrowTooLong(data.Length);
        }

        int need = CaptureFormat.RecordHeaderLength + data.Length;
        if (_current < 0 || CaptureFormat.ChunkHeaderLength + _lengths[_current] + need > _buffers[_current].Length)
        {
            if (!NextBuffer())
            {
                return false;
            }
        }

        int at = CaptureFormat.ChunkHeaderLength + _lengths[_current];
        Span<byte> record = _buffers[_current].AsSpan(at, need);
        CaptureFormat.WriteRecordHeader(record, receivedNs, line, truncated ? CaptureFormat.FlagTruncated : (byte)0, data.Length);
        data.CopyTo(record[CaptureFormat.RecordHeaderLength..]);
        _lengths[_current] += need;
        _records[_current]++;
        Records++;
        return true;
    }

    /// <summary>Seals the chunk being filled (if any) and hands it to the disk thread, so what was appended reaches the file soon. Appending thread only.</summary>
    public void Flush()
    {
        if (_current >= 0 && _records[_current] > 0)
        {
            Seal();
        }
    }

    /// <summary>
    /// Seals the last chunk, waits until every chunk is on disk, appends the summary chunk (filled
    /// with this writer's counts on top of <paramref name="summary"/>) and flushes the stream. Rethrows
    /// a disk error. Call once, from the appending thread or after it stopped.
    /// </summary>
    public void Complete(CaptureSummary? summary = null)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        Flush();
        _closing = true;
        _diskThread.Join();
        if (_diskError is { } error)
        {
            throw new IOException($"Writing the capture failed: {error.Message}", error);
        }

        summary ??= new CaptureSummary();
        summary.Records = Records;
        summary.Chunks = _chunkIndex;
        summary.DroppedRecords = DroppedRecords;
        byte[] payload = MemoryPackSerializer.Serialize(summary);
        Span<byte> chunkHeader = stackalloc byte[CaptureFormat.ChunkHeaderLength];
        CaptureFormat.WriteChunkHeader(chunkHeader, CaptureChunkKind.Summary, payload, 0, _chunkIndex);
        _stream.Write(chunkHeader);
        _stream.Write(payload);
        _stream.Flush();
    }

    /// <summary>Completes (without a caller's summary) if not done, and closes the stream.</summary>
    public void Dispose()
    {
        try
        {
            Complete();
        }
        finally
        {
            _stream.Dispose();
        }
    }

    [DoesNotReturn]
    private static void ThrowTooLong(int length) =>
        throw new ArgumentOutOfRangeException(nameof(length), length, $"A capture record holds at most {ushort.MaxValue} bytes.");

    private bool NextBuffer()
    {
        if (_current >= 0)
        {
            Seal();
        }

        if (_free.TryDequeue(out int index))
        {
            Take(index);
            return true;
        }

        return WaitForBuffer();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool WaitForBuffer()
    {
        BackPressureEvents++;
        if (_options.BackPressure == CaptureBackPressure.Drop)
        {
            DroppedRecords++;
            return false;
        }

        var spinner = default(SpinWait);
        int index;
        while (!_free.TryDequeue(out index))
        {
            if (_diskError is not null)
            {
                // The disk thread is gone; keep the feed alive and count what cannot be kept.
                DroppedRecords++;
                return false;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        Take(index);
        return true;
    }

    private void Take(int index)
    {
        _current = index;
        _lengths[index] = 0;
        _records[index] = 0;
    }

    private void Seal()
    {
        int index = _current;
        byte[] buffer = _buffers[index];
        CaptureFormat.WriteChunkHeader(buffer, CaptureChunkKind.Records, buffer.AsSpan(CaptureFormat.ChunkHeaderLength, _lengths[index]), _records[index], _chunkIndex++);

        // The full queue has room for every buffer, so this cannot fail.
        _full.TryEnqueue(index);
        _current = -1;
    }

    private void DiskLoop()
    {
        while (true)
        {
            if (_full.TryDequeue(out int index))
            {
                try
                {
                    _stream.Write(_buffers[index], 0, CaptureFormat.ChunkHeaderLength + _lengths[index]);
                }
                catch (IOException ex)
                {
                    _diskError = ex;
                    return;
                }

                _free.TryEnqueue(index);
                continue;
            }

            if (_closing)
            {
                return;
            }

            // The disk thread is off the critical path: a millisecond of sleep costs nothing but latency to disk.
            Thread.Sleep(1);
        }
    }

    /// <summary>A bounded single-producer, single-consumer queue of small integers (buffer indices).</summary>
    private sealed class IndexQueue
    {
        private readonly int[] _items;

        // _tail: written by the producer only, read by the consumer; _head: the reverse. Volatile
        // write/read give release/acquire: the item is stored before the index that publishes it.
        private long _head;
        private long _tail;

        public IndexQueue(int capacity) => _items = new int[capacity];

        public bool TryEnqueue(int item)
        {
            long tail = _tail;
            if (tail - Volatile.Read(ref _head) == _items.Length)
            {
                return false;
            }

            _items[tail % _items.Length] = item;
            Volatile.Write(ref _tail, tail + 1);
            return true;
        }

        public bool TryDequeue(out int item)
        {
            long head = _head;
            if (head == Volatile.Read(ref _tail))
            {
                item = -1;
                return false;
            }

            item = _items[head % _items.Length];
            Volatile.Write(ref _head, head + 1);
            return true;
        }
    }
}
