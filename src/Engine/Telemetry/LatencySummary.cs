using HdrHistogram;

namespace Engine.Telemetry;

/// <summary>Percentiles of a latency histogram, in nanoseconds, with the sample count.</summary>
/// <param name="Name">Stage or row name.</param>
/// <param name="Count">Samples.</param>
/// <param name="P50">Median.</param>
/// <param name="P90">90th percentile.</param>
/// <param name="P99">99th.</param>
/// <param name="P999">99.9th.</param>
/// <param name="P9999">99.99th.</param>
/// <param name="Max">Largest value.</param>
public sealed record LatencySummary(string Name, long Count, long P50, long P90, long P99, long P999, long P9999, long Max)
{
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
            histogram.GetMaxValue());
    }
}
