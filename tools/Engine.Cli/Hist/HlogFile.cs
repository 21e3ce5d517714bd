using System.Globalization;
using Engine.Telemetry;
using HdrHistogram;

namespace Engine.Cli.Hist;

/// <summary>An .hlog read whole through HdrHistogram's own <see cref="HistogramLogReader"/>: tagged intervals with absolute times.</summary>
internal sealed class HlogFile
{
    /// <summary>Tag shown for intervals written without one.</summary>
    public const string Untagged = "(untagged)";

    private HlogFile(string path, DateTimeOffset startTime, IReadOnlyList<HistogramBase> intervals)
    {
        Path = path;
        StartTime = startTime;
        Intervals = intervals;
    }

    public string Path { get; }

    /// <summary>The log's StartTime header (or its first interval's start).</summary>
    public DateTimeOffset StartTime { get; }

    /// <summary>Every interval, in file order; Start/EndTimeStamp in ms since the epoch.</summary>
    public IReadOnlyList<HistogramBase> Intervals { get; }

    /// <summary>Tags in order of first appearance.</summary>
    public IReadOnlyList<string> Tags => [.. Intervals.Select(TagOf).Distinct(StringComparer.Ordinal)];

    public static string TagOf(HistogramBase h) => string.IsNullOrEmpty(h.Tag) ? Untagged : h.Tag;

    /// <summary>Reads <paramref name="path"/>; throws <see cref="HlogException"/> with the file named when it is missing or not an .hlog.</summary>
    public static HlogFile Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new HlogException($"{path}: no such file.");
        }

        try
        {
            using FileStream stream = File.OpenRead(path);
            using var reader = new HistogramLogReader(stream);
            List<HistogramBase> intervals = [.. reader.ReadHistograms()];
            DateTimeOffset start = intervals.Count == 0
                ? DateTimeOffset.FromUnixTimeMilliseconds(0)
                : new DateTimeOffset(DateTime.SpecifyKind(reader.GetStartTime(), DateTimeKind.Utc));
            return new HlogFile(path, start, intervals);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or IndexOutOfRangeException or InvalidOperationException or NotSupportedException or IOException)
        {
            throw new HlogException($"{path}: not a readable HdrHistogram interval log ({ex.GetType().Name}: {ex.Message}).", ex);
        }
    }

    /// <summary>Intervals of <paramref name="tag"/> (all tags when null) whose start lies in [from, to).</summary>
    public IEnumerable<HistogramBase> Select(string? tag, TimeWindow window) =>
        Intervals.Where(h => (tag is null || TagOf(h) == tag) && window.Contains(h.StartTimeStamp));

    /// <summary>
    /// The intervals of <paramref name="tag"/> in <paramref name="window"/> merged into one histogram,
    /// with the window actually covered (first start, last end) and the number of intervals; null when none.
    /// </summary>
    public MergedTag? Merge(string tag, TimeWindow window)
    {
        TelemetryHistogram? sum = null;
        long first = long.MaxValue, last = long.MinValue;
        int n = 0;
        foreach (HistogramBase h in Select(tag, window))
        {
            sum ??= new TelemetryHistogram(0, 1, Math.Max(h.HighestTrackableValue, LatencyTelemetry.HighestTrackableNs), h.NumberOfSignificantValueDigits);
            sum.Add(h);
            first = Math.Min(first, h.StartTimeStamp);
            last = Math.Max(last, h.EndTimeStamp);
            n++;
        }

        return sum is null ? null : new MergedTag(tag, sum, DateTimeOffset.FromUnixTimeMilliseconds(first), DateTimeOffset.FromUnixTimeMilliseconds(last), n);
    }
}

/// <summary>One tag's intervals merged.</summary>
internal sealed record MergedTag(string Tag, TelemetryHistogram Histogram, DateTimeOffset From, DateTimeOffset To, int Intervals)
{
    public LatencySummary Summary => LatencySummary.From(Tag, Histogram);
}

/// <summary>A file that is not an .hlog, or a request it cannot answer.</summary>
internal sealed class HlogException : Exception
{
    public HlogException(string message)
        : base(message)
    {
    }

    public HlogException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// A time window over a log: bounds given as seconds from the log's start (<c>90</c>, <c>12.5</c>),
/// a UTC time of day on the log's start date (<c>14:30</c>, <c>14:30:15</c>), or an ISO 8601 instant
/// (<c>2025-06-02T14:30:00Z</c>). Either bound may be open.
/// </summary>
internal readonly record struct TimeWindow(DateTimeOffset? From, DateTimeOffset? To)
{
    public static TimeWindow All => default;

    public bool Contains(long startMs) =>
        (From is null || startMs >= From.Value.ToUnixTimeMilliseconds()) && (To is null || startMs < To.Value.ToUnixTimeMilliseconds());

    public static TimeWindow Parse(string? from, string? to, DateTimeOffset logStart) => new(ParseBound(from, logStart), ParseBound(to, logStart));

    public static DateTimeOffset? ParseBound(string? text, DateTimeOffset logStart)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        CultureInfo ic = CultureInfo.InvariantCulture;
        if (double.TryParse(text, NumberStyles.Float, ic, out double seconds))
        {
            return logStart.AddSeconds(seconds);
        }

        if (TimeOnly.TryParseExact(text, ["HH:mm", "HH:mm:ss", "HH:mm:ss.fff"], ic, DateTimeStyles.None, out TimeOnly time))
        {
            return new DateTimeOffset(DateOnly.FromDateTime(logStart.UtcDateTime).ToDateTime(time), TimeSpan.Zero);
        }

        if (DateTimeOffset.TryParse(text, ic, DateTimeStyles.AssumeUniversal, out DateTimeOffset instant))
        {
            return instant;
        }

        throw new HlogException($"'{text}' is not a time: give seconds from the log's start (90), a UTC time of day (14:30 or 14:30:15), or an ISO 8601 instant (2025-06-02T14:30:00Z).");
    }
}
