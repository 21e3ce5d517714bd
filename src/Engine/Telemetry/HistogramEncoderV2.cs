using System.Buffers.Binary;
using System.IO.Compression;

namespace Engine.Telemetry;

/// <summary>
/// HdrHistogram's V2 compressed encoding (the payload of .hlog lines), written with reusable buffers:
/// a 40-byte big-endian header, counts as ZigZag LEB128 with runs of zeros folded into one negative
/// number, then zlib (RFC 1950) compression behind an 8-byte compressed header. The same bytes the
/// Java and .NET encoders produce up to compression details; read back by either library's decoder.
/// </summary>
/// <remarks>Not thread-safe: one instance per writer thread. Steady state allocates only the small zlib stream object per call.</remarks>
public sealed class HistogramEncoderV2 : IDisposable
{
    private const int EncodingCookieV2 = 0x1c849303 | 0x10;
    private const int CompressedEncodingCookieV2 = 0x1c849304 | 0x10;
    private const int HeaderLength = 40;

    private byte[] _raw;
    private readonly MemoryStream _compressed = new(1 << 12);
    private byte[] _output = new byte[1 << 12];

    /// <summary>
    /// Creates an encoder for histograms of up to <paramref name="maxCountsLength"/> counts. Its buffer
    /// is allocated here, before any run, because it is large enough to land on the large-object heap
    /// and allocating it later would trigger a gen-2 collection that pauses every thread.
    /// </summary>
    public HistogramEncoderV2(int maxCountsLength = 1 << 12) => _raw = new byte[HeaderLength + (maxCountsLength * 9) + 16];

    /// <summary>Encodes <paramref name="histogram"/>; the span is valid until the next call.</summary>
    public ReadOnlySpan<byte> EncodeCompressed(TelemetryHistogram histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        int rawLength = EncodeUncompressed(histogram);

        _compressed.SetLength(0);
        using (var zlib = new ZLibStream(_compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(_raw, 0, rawLength);
        }

        int compressedLength = (int)_compressed.Length;
        Ensure(ref _output, compressedLength + 8);
        BinaryPrimitives.WriteInt32BigEndian(_output, CompressedEncodingCookieV2);
        BinaryPrimitives.WriteInt32BigEndian(_output.AsSpan(4), compressedLength);
        _compressed.GetBuffer().AsSpan(0, compressedLength).CopyTo(_output.AsSpan(8));
        return _output.AsSpan(0, compressedLength + 8);
    }

    private int EncodeUncompressed(TelemetryHistogram h)
    {
        int countsLength = h.CountsLength;
        int limit = countsLength;
        while (limit > 0 && h.CountAt(limit - 1) == 0)
        {
            limit--;
        }

        // Worst case: 9 bytes per count.
        Ensure(ref _raw, HeaderLength + (limit * 9) + 16);
        Span<byte> raw = _raw;
        int p = HeaderLength;
        for (int i = 0; i < limit;)
        {
            long count = h.CountAt(i++);
            if (count == 0)
            {
                long zeros = 1;
                while (i < limit && h.CountAt(i) == 0)
                {
                    zeros++;
                    i++;
                }

                p += PutZigZag(raw[p..], zeros > 1 ? -zeros : 0);
            }
            else
            {
                p += PutZigZag(raw[p..], count);
            }
        }

        BinaryPrimitives.WriteInt32BigEndian(raw, EncodingCookieV2);
        BinaryPrimitives.WriteInt32BigEndian(raw[4..], p - HeaderLength);
        BinaryPrimitives.WriteInt32BigEndian(raw[8..], 0); // normalizing index offset
        BinaryPrimitives.WriteInt32BigEndian(raw[12..], h.NumberOfSignificantValueDigits);
        BinaryPrimitives.WriteInt64BigEndian(raw[16..], h.LowestTrackableValue);
        BinaryPrimitives.WriteInt64BigEndian(raw[24..], h.HighestTrackableValue);
        BinaryPrimitives.WriteDoubleBigEndian(raw[32..], 1.0); // integer to double conversion ratio
        return p;
    }

    // ZigZag, then LEB128 with at most 9 bytes (the 9th carries 8 bits), as HdrHistogram's ZigZagEncoding.
    private static int PutZigZag(Span<byte> buffer, long value)
    {
        ulong v = (ulong)((value << 1) ^ (value >> 63));
        int n = 0;
        while (n < 8)
        {
            if (v >> 7 == 0)
            {
                buffer[n++] = (byte)v;
                return n;
            }

            buffer[n++] = (byte)((v & 0x7F) | 0x80);
            v >>= 7;
        }

        buffer[n++] = (byte)v;
        return n;
    }

    /// <inheritdoc />
    public void Dispose() => _compressed.Dispose();

    private static void Ensure(ref byte[] buffer, int size)
    {
        if (buffer.Length < size)
        {
            buffer = new byte[Math.Max(size, buffer.Length * 2)];
        }
    }
}
