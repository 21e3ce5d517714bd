using System.Globalization;
using System.Text;
using HdrHistogram;

namespace Engine.Telemetry;

/// <summary>
/// Writes HdrHistogram interval logs (format v1.3) in ASCII: a header (version, start time, base
/// time, legend) and one line per tagged interval histogram, compressed and base64-encoded as
/// HdrHistogram's Java and .NET <c>HistogramLogReader</c>s expect.
/// </summary>
/// <remarks>
/// Written by hand rather than with the package's <c>HistogramLogWriter</c>, which writes UTF-16
/// that the Java tooling cannot read and allocates large buffers per line. Values are recorded in nanoseconds; the Interval_Max column
/// is in milliseconds (value / 1e6), as the Java tools assume. Runs on the telemetry thread. Not thread-safe.
/// </remarks>
public sealed class HlogWriter : IDisposable
{
    private const double MaxValueUnitRatio = 1_000_000.0;
    private readonly StreamWriter _writer;
    private readonly double _baseTimeSeconds;
    private readonly HistogramEncoderV2 _encoder;
    private char[] _chars = new char[1 << 12];

    /// <summary>
    /// Starts a log on <paramref name="stream"/> (left open when <paramref name="leaveOpen"/>), writing the
    /// header now. <paramref name="maxCountsLength"/> sizes the encoder for the largest histogram appended
    /// (<see cref="TelemetryHistogram.CountsLength"/>).
    /// </summary>
    public HlogWriter(Stream stream, DateTimeOffset startTime, int maxCountsLength = 1 << 12, bool leaveOpen = false)
    {
        _encoder = new HistogramEncoderV2(maxCountsLength);
        ArgumentNullException.ThrowIfNull(stream);
        _writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 4096, leaveOpen) { NewLine = "\n" };
        _baseTimeSeconds = startTime.ToUnixTimeMilliseconds() / 1000.0;
        _writer.WriteLine("#[Histogram log format version 1.3]");
        _writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"#[StartTime: {_baseTimeSeconds:F3} (seconds since epoch), {startTime.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}]"));
        _writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"#[BaseTime: {_baseTimeSeconds:F3} (seconds since epoch)]"));
        _writer.WriteLine("\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"");
        _writer.Flush();
    }

    /// <summary>Seconds since the epoch that interval start times are written relative to.</summary>
    public double BaseTimeSeconds => _baseTimeSeconds;

    /// <summary>
    /// Appends one interval. <paramref name="histogram"/>'s <c>StartTimeStamp</c>/<c>EndTimeStamp</c>
    /// (ms since the epoch) give the interval; its <c>Tag</c>, when set, is written as <c>Tag=...</c>.
    /// Formats into reused buffers: after the first lines the only allocation is the zlib stream object.
    /// </summary>
    public void Append(TelemetryHistogram histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        ReadOnlySpan<byte> encoded = _encoder.EncodeCompressed(histogram);
        int base64Length = ((encoded.Length + 2) / 3) * 4;
        if (_chars.Length < base64Length + 128)
        {
            _chars = new char[base64Length + 256];
        }

        Span<char> line = _chars;
        int n = 0;
        if (!string.IsNullOrEmpty(histogram.Tag))
        {
            "Tag=".AsSpan().CopyTo(line);
            n += 4;
            histogram.Tag.AsSpan().CopyTo(line[n..]);
            n += histogram.Tag.Length;
            line[n++] = ',';
        }

        n += Format((histogram.StartTimeStamp / 1000.0) - _baseTimeSeconds, line[n..]);
        line[n++] = ',';
        n += Format((histogram.EndTimeStamp - histogram.StartTimeStamp) / 1000.0, line[n..]);
        line[n++] = ',';
        n += Format(histogram.MaxValue() / MaxValueUnitRatio, line[n..]);
        line[n++] = ',';
        Convert.TryToBase64Chars(encoded, line[n..], out int written);
        n += written;
        line[n++] = '\n';
        _writer.Write(line[..n]);
    }

    private static int Format(double value, Span<char> destination)
    {
        value.TryFormat(destination, out int written, "F3", CultureInfo.InvariantCulture);
        return written;
    }

    /// <summary>
    /// Writes a comment line recording the garbage collections of the interval starting at
    /// <paramref name="startSeconds"/> (relative to the base time):
    /// <c>#[GC 12.000: gen0 1 gen1 0 gen2 0 pause 0.412 ms]</c>. Readers skip it as a comment. Allocates nothing.
    /// </summary>
    public void GcComment(double startSeconds, int gen0, int gen1, int gen2, double pauseMs)
    {
        Span<char> line = _chars;
        int n = 0;
        n += Put("#[GC ", line[n..]);
        n += Format(startSeconds, line[n..]);
        n += Put(": gen0 ", line[n..]);
        gen0.TryFormat(line[n..], out int w, default, CultureInfo.InvariantCulture);
        n += w;
        n += Put(" gen1 ", line[n..]);
        gen1.TryFormat(line[n..], out w, default, CultureInfo.InvariantCulture);
        n += w;
        n += Put(" gen2 ", line[n..]);
        gen2.TryFormat(line[n..], out w, default, CultureInfo.InvariantCulture);
        n += w;
        n += Put(" pause ", line[n..]);
        n += Format(pauseMs, line[n..]);
        n += Put(" ms]\n", line[n..]);
        _writer.Write(line[..n]);

        static int Put(string text, Span<char> destination)
        {
            text.AsSpan().CopyTo(destination);
            return text.Length;
        }
    }

    /// <summary>Writes a comment line (<c>#...</c>).</summary>
    public void Comment(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _writer.WriteLine("#" + text.ReplaceLineEndings(" "));
    }

    /// <summary>Pushes buffered lines to the stream.</summary>
    public void Flush() => _writer.Flush();

    /// <inheritdoc />
    public void Dispose()
    {
        _writer.Dispose();
        _encoder.Dispose();
    }
}
