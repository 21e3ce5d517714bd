using System.Globalization;
using HdrHistogram;
using HdrHistogram.Iteration;
using ScottPlot;
using SkiaSharp;

namespace Engine.Cli.Hist;

/// <summary>
/// `engine hist plot`: two charts stacked in one PNG, drawn with ScottPlot 5 (SkiaSharp, headless):
/// the percentile spectrum of each tag (latency against percentile on HdrHistogram's logarithmic
/// 1/(1−p) axis), and a timeline of each interval's maximum. Both latency axes are logarithmic.
/// </summary>
internal static class HistPlot
{
    private static readonly double[] s_percentileTicks = [0, 90, 99, 99.9, 99.99, 99.999, 99.9999];

    /// <summary>Renders <paramref name="tags"/> of <paramref name="file"/> in <paramref name="window"/>; returns the PNG bytes.</summary>
    public static byte[] Render(HlogFile file, IReadOnlyList<string> tags, TimeWindow window, int width, int height)
    {
        if (width < 200 || height < 200)
        {
            throw new HlogException($"A plot needs at least 200 × 200 pixels, not {width} × {height}.");
        }

        var spectrum = new Plot();
        var timeline = new Plot();
        double maxX = 1;
        double minY = double.MaxValue, maxY = double.MinValue;
        double minT = double.MaxValue, maxT = double.MinValue;
        int plotted = 0;
        foreach (string tag in tags)
        {
            MergedTag? merged = file.Merge(tag, window);
            if (merged is null || merged.Histogram.TotalCount == 0)
            {
                continue;
            }

            (double[] xs, double[] ys) = Spectrum(merged.Histogram);
            var line = spectrum.Add.ScatterLine(xs, ys);
            line.LegendText = tag;
            line.LineWidth = 2;
            maxX = Math.Max(maxX, xs.Max());
            // The axis starts at the lowest median, not the lowest value: a tag with zeros (an idle hiccup
            // meter) would otherwise stretch it down to nanoseconds.
            minY = Math.Min(minY, Math.Log10(Math.Max(merged.Histogram.GetValueAtPercentile(50), 1) / 1000.0));
            maxY = Math.Max(maxY, ys.Max());

            List<HistogramBase> intervals = [.. file.Select(tag, window).Where(h => h.TotalCount > 0)];
            double[] ts = [.. intervals.Select(h => (h.StartTimeStamp - file.StartTime.ToUnixTimeMilliseconds()) / 1000.0)];
            double[] maxes = [.. intervals.Select(h => Math.Log10(Math.Max(Engine.Telemetry.TelemetryHistogram.From(h).MaxValue(), 1) / 1000.0))];
            var points = timeline.Add.Scatter(ts, maxes);
            points.LegendText = tag;
            points.LineWidth = 1.5f;
            points.MarkerSize = 5;
            points.Color = line.Color;
            minT = Math.Min(minT, ts.Min());
            maxT = Math.Max(maxT, ts.Max());
            minY = Math.Min(minY, maxes.Min());
            maxY = Math.Max(maxY, maxes.Max());
            plotted++;
        }

        if (plotted == 0)
        {
            throw new HlogException($"{file.Path}: nothing to plot (no samples for {string.Join(", ", tags)} in the window).");
        }

        string span = $"{file.StartTime.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC";
        spectrum.Title($"Latency by percentile — {Path.GetFileName(file.Path)} ({span})");
        spectrum.XLabel("percentile (log scale of 1/(1−p))");
        spectrum.YLabel("latency, µs (log)");
        spectrum.Axes.Bottom.TickGenerator = PercentileTicks(maxX);
        spectrum.Axes.Left.TickGenerator = LogTicks();
        spectrum.Axes.SetLimitsX(0, Math.Max(maxX * 1.02, 1));
        spectrum.Axes.SetLimitsY(Math.Floor(minY), Math.Ceiling(maxY) + 0.05);
        spectrum.ShowLegend(Alignment.UpperLeft);

        timeline.Title("Maximum per interval");
        timeline.XLabel("seconds since log start");
        timeline.YLabel("interval max, µs (log)");
        timeline.Axes.Left.TickGenerator = LogTicks();
        timeline.Axes.SetLimitsX(minT - 0.5, maxT + 1.5);
        timeline.Axes.SetLimitsY(Math.Floor(minY), Math.Ceiling(maxY) + 0.05);
        timeline.ShowLegend(Alignment.LowerRight);

        int top = (int)(height * 0.62);
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        SKCanvas canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        Draw(canvas, spectrum, 0, width, top);
        Draw(canvas, timeline, top, width, height - top);
        using SKImage image = surface.Snapshot();
        using SKData png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    // x = log10(1/(1−p)), y = log10(µs), one point per percentile step as HdrHistogram's percentile
    // iterator yields them, then the max as the last point.
    internal static (double[] Xs, double[] Ys) Spectrum(HistogramBase histogram)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        foreach (HistogramIterationValue v in histogram.Percentiles(5))
        {
            double p = v.Percentile / 100.0;
            if (p >= 1.0)
            {
                break; // 1/(1−p) is infinite at p = 100%: the max is placed below instead
            }

            xs.Add(Math.Log10(1.0 / (1.0 - p)));
            ys.Add(Math.Log10(Math.Max(histogram.HighestEquivalentValue(v.ValueIteratedTo), 1) / 1000.0));
        }

        // The line must end at the max. p = 100% has no finite place on the axis, so the max goes where
        // 1/(1−p) equals the sample count (the finest percentile N samples resolve), or at the last
        // iterated point if that lies further right: the right end of the line.
        double maxX = Math.Max(xs.Count > 0 ? xs[^1] : 0, Math.Log10(Math.Max(histogram.TotalCount, 1)));
        xs.Add(maxX);
        ys.Add(Math.Log10(Math.Max(histogram.HighestEquivalentValue(histogram.GetMaxValue()), 1) / 1000.0));
        return ([.. xs], [.. ys]);
    }

    private static ScottPlot.TickGenerators.NumericManual PercentileTicks(double maxX)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (double p in s_percentileTicks)
        {
            double x = Math.Log10(1.0 / (1.0 - (p / 100.0)));
            if (x <= maxX + 0.5)
            {
                ticks.AddMajor(x, p.ToString(CultureInfo.InvariantCulture) + "%");
            }
        }

        return ticks;
    }

    private static ScottPlot.TickGenerators.NumericAutomatic LogTicks() => new()
    {
        MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        IntegerTicksOnly = true,
        LabelFormatter = y => FormatMicros(Math.Pow(10, y)),
    };

    private static string FormatMicros(double us) => us switch
    {
        >= 1_000_000 => (us / 1_000_000).ToString("0.##", CultureInfo.InvariantCulture) + " s",
        >= 1_000 => (us / 1_000).ToString("0.##", CultureInfo.InvariantCulture) + " ms",
        _ => us.ToString("0.###", CultureInfo.InvariantCulture) + " µs",
    };

    private static void Draw(SKCanvas canvas, Plot plot, int top, int width, int height)
    {
        byte[] png = plot.GetImageBytes(width, height, ImageFormat.Png);
        using SKBitmap bitmap = SKBitmap.Decode(png);
        canvas.DrawBitmap(bitmap, 0, top);
    }
}
