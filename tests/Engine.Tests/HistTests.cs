using System.Text.Json;
using Engine.Cli;
using Engine.Cli.Hist;
using Engine.Telemetry;
using HdrHistogram;
using SkiaSharp;

namespace Engine.Tests;

[TestFixture]
public sealed class HistTests
{
    private string _dir = "";

    [SetUp]
    public void CreateFolder() => _dir = Directory.CreateTempSubdirectory("hist-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes a log of <paramref name="intervals"/> one-second intervals; each interval holds 1000 uniform values of tick_to_signal up to <paramref name="maxNs"/>, and ring values half as large.</summary>
    private string WriteLog(string name, long maxNs, int intervals = 3, DateTimeOffset? start = null)
    {
        string path = Path.Combine(_dir, name);
        DateTimeOffset t0 = start ?? new DateTimeOffset(2025, 6, 2, 14, 30, 0, TimeSpan.Zero);
        using var writer = new HlogWriter(File.Create(path), t0);
        for (int k = 0; k < intervals; k++)
        {
            foreach ((string tag, long max) in new[] { ("tick_to_signal", maxNs), ("ring", maxNs / 2) })
            {
                var h = new TelemetryHistogram(0, 1, LatencyTelemetry.HighestTrackableNs, 3)
                {
                    Tag = tag,
                    StartTimeStamp = t0.ToUnixTimeMilliseconds() + (k * 1000),
                    EndTimeStamp = t0.ToUnixTimeMilliseconds() + ((k + 1) * 1000),
                };
                for (int i = 1; i <= 1000; i++)
                {
                    h.RecordValue(max * i / 1000);
                }

                writer.Append(h);
            }
        }

        writer.Flush();
        return path;
    }

    [Test]
    public void TableMergesIntervalsPerTagWithinTheWindow()
    {
        string log = WriteLog("a.hlog", 1_000_000, intervals: 4);
        HlogFile file = HlogFile.Load(log);
        Assert.That(file.Tags, Is.EqualTo(new[] { "tick_to_signal", "ring" }));
        Assert.That(file.StartTime, Is.EqualTo(new DateTimeOffset(2025, 6, 2, 14, 30, 0, TimeSpan.Zero)));

        MergedTag all = file.Merge("tick_to_signal", TimeWindow.All)!;
        Assert.That(all.Histogram.TotalCount, Is.EqualTo(4000));
        Assert.That(all.Summary.P99, Is.EqualTo(990_000).Within(0.1).Percent);
        Assert.That(all.Intervals, Is.EqualTo(4));

        // Seconds from the start, a UTC time of day, an ISO instant: the same two middle intervals.
        foreach ((string from, string to) in new[] { ("1", "3"), ("14:30:01", "14:30:03"), ("2025-06-02T14:30:01Z", "2025-06-02T14:30:03Z") })
        {
            MergedTag window = file.Merge("tick_to_signal", TimeWindow.Parse(from, to, file.StartTime))!;
            Assert.That(window.Intervals, Is.EqualTo(2), $"--from {from} --to {to}");
            Assert.That(window.From, Is.EqualTo(file.StartTime.AddSeconds(1)));
            Assert.That(window.To, Is.EqualTo(file.StartTime.AddSeconds(3)));
        }

        Assert.That(() => TimeWindow.Parse("yesterday", null, file.StartTime), Throws.TypeOf<HlogException>().With.Message.Contains("not a time"));
    }

    [Test]
    public void JsonAndHgrmOutputs()
    {
        string log = WriteLog("a.hlog", 2_000_000);
        string hgrm = Path.Combine(_dir, "t2s.hgrm");
        var stdout = new StringWriter();
        TextWriter previous = Console.Out;
        Console.SetOut(stdout);
        try
        {
            Assert.That(Commands.HistTable(log, "tick_to_signal", null, null, json: true, hgrm), Is.Zero);
        }
        finally
        {
            Console.SetOut(previous);
        }

        using JsonDocument doc = JsonDocument.Parse(stdout.ToString());
        JsonElement row = doc.RootElement.GetProperty("rows")[0];
        Assert.That(row.GetProperty("tag").GetString(), Is.EqualTo("tick_to_signal"));
        Assert.That(row.GetProperty("count").GetInt64(), Is.EqualTo(3000));
        Assert.That(row.GetProperty("p50_us").GetDouble(), Is.EqualTo(1000).Within(0.1).Percent);
        Assert.That(row.GetProperty("max_us").GetDouble(), Is.EqualTo(2000).Within(0.1).Percent);
        Assert.That(row.GetProperty("intervals").GetInt32(), Is.EqualTo(3));
        Assert.That(doc.RootElement.GetProperty("unit").GetString(), Is.EqualTo("us"));

        string[] lines = File.ReadAllLines(hgrm);
        Assert.That(lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "Value", "Percentile", "TotalCount", "1/(1-Percentile)" }));
        string[] median = lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).First(f => f.Length == 4 && f[1].StartsWith("0.5", StringComparison.Ordinal));
        Assert.That(double.Parse(median[0], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(1000).Within(0.2).Percent, "values in µs");
        Assert.That(lines, Has.Some.StartsWith("#[Max"));
        Assert.That(lines, Has.Some.Contains("Total count"));
    }

    [Test]
    public void MergeWritesEveryIntervalOfBothLogsReadableByHdrHistogram()
    {
        string a = WriteLog("a.hlog", 1_000_000, intervals: 2);
        string b = WriteLog("b.hlog", 4_000_000, intervals: 3, start: new DateTimeOffset(2025, 6, 2, 14, 30, 10, TimeSpan.Zero));
        string merged = Path.Combine(_dir, "c.hlog");
        int n = HlogMerge.Merge([HlogFile.Load(a), HlogFile.Load(b)], File.Create(merged));
        Assert.That(n, Is.EqualTo(10));

        using FileStream stream = File.OpenRead(merged);
        List<HistogramBase> read = [.. new HistogramLogReader(stream).ReadHistograms()];
        Assert.That(read, Has.Count.EqualTo(10));
        Assert.That(read.Select(h => h.StartTimeStamp), Is.Ordered);
        HlogFile c = HlogFile.Load(merged);
        Assert.That(c.StartTime, Is.EqualTo(new DateTimeOffset(2025, 6, 2, 14, 30, 0, TimeSpan.Zero)));
        LatencySummary t2s = c.Merge("tick_to_signal", TimeWindow.All)!.Summary;
        Assert.That(t2s.Count, Is.EqualTo(5000));
        Assert.That(t2s.Max, Is.EqualTo(4_000_000).Within(0.1).Percent);
    }

    [Test]
    public void CompareExitsNonZeroOnlyWhenTheChosenPercentileRegressesPastTheThreshold()
    {
        // 10 intervals: 10,000 samples per tag, so p99.9 has the 10 samples beyond it the gate needs.
        string baseline = WriteLog("base.hlog", 1_000_000, intervals: 10);
        string same = WriteLog("same.hlog", 1_000_000, intervals: 10);
        string worse = WriteLog("worse.hlog", 1_500_000, intervals: 10);
        string better = WriteLog("better.hlog", 800_000, intervals: 10);

        Assert.That(Commands.HistCompareRun(baseline, same, null, "p99.9", 1.10, json: false), Is.EqualTo(HistCompare.ExitOk));
        Assert.That(Commands.HistCompareRun(baseline, better, null, "p99.9", 1.10, json: false), Is.EqualTo(HistCompare.ExitOk));
        Assert.That(Commands.HistCompareRun(baseline, worse, null, "p99.9", 1.10, json: false), Is.EqualTo(HistCompare.ExitRegression));
        Assert.That(Commands.HistCompareRun(baseline, worse, null, "p99.9", 1.60, json: false), Is.EqualTo(HistCompare.ExitOk), "within a looser threshold");
        Assert.That(Commands.HistCompareRun(baseline, worse, "ring", "max", 1.10, json: false), Is.EqualTo(HistCompare.ExitRegression));
        Assert.That(Commands.HistCompareRun(baseline, worse, null, null, 1.10, json: false), Is.EqualTo(HistCompare.ExitOk), "no gate: report only");

        IReadOnlyList<TagComparison> rows = HistCompare.Compare(HlogFile.Load(baseline), HlogFile.Load(worse), "tick_to_signal");
        Assert.That(rows.Single().Ratio("p50"), Is.EqualTo(1.5).Within(0.5).Percent);

        // Bad input: exit 2 with a message, through the command line itself.
        Assert.That(Commands.Build().Parse(["hist", "compare", baseline, Path.Combine(_dir, "missing.hlog")]).Invoke(), Is.EqualTo(HistCompare.ExitBadInput));
        Assert.That(Commands.Build().Parse(["hist", "compare", baseline, worse, "--tag", "nope"]).Invoke(), Is.EqualTo(HistCompare.ExitBadInput));
        Assert.That(Commands.Build().Parse(["hist", "compare", baseline, worse, "--fail-on", "p42"]).Invoke(), Is.EqualTo(HistCompare.ExitBadInput));
        Assert.That(Commands.Build().Parse(["hist", "compare", baseline, worse, "--fail-on", "p99"]).Invoke(), Is.EqualTo(HistCompare.ExitRegression));
    }

    /// <summary>Writes one one-second interval per entry of <paramref name="tags"/>: <c>count</c> values spread uniformly up to <c>maxNs</c>.</summary>
    private string WriteTags(string name, params (string Tag, long MaxNs, int Count)[] tags)
    {
        string path = Path.Combine(_dir, name);
        DateTimeOffset t0 = new(2025, 6, 2, 14, 30, 0, TimeSpan.Zero);
        using var writer = new HlogWriter(File.Create(path), t0);
        foreach ((string tag, long max, int count) in tags)
        {
            var h = new TelemetryHistogram(0, 1, LatencyTelemetry.HighestTrackableNs, 3) { Tag = tag, StartTimeStamp = t0.ToUnixTimeMilliseconds(), EndTimeStamp = t0.ToUnixTimeMilliseconds() + 1000 };
            for (int i = 1; i <= count; i++)
            {
                h.RecordValue(max * i / count);
            }

            writer.Append(h);
        }

        writer.Flush();
        return path;
    }

    [Test]
    public void GateLeavesTheHiccupTagOutUnlessNamed()
    {
        string a = WriteTags("a.hlog", ("tick_to_signal", 1_000_000, 20_000), (HiccupMeter.Tag, 50_000, 20_000));
        string b = WriteTags("b.hlog", ("tick_to_signal", 1_000_000, 20_000), (HiccupMeter.Tag, 400_000, 20_000));

        Assert.That(Commands.HistCompareRun(a, b, null, "p99.9", 1.10, json: false), Is.EqualTo(HistCompare.ExitOk), "the machine stalled more, the build did not change");
        Assert.That(Commands.HistCompareRun(a, b, HiccupMeter.Tag, "p99.9", 1.10, json: false), Is.EqualTo(HistCompare.ExitRegression), "named explicitly: gated");

        GateResult gate = HistCompare.Gate(HistCompare.Compare(HlogFile.Load(a), HlogFile.Load(b), null), "p99.9", 1.10, tagNamed: false);
        Assert.That(gate.Regressions, Is.Empty);
        Assert.That(gate.Skipped.Single().Tag, Is.EqualTo(HiccupMeter.Tag));
        Assert.That(gate.Skipped.Single().Reason, Does.Contain("--tag hiccup"));

        // A log against itself merged twice: the same data, so never a regression.
        string twice = Path.Combine(_dir, "a+a.hlog");
        HlogMerge.Merge([HlogFile.Load(a), HlogFile.Load(a)], File.Create(twice));
        Assert.That(Commands.Build().Parse(["hist", "compare", a, twice, "--fail-on", "p99.9"]).Invoke(), Is.EqualTo(HistCompare.ExitOk));
    }

    [Test]
    public void GateSkipsAPercentileWithTooSparseATail()
    {
        // 3,000 samples: 3 lie beyond p99.9 (too few to judge), 30 beyond p99 (enough).
        string a = WriteTags("a.hlog", ("ring", 1_000_000, 3_000));
        string b = WriteTags("b.hlog", ("ring", 2_000_000, 3_000));
        IReadOnlyList<TagComparison> rows = HistCompare.Compare(HlogFile.Load(a), HlogFile.Load(b), null);

        GateResult sparse = HistCompare.Gate(rows, "p99.9", 1.10, tagNamed: false);
        Assert.That(sparse.Regressions, Is.Empty);
        Assert.That(sparse.Skipped.Single().Reason, Does.Contain("3,000 samples leave 3 beyond p99.9"));
        Assert.That(Commands.HistCompareRun(a, b, null, "p99.9", 1.10, json: false), Is.EqualTo(HistCompare.ExitOk));
        Assert.That(Commands.HistCompareRun(a, b, "ring", "p99.9", 1.10, json: false), Is.EqualTo(HistCompare.ExitOk), "naming the tag does not make a sparse tail judgeable");

        Assert.That(HistCompare.Gate(rows, "p99", 1.10, tagNamed: false).Regressions.Single().Tag, Is.EqualTo("ring"));
        Assert.That(Commands.HistCompareRun(a, b, null, "p99", 1.10, json: false), Is.EqualTo(HistCompare.ExitRegression));
        Assert.That(Commands.HistCompareRun(a, b, null, "max", 1.10, json: false), Is.EqualTo(HistCompare.ExitRegression), "max is one sample by definition, judged as asked");
    }

    [Test]
    public void ProgressIsShownOnlyOnAnInteractiveTerminal()
    {
        Assert.That(ConsoleProgress.ShouldShow(outputRedirected: false, interactive: true), Is.True);
        Assert.That(ConsoleProgress.ShouldShow(outputRedirected: true, interactive: true), Is.False, "piped or in a CI log");
        Assert.That(ConsoleProgress.ShouldShow(outputRedirected: false, interactive: false), Is.False);
        if (ConsoleProgress.Enabled)
        {
            Assert.Ignore("stdout is an interactive terminal here: the plain path is not the one taken.");
        }

        // Under the test runner stdout is not a terminal: the work runs plainly and prints nothing extra.
        var captured = new StringWriter();
        TextWriter original = Console.Out;
        Console.SetOut(captured);
        try
        {
            Assert.That(ConsoleProgress.Run("working", () => "3 of 4", () => 42), Is.EqualTo(42));
        }
        finally
        {
            Console.SetOut(original);
        }

        Assert.That(captured.ToString(), Is.Empty);
    }

    [Test]
    public void PlotWritesANonEmptyPngOfTheRequestedSize()
    {
        string log = WriteLog("a.hlog", 3_000_000, intervals: 5);
        string png = Path.Combine(_dir, "latency.png");
        Assert.That(Commands.Build().Parse(["hist", "plot", log, "-o", png, "--width", "1000", "--height", "700"]).Invoke(), Is.Zero);

        byte[] bytes = File.ReadAllBytes(png);
        Assert.That(bytes.AsSpan(0, 8).ToArray(), Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }));
        using SKBitmap bitmap = SKBitmap.Decode(bytes);
        Assert.That((bitmap.Width, bitmap.Height), Is.EqualTo((1000, 700)));

        // Not blank: lines in several colours on a white background.
        var colours = new HashSet<SKColor>();
        for (int y = 0; y < bitmap.Height; y += 3)
        {
            for (int x = 0; x < bitmap.Width; x += 3)
            {
                colours.Add(bitmap.GetPixel(x, y));
            }
        }

        Assert.That(colours, Has.Count.GreaterThan(20));
        Assert.That(Commands.Build().Parse(["hist", "plot", log, "-o", png, "--tag", "nope"]).Invoke(), Is.EqualTo(HistCompare.ExitBadInput));

        // The spectrum line ends at the max (the 100th percentile), at its right edge.
        HistogramBase t2s = HlogFile.Load(log).Merge("tick_to_signal", TimeWindow.All)!.Histogram;
        (double[] xs, double[] ys) = HistPlot.Spectrum(t2s);
        Assert.That(Math.Pow(10, ys[^1]) * 1000, Is.EqualTo((double)t2s.GetMaxValue()).Within(0.1).Percent);
        Assert.That(ys, Is.Ordered, "latency never falls as p rises");
        Assert.That(xs[^1], Is.EqualTo(xs.Max()));
        Assert.That(xs[^1], Is.GreaterThanOrEqualTo(Math.Log10(t2s.TotalCount)));
    }

    [Test]
    public void ReadsTheLogTheReplayWrites()
    {
        // The engine's own .hlog (with its comment lines and per-model tags) through the same reader the tool uses.
        var stream = new MemoryStream();
        using (var telemetry = new LatencyTelemetry(new TelemetryTests.NonClosingStream(stream)))
        {
            telemetry.ForModel("demo").TickToSignal.Record(1_500);
            telemetry.Record(LatencyStage.Ring, 300);
            telemetry.Stop();
        }

        string path = Path.Combine(_dir, "replay.hlog");
        File.WriteAllBytes(path, stream.ToArray());
        HlogFile file = HlogFile.Load(path);
        Assert.That(file.Tags, Is.EquivalentTo(new[] { "ring", "tick_to_signal", "tick_to_signal:demo" }));
        Assert.That(Commands.DefaultPlotTags(file), Is.EqualTo(new[] { "tick_to_signal", "ring" }));
        Assert.That(() => HlogFile.Load(Path.Combine(TestData.Samples, "demo.features.json")), Throws.TypeOf<HlogException>().With.Message.Contains("not a readable"));
    }
}
