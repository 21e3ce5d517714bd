using System.Globalization;
using System.Text.Json;
using Engine.Telemetry;
using HdrHistogram;
using Spectre.Console;

namespace Engine.Cli.Hist;

/// <summary>The percentile table of `engine hist`: one row per tag, µs, with the time window it covers.</summary>
internal static class HistReport
{
    /// <summary>The columns every latency table shows, and the names `compare --fail-on` accepts.</summary>
    public static IReadOnlyList<string> Columns { get; } = ["p50", "p90", "p99", "p99.9", "p99.99", "max"];

    public static long Value(LatencySummary s, string column) => column switch
    {
        "p50" => s.P50,
        "p90" => s.P90,
        "p99" => s.P99,
        "p99.9" => s.P999,
        "p99.99" => s.P9999,
        "max" => s.Max,
        _ => throw new HlogException($"'{column}' is not a percentile column; use one of {string.Join(", ", Columns)}."),
    };

    public static string Us(long ns) => (ns / 1000.0).ToString(ns < 10_000_000 ? "F2" : "F0", CultureInfo.InvariantCulture);

    /// <summary>The tags to report: <paramref name="tag"/> when given (checked), else every tag in the file.</summary>
    public static IReadOnlyList<string> TagsToReport(HlogFile file, string? tag)
    {
        IReadOnlyList<string> tags = file.Tags;
        if (tag is null)
        {
            return tags;
        }

        return tags.Contains(tag) ? [tag] : throw new HlogException($"{file.Path} has no tag '{tag}'; its tags are {string.Join(", ", tags)}.");
    }

    public static Table Table(string title, IEnumerable<MergedTag> rows)
    {
        var table = new Table().Title(title).AddColumn("tag");
        foreach (string c in Columns)
        {
            table.AddColumn(new TableColumn(c).RightAligned());
        }

        table.AddColumn(new TableColumn("p99.99−p50").RightAligned());
        table.AddColumn(new TableColumn("count").RightAligned());
        table.AddColumn("window (UTC)");
        foreach (MergedTag m in rows)
        {
            LatencySummary s = m.Summary;
            table.AddRow(
                Markup.Escape(m.Tag), Us(s.P50), Us(s.P90), Us(s.P99), Us(s.P999), Us(s.P9999), Us(s.Max), Us(s.Jitter),
                s.Count.ToString("N0", CultureInfo.InvariantCulture),
                Markup.Escape($"{m.From.UtcDateTime:HH:mm:ss.fff}–{m.To.UtcDateTime:HH:mm:ss.fff} ({(m.To - m.From).TotalSeconds:F1} s, {m.Intervals} intervals)"));
        }

        return table;
    }

    public static string Json(HlogFile file, TimeWindow window, IEnumerable<MergedTag> rows)
    {
        var doc = new
        {
            file = file.Path,
            start_time = file.StartTime.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            from = window.From?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            to = window.To?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            unit = "us",
            rows = rows.Select(m =>
            {
                LatencySummary s = m.Summary;
                return new
                {
                    tag = m.Tag,
                    count = s.Count,
                    p50_us = s.P50 / 1000.0,
                    p90_us = s.P90 / 1000.0,
                    p99_us = s.P99 / 1000.0,
                    p999_us = s.P999 / 1000.0,
                    p9999_us = s.P9999 / 1000.0,
                    max_us = s.Max / 1000.0,
                    jitter_us = s.Jitter / 1000.0,
                    window_start = m.From.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                    window_end = m.To.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                    intervals = m.Intervals,
                };
            }).ToList(),
        };
        return JsonSerializer.Serialize(doc, s_json);
    }

    /// <summary>
    /// Writes HdrHistogram's percentile distribution (<c>Value Percentile TotalCount 1/(1-Percentile)</c>,
    /// values in µs, 5 ticks per half distance), the text HdrHistogram's plotter reads.
    /// </summary>
    public static void WriteHgrm(HistogramBase histogram, TextWriter writer) =>
        histogram.OutputPercentileDistribution(writer, percentileTicksPerHalfDistance: 5, outputValueUnitScalingRatio: 1000.0, useCsvFormat: false);

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };
}
