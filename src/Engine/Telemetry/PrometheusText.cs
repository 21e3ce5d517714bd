using System.Globalization;
using System.Text;

namespace Engine.Telemetry;

/// <summary>
/// Writes the telemetry in Prometheus' text exposition format (version 0.0.4): per-histogram
/// cumulative buckets (seconds) over everything recorded, gauges of the last interval's percentiles,
/// max and jitter, GC counts and pause time, clamped values, and every registered counter.
/// </summary>
/// <remarks>
/// Runs on the metrics thread. Reuses its <see cref="StringBuilder"/> between scrapes; reads the
/// histograms under the telemetry lock (the hot path never takes it).
/// </remarks>
public sealed class PrometheusText
{
    /// <summary>Bucket upper bounds, ns: 1 µs to 10 s in 1-2-5 steps.</summary>
    public static IReadOnlyList<long> BucketBoundsNs { get; } = BuildBounds();

    private static readonly long[] s_bounds = [.. BucketBoundsNs];
    private static readonly string[] s_boundLabels = [.. BucketBoundsNs.Select(b => (b / 1e9).ToString("R", CultureInfo.InvariantCulture))];
    private static readonly string[] s_quantiles = ["0.5", "0.9", "0.99", "0.999", "0.9999"];

    private readonly StringBuilder _text = new(1 << 14);
    private readonly long[] _cumulative = new long[s_bounds.Length];

    /// <summary>The content type of the format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Renders everything <paramref name="telemetry"/> holds now. The returned builder is reused by the next call.</summary>
    public StringBuilder Render(LatencyTelemetry telemetry)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        StringBuilder t = _text.Clear();
        telemetry.Read((channels, gc) =>
        {
            Header(t, "engine_latency_seconds", "histogram", "Latency of each stage (label stage; per model with label model; stage hiccup: the platform's own wake-up delay), every value recorded since start.");
            foreach (LatencyRecorder r in channels)
            {
                double sumNs = r.Total.CumulativeCounts(s_bounds, _cumulative);
                for (int i = 0; i < s_bounds.Length; i++)
                {
                    Sample(t, "engine_latency_seconds_bucket", r, "le", s_boundLabels[i]).Append(_cumulative[i]).Append('\n');
                }

                Sample(t, "engine_latency_seconds_bucket", r, "le", "+Inf").Append(r.Total.TotalCount).Append('\n');
                Sample(t, "engine_latency_seconds_sum", r, null, null).Append(CultureInfo.InvariantCulture, $"{sumNs / 1e9:R}").Append('\n');
                Sample(t, "engine_latency_seconds_count", r, null, null).Append(r.Total.TotalCount).Append('\n');
            }

            Header(t, "engine_latency_interval_seconds", "gauge", "Percentiles of the last telemetry interval (label quantile).");
            foreach (LatencyRecorder r in channels)
            {
                ReadOnlySpan<long> last = r.LastInterval;
                for (int q = 0; q < s_quantiles.Length; q++)
                {
                    Seconds(Sample(t, "engine_latency_interval_seconds", r, "quantile", s_quantiles[q]), last[q]);
                }
            }

            Header(t, "engine_latency_interval_max_seconds", "gauge", "Largest value of the last telemetry interval.");
            foreach (LatencyRecorder r in channels)
            {
                Seconds(Sample(t, "engine_latency_interval_max_seconds", r, null, null), r.LastInterval[LatencySnapshot.MaxIndex]);
            }

            Header(t, "engine_latency_interval_jitter_seconds", "gauge", "p99.99 minus p50 of the last telemetry interval.");
            foreach (LatencyRecorder r in channels)
            {
                Seconds(Sample(t, "engine_latency_interval_jitter_seconds", r, null, null), r.LastInterval[4] - r.LastInterval[0]);
            }

            Header(t, "engine_latency_interval_samples", "gauge", "Samples in the last telemetry interval.");
            foreach (LatencyRecorder r in channels)
            {
                Sample(t, "engine_latency_interval_samples", r, null, null).Append(r.LastInterval[LatencySnapshot.CountIndex]).Append('\n');
            }

            Header(t, "engine_latency_clamped_total", "counter", "Latency values outside 0..10 s, recorded clamped.");
            foreach (LatencyRecorder r in channels)
            {
                Sample(t, "engine_latency_clamped_total", r, null, null).Append(r.ClampedValues).Append('\n');
            }

            GcJitter jitter = gc.Current;
            Header(t, "engine_gc_collections_total", "counter", "Garbage collections since telemetry start, by generation (every one pauses the hot threads).");
            t.Append("engine_gc_collections_total{generation=\"0\"} ").Append(jitter.Gen0).Append('\n');
            t.Append("engine_gc_collections_total{generation=\"1\"} ").Append(jitter.Gen1).Append('\n');
            t.Append("engine_gc_collections_total{generation=\"2\"} ").Append(jitter.Gen2).Append('\n');
            Header(t, "engine_gc_pause_seconds_total", "counter", "Time the runtime paused threads for garbage collection since telemetry start.");
            t.Append("engine_gc_pause_seconds_total ").Append(CultureInfo.InvariantCulture, $"{jitter.TotalPause.TotalSeconds:R}").Append('\n');
            Header(t, "engine_gc_pause_max_interval_seconds", "gauge", "The largest GC pause total within one telemetry interval.");
            t.Append("engine_gc_pause_max_interval_seconds ").Append(CultureInfo.InvariantCulture, $"{jitter.MaxIntervalPause.TotalSeconds:R}").Append('\n');
            return 0;
        });

        // The format wants each family's HELP/TYPE once with all its samples together; registrations
        // of one name can interleave with others (line A's gaps, line A's duplicates, line B's gaps),
        // so render family by family, in order of first registration.
        IReadOnlyList<CounterRegistration> registrations = telemetry.Counters.Registrations;
        for (int i = 0; i < registrations.Count; i++)
        {
            string name = registrations[i].Name;
            if (IsEarlierFamily(registrations, i))
            {
                continue;
            }

            Header(t, name, "counter", registrations[i].Help);
            for (int j = i; j < registrations.Count; j++)
            {
                CounterRegistration c = registrations[j];
                if (c.Name != name)
                {
                    continue;
                }

                t.Append(c.Name);
                if (c.LabelName is not null)
                {
                    t.Append('{').Append(c.LabelName).Append("=\"");
                    Escape(t, c.LabelValue!);
                    t.Append("\"}");
                }

                t.Append(' ').Append(c.Read()).Append('\n');
            }
        }

        Header(t, "engine_telemetry_intervals_total", "counter", "Telemetry intervals cut since start.");
        t.Append("engine_telemetry_intervals_total ").Append(telemetry.Intervals).Append('\n');
        return t;
    }

    private static bool IsEarlierFamily(IReadOnlyList<CounterRegistration> registrations, int index)
    {
        for (int k = 0; k < index; k++)
        {
            if (registrations[k].Name == registrations[index].Name)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Throws unless <paramref name="name"/> is a valid metric or label name (<c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>).</summary>
    public static void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool ok = char.IsAsciiLetter(c) || c is '_' or ':' || (i > 0 && char.IsAsciiDigit(c));
            if (!ok)
            {
                throw new ArgumentException($"'{name}' is not a valid Prometheus metric or label name ([a-zA-Z_:][a-zA-Z0-9_:]*).", nameof(name));
            }
        }
    }

    private static void Header(StringBuilder t, string name, string type, string help)
    {
        t.Append("# HELP ").Append(name).Append(' ');
        foreach (char c in help)
        {
            _ = c switch
            {
                '\\' => t.Append("\\\\"),
                '\n' => t.Append("\\n"),
                _ => t.Append(c),
            };
        }

        t.Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    private static StringBuilder Sample(StringBuilder t, string name, LatencyRecorder r, string? label, string? value)
    {
        t.Append(name).Append("{stage=\"").Append(r.Stage).Append('"');
        if (r.Model is not null)
        {
            t.Append(",model=\"").Append(r.Model).Append('"');
        }

        if (label is not null)
        {
            t.Append(',').Append(label).Append("=\"").Append(value).Append('"');
        }

        return t.Append("} ");
    }

    private static void Seconds(StringBuilder t, long ns) => t.Append(CultureInfo.InvariantCulture, $"{ns / 1e9:R}").Append('\n');

    private static void Escape(StringBuilder t, string value)
    {
        foreach (char c in value)
        {
            _ = c switch
            {
                '\\' => t.Append("\\\\"),
                '"' => t.Append("\\\""),
                '\n' => t.Append("\\n"),
                _ => t.Append(c),
            };
        }
    }

    private static long[] BuildBounds()
    {
        var bounds = new List<long>();
        for (long decade = 1_000; decade <= LatencyTelemetry.HighestTrackableNs; decade *= 10)
        {
            foreach (long m in new long[] { 1, 2, 5 })
            {
                if (decade * m <= LatencyTelemetry.HighestTrackableNs)
                {
                    bounds.Add(decade * m);
                }
            }
        }

        return [.. bounds];
    }
}
