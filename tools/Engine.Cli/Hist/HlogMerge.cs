using Engine.Telemetry;
using HdrHistogram;

namespace Engine.Cli.Hist;

/// <summary>`engine hist merge`: the intervals of several logs in one, ordered by start time, tags kept.</summary>
internal static class HlogMerge
{
    /// <summary>Writes every interval of <paramref name="inputs"/> to <paramref name="output"/>; returns the number written.</summary>
    public static int Merge(IReadOnlyList<HlogFile> inputs, Stream output)
    {
        List<HistogramBase> all = [.. inputs.SelectMany(f => f.Intervals).OrderBy(h => h.StartTimeStamp)];
        DateTimeOffset start = inputs.Select(f => f.StartTime).DefaultIfEmpty(DateTimeOffset.UtcNow).Min();
        if (all.Count > 0)
        {
            start = DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(start.ToUnixTimeMilliseconds(), all[0].StartTimeStamp));
        }

        List<TelemetryHistogram> converted = [.. all.Select(TelemetryHistogram.From)];
        int counts = converted.Select(h => h.CountsLength).DefaultIfEmpty(1 << 12).Max();
        using var writer = new HlogWriter(output, start, counts);
        writer.Comment("[merged by engine hist merge from " + string.Join(", ", inputs.Select(f => Path.GetFileName(f.Path))) + "]");
        foreach (TelemetryHistogram h in converted)
        {
            writer.Append(h);
        }

        writer.Flush();
        return converted.Count;
    }
}
