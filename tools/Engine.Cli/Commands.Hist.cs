using System.CommandLine;
using System.Globalization;
using System.Net;
using Engine.Cli.Hist;
using Engine.Replay;
using Engine.Telemetry;
using Spectre.Console;

namespace Engine.Cli;

/// <summary>`engine hist`: percentile tables, .hgrm, merge, compare and plots over HdrHistogram interval logs.</summary>
internal static partial class Commands
{
    private static Command HistCommand()
    {
        var file = new Argument<string>("file") { Description = "HdrHistogram interval log (.hlog), e.g. out/latency.hlog." };
        var tag = new Option<string?>("--tag") { Description = "Only this tag (stage, stage:model, hiccup)." };
        var from = new Option<string?>("--from") { Description = "Window start: seconds from the log's start (90), UTC time of day (14:30), or ISO 8601 instant." };
        var to = new Option<string?>("--to") { Description = "Window end (exclusive), same forms as --from." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var hgrm = new Option<string?>("--hgrm") { Description = "Write HdrHistogram's percentile distribution (Value Percentile TotalCount 1/(1-Percentile), µs) to this file; one file per tag (NAME.TAG.hgrm) when several tags are selected." };
        var hist = new Command("hist", "Percentile table (µs: p50 p90 p99 p99.9 p99.99 max, count, window) of an .hlog, per tag; merge, compare and plot logs.")
        {
            file, tag, from, to, json, hgrm,
        };
        hist.SetAction(r => Guard(() => HistTable(r.GetValue(file)!, r.GetValue(tag), r.GetValue(from), r.GetValue(to), r.GetValue(json), r.GetValue(hgrm))));
        hist.Subcommands.Add(HistMergeCommand());
        hist.Subcommands.Add(HistCompareCommand());
        hist.Subcommands.Add(HistPlotCommand());
        return hist;
    }

    private static Command HistMergeCommand()
    {
        var inputs = new Argument<string[]>("logs") { Description = "Logs to merge.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--output", "-o") { Description = "Merged log to write.", Required = true };
        var merge = new Command("merge", "Merge interval logs into one (intervals ordered by time, tags kept).") { inputs, output };
        merge.SetAction(r => Guard(() =>
        {
            string[] paths = r.GetValue(inputs)!;
            string path = r.GetValue(output)!;
            CreateParentDirectory(path);
            int loaded = 0;
            (List<HlogFile> files, int n) = ConsoleProgress.Run($"merging {paths.Length} logs", () => string.Create(CultureInfo.InvariantCulture, $"{Volatile.Read(ref loaded)}/{paths.Length} read"), () =>
            {
                var read = new List<HlogFile>(paths.Length);
                foreach (string p in paths)
                {
                    read.Add(HlogFile.Load(p));
                    Interlocked.Increment(ref loaded);
                }

                return (read, HlogMerge.Merge(read, File.Create(path)));
            });
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "wrote [bold]{0}[/]: {1:N0} intervals from {2} logs", Markup.Escape(path), n, files.Count);
            return 0;
        }));
        return merge;
    }

    private static Command HistCompareCommand()
    {
        var a = new Argument<string>("baseline") { Description = "Log A (baseline)." };
        var b = new Argument<string>("candidate") { Description = "Log B (candidate)." };
        var tag = new Option<string?>("--tag") { Description = "Only this tag (default: every tag both logs have)." };
        var failOn = new Option<string?>("--fail-on") { Description = "Exit 1 when B/A at this column (p50 p90 p99 p99.9 p99.99 max) exceeds --threshold for any gated tag (hiccup only when named with --tag; a tag with fewer than 10 samples beyond the percentile is skipped, with the reason printed)." };
        var threshold = new Option<double>("--threshold") { Description = "Largest acceptable B/A ratio for --fail-on.", DefaultValueFactory = _ => 1.10 };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var compare = new Command("compare", "Compare two logs per tag: A and B side by side with B/A per percentile; with --fail-on, a CI gate (exit 0 ok, 1 regression, 2 bad input).")
        {
            a, b, tag, failOn, threshold, json,
        };
        compare.SetAction(r => Guard(() => HistCompareRun(r.GetValue(a)!, r.GetValue(b)!, r.GetValue(tag), r.GetValue(failOn), r.GetValue(threshold), r.GetValue(json))));
        return compare;
    }

    private static Command HistPlotCommand()
    {
        var file = new Argument<string>("file") { Description = "HdrHistogram interval log (.hlog)." };
        var output = new Option<string>("--output", "-o") { Description = "PNG to write.", DefaultValueFactory = _ => "latency.png" };
        var tags = new Option<string[]>("--tag") { Description = "Tags to draw (repeatable; default: tick_to_signal, ring, inference and hiccup when present, else every tag).", AllowMultipleArgumentsPerToken = true };
        var from = new Option<string?>("--from") { Description = "Window start (as for engine hist)." };
        var to = new Option<string?>("--to") { Description = "Window end (as for engine hist)." };
        var width = new Option<int>("--width") { Description = "Image width, pixels.", DefaultValueFactory = _ => 1200 };
        var height = new Option<int>("--height") { Description = "Image height, pixels.", DefaultValueFactory = _ => 900 };
        var plot = new Command("plot", "Plot the percentile spectrum (log 1/(1−p) axis, one line per tag) and the per-interval maximum timeline to a PNG.")
        {
            file, output, tags, from, to, width, height,
        };
        plot.SetAction(r => Guard(() =>
        {
            (IReadOnlyList<string> selected, byte[] png) = ConsoleProgress.Run($"plotting {r.GetValue(file)}", () =>
            {
                HlogFile log = HlogFile.Load(r.GetValue(file)!);
                string[] chosen = r.GetValue(tags) ?? [];
                IReadOnlyList<string> chosenTags = chosen.Length > 0 ? [.. chosen.SelectMany(t => HistReport.TagsToReport(log, t))] : DefaultPlotTags(log);
                return (chosenTags, HistPlot.Render(log, chosenTags, TimeWindow.Parse(r.GetValue(from), r.GetValue(to), log.StartTime), r.GetValue(width), r.GetValue(height)));
            });
            string path = r.GetValue(output)!;
            CreateParentDirectory(path);
            File.WriteAllBytes(path, png);
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "wrote [bold]{0}[/]: {1} × {2} PNG, tags {3}", Markup.Escape(path), r.GetValue(width), r.GetValue(height), Markup.Escape(string.Join(", ", selected)));
            return 0;
        }));
        return plot;
    }

    internal static IReadOnlyList<string> DefaultPlotTags(HlogFile log)
    {
        string[] preferred = ["tick_to_signal", "ring", "inference", HiccupMeter.Tag];
        List<string> present = [.. preferred.Where(log.Tags.Contains)];
        return present.Count > 0 ? present : log.Tags;
    }

    internal static int HistTable(string path, string? tag, string? from, string? to, bool json, string? hgrm)
    {
        HlogFile log = HlogFile.Load(path);
        TimeWindow window = TimeWindow.Parse(from, to, log.StartTime);
        List<MergedTag> rows = [.. HistReport.TagsToReport(log, tag).Select(t => log.Merge(t, window)).OfType<MergedTag>()];
        if (rows.Count == 0)
        {
            throw new HlogException($"{path}: no intervals{(tag is null ? "" : $" tagged '{tag}'")} in the window.");
        }

        if (json)
        {
            Console.Out.WriteLine(HistReport.Json(log, window, rows));
        }
        else
        {
            AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "[bold]{0}[/]: log started {1:yyyy-MM-dd HH:mm:ss.fff} UTC; {2:N0} intervals, tags {3}", Markup.Escape(path), log.StartTime.UtcDateTime, log.Intervals.Count, Markup.Escape(string.Join(", ", log.Tags)));
            AnsiConsole.Write(HistReport.Table("latency, µs (HdrHistogram; intervals merged per tag)", rows));
        }

        if (hgrm is not null)
        {
            foreach (MergedTag m in rows)
            {
                string target = rows.Count == 1 ? hgrm : Path.Combine(Path.GetDirectoryName(hgrm) ?? "", $"{Path.GetFileNameWithoutExtension(hgrm)}.{m.Tag.Replace(':', '_')}.hgrm");
                CreateParentDirectory(target);
                using (var writer = new StreamWriter(target))
                {
                    HistReport.WriteHgrm(m.Histogram, writer);
                }

                if (!json)
                {
                    AnsiConsole.MarkupLine("percentile distribution of {0} (µs) → {1}", Markup.Escape(m.Tag), Markup.Escape(target));
                }
            }
        }

        return 0;
    }

    internal static int HistCompareRun(string pathA, string pathB, string? tag, string? failOn, double threshold, bool json)
    {
        HlogFile a = HlogFile.Load(pathA);
        HlogFile b = HlogFile.Load(pathB);
        IReadOnlyList<TagComparison> rows = HistCompare.Compare(a, b, tag);
        GateResult gate = failOn is null ? GateResult.None : HistCompare.Gate(rows, failOn, threshold, tagNamed: tag is not null);
        IReadOnlyList<TagComparison> regressions = gate.Regressions;
        if (json)
        {
            Console.Out.WriteLine(HistCompare.Json(a, b, rows, failOn, threshold, gate));
        }
        else
        {
            AnsiConsole.MarkupLine("A = {0}\nB = {1}", Markup.Escape(pathA), Markup.Escape(pathB));
            AnsiConsole.Write(HistCompare.Table(rows, failOn));
            if (failOn is not null)
            {
                foreach (TagComparison r in regressions)
                {
                    AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "[red]regression[/]: {0} {1} B/A = {2:F3} > {3:F3}", Markup.Escape(r.Tag), failOn, r.Ratio(failOn), threshold);
                }

                foreach (GateSkip k in gate.Skipped)
                {
                    AnsiConsole.MarkupLine("[grey]not gated[/]: {0}: {1}", Markup.Escape(k.Tag), Markup.Escape(k.Reason));
                }

                if (regressions.Count == 0)
                {
                    AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "[green]ok[/]: {0} B/A ≤ {1:F3} for every gated tag", failOn, threshold);
                }
            }
        }

        return regressions.Count > 0 ? HistCompare.ExitRegression : HistCompare.ExitOk;
    }

    // Input problems (missing file, unknown tag, bad time) are exit 2 with the reason, never a stack trace.
    private static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (HlogException ex)
        {
            AnsiConsole.MarkupLine("[red]error:[/] {0}", Markup.Escape(ex.Message));
            return HistCompare.ExitBadInput;
        }
    }

    /// <summary>The replay's latency table: every stage that has samples, then the platform hiccup row beside tick-to-signal.</summary>
    internal static Table LatencyTable(ReplayReport report)
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        var table = new Table().Title("latency, µs (HdrHistogram, 3 significant digits; from each message's receive or scheduled time)").AddColumn("stage");
        foreach (string h in new[] { "p50", "p90", "p99", "p99.9", "p99.99", "max", "p99.99−p50", "max/interval p50", "count" })
        {
            table.AddColumn(new TableColumn(h).RightAligned());
        }

        List<LatencySummary> rows = [.. report.AllLatency.Where(s => s.Count > 0 && s.Model is null && s.Name != HiccupMeter.Tag)];
        int models = report.AllLatency.Where(s => s.Model is not null).Select(s => s.Model).Distinct().Count();
        if (models > 1)
        {
            rows.AddRange(report.AllLatency.Where(s => s.Count > 0 && s.Model is not null));
        }

        foreach (LatencySummary s in rows)
        {
            Row(s.Name, s);
        }

        if (report.Hiccup is { Count: > 0 } hiccup)
        {
            Row("[grey]hiccup (platform: 1 ms sleeper's extra delay)[/]", hiccup);
        }

        return table;

        void Row(string name, LatencySummary s) =>
            table.AddRow(name, HistReport.Us(s.P50), HistReport.Us(s.P90), HistReport.Us(s.P99), HistReport.Us(s.P999), HistReport.Us(s.P9999), HistReport.Us(s.Max), HistReport.Us(s.Jitter), HistReport.Us(s.IntervalMaxP50), s.Count.ToString("N0", ic));
    }

    /// <summary>One line of jitter beside the table: collections and pause time while telemetry ran.</summary>
    internal static string JitterLine(ReplayReport report)
    {
        GcJitter gc = report.Gc;
        return string.Create(CultureInfo.InvariantCulture, $"jitter: {gc.Collections} GC collections (gen0/1/2 {gc.Gen0}/{gc.Gen1}/{gc.Gen2}), {gc.TotalPause.TotalMilliseconds:F3} ms paused in total, worst interval {gc.MaxIntervalPause.TotalMilliseconds:F3} ms");
    }

    /// <summary>`--metrics PORT` or `ADDRESS:PORT` → endpoint options; null when not asked for.</summary>
    internal static MetricsEndpointOptions? ParseMetrics(string? value, bool allowRemote)
    {
        if (value is null)
        {
            return null;
        }

        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 0 and <= 65535)
        {
            return new MetricsEndpointOptions { Port = port, AllowNonLoopback = allowRemote };
        }

        if (IPEndPoint.TryParse(value, out IPEndPoint? endPoint))
        {
            return new MetricsEndpointOptions { Address = endPoint.Address, Port = endPoint.Port, AllowNonLoopback = allowRemote };
        }

        throw new FormatException($"--metrics '{value}': give a port (9464) or ADDRESS:PORT (127.0.0.1:9464).");
    }
}
