using HdrHistogram;

namespace Engine.Telemetry;

/// <summary>Percentiles of a latency histogram, in nanoseconds, with the sample count.</summary>
/// <param name="Name">Stage or row name (an .hlog tag for telemetry rows).</param>
/// <param name="Count">Samples.</param>
/// <param name="P50">Median.</param>
/// <param name="P90">90th percentile.</param>
/// <param name="P99">99th.</param>
/// <param name="P999">99.9th.</param>
/// <param name="P9999">99.99th.</param>
/// <param name="Max">Largest value.</param>
public sealed record LatencySummary(string Name, long Count, long P50, long P90, long P99, long P999, long P9999, long Max)
{
    /// <summary>The stage (for telemetry rows; otherwise the name).</summary>
    public string? Stage { get; init; }

    /// <summary>The model of a per-model row; null otherwise.</summary>
    public string? Model { get; init; }

    /// <summary>Jitter: p99.99 − p50, ns.</summary>
    public long Jitter => P9999 - P50;

    /// <summary>Intervals (of the telemetry's interval length) that held samples; 0 when not tracked.</summary>
    public long Intervals { get; init; }

    /// <summary>Median over those intervals of each interval's maximum, ns (the typical worst case per interval).</summary>
    public long IntervalMaxP50 { get; init; }

    /// <summary>Reads the percentiles off <paramref name="histogram"/> (HdrHistogram's highest-equivalent values).</summary>
    public static LatencySummary From(string name, HistogramBase histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        if (histogram.TotalCount == 0)
        {
            return new LatencySummary(name, 0, 0, 0, 0, 0, 0, 0);
        }

        return new LatencySummary(
            name,
            histogram.TotalCount,
            histogram.GetValueAtPercentile(50),
            histogram.GetValueAtPercentile(90),
            histogram.GetValueAtPercentile(99),
            histogram.GetValueAtPercentile(99.9),
            histogram.GetValueAtPercentile(99.99),
            histogram is TelemetryHistogram t ? t.MaxValue() : histogram.GetMaxValue());
    }
}
