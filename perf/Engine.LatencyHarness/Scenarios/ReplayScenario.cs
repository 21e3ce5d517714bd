using System.Globalization;
using Engine.Features;
using Engine.Replay;
using Engine.Telemetry;
using FeedHandlers.Capture;
using FeedHandlers.Itch;
using HdrHistogram;

namespace Engine.LatencyHarness.Scenarios;

/// <summary>
/// Tick-to-signal of the bundled replay: the production path (feed thread → ring → stage thread: book,
/// features, ONNX Runtime, signal), paced open loop at 100,000 messages/s, latency from each message's
/// scheduled time. Several rounds; rows merge them, and each round's tick-to-signal is listed beside
/// the platform's own hiccups (a 1 ms sleeper's lateness) over the same round. Each round is paired
/// with a round without the hiccup meter (order alternating) to show what the meter costs the pipeline.
/// </summary>
public static class ReplayScenario
{
    public const double Rate = 100_000;

    public static ScenarioResult Run(bool quick)
    {
        int rounds = quick ? 1 : 5;
        byte[] capture = CaptureFile.ReadAll(Path.Combine(Paths.Samples, "sample.itch.gz"));
        FeatureSpec spec = FeatureSpec.Load(Path.Combine(Paths.Samples, "demo.features.json"));
        var merged = new Dictionary<string, HistogramBase>(StringComparer.Ordinal);
        var rows = new List<Row>();
        var notes = new List<string>();
        var p50Ratios = new List<double>();
        var p99Ratios = new List<double>();
        long ticks = 0;
        long inferences = 0;
        long allocated = 0;
        double seconds = 0;
        for (int round = 1; round <= rounds; round++)
        {
            ReplayReport? withMeter = null, without = null;
            ItchReplaySource? source = null;
            // A B, B A, ...: neither variant always runs first.
            foreach (bool meter in round % 2 == 1 ? new[] { true, false } : [false, true])
            {
                (ReplayReport r, ItchReplaySource s) = RunOnce(capture, spec, meter);
                if (meter)
                {
                    withMeter = r;
                    source = s;
                }
                else
                {
                    without = r;
                }
            }

            ReplayReport report = withMeter!;
            foreach ((string tag, HistogramBase h) in report.Histograms)
            {
                if (h.TotalCount == 0 || tag.Contains(':', StringComparison.Ordinal))
                {
                    continue; // one model: its per-model histograms equal the stage rows
                }

                if (merged.TryGetValue(tag, out HistogramBase? sum))
                {
                    sum.Add(h);
                }
                else
                {
                    merged[tag] = h.Copy();
                }
            }

            double elapsed = report.Run.Elapsed.TotalSeconds;
            ticks += report.Processor.Ticks;
            inferences += report.Processor.Inferences;
            allocated += report.Processor.StageAllocatedBytes;
            seconds += elapsed;
            HistogramBase t2s = report.Histograms["tick_to_signal"];
            HistogramBase t2sWithout = without!.Histograms["tick_to_signal"];
            rows.Add(Row.From($"tick_to_signal round {round}", t2s, report.Processor.Inferences / elapsed, 0));
            rows.Add(Row.From($"  hiccup round {round} (platform)", report.Histograms[HiccupMeter.Tag], report.Histograms[HiccupMeter.Tag].TotalCount / elapsed, 0));
            rows.Add(Row.From($"  tick_to_signal round {round}, no hiccup meter", t2sWithout, without.Processor.Inferences / without.Run.Elapsed.TotalSeconds, 0));
            p50Ratios.Add((double)t2s.GetValueAtPercentile(50) / t2sWithout.GetValueAtPercentile(50));
            p99Ratios.Add((double)t2s.GetValueAtPercentile(99) / t2sWithout.GetValueAtPercentile(99));
            notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: {report.Feed.Read:N0} messages, {report.Processor.Inferences:N0} inferences in {elapsed:F2} s; {source!.LateMessages:N0} sent late; feed thread stalled {source.ProducerStalls} times > 50 µs (longest {source.LongestProducerStallNs / 1e6:F2} ms); GC during run {string.Join('/', report.GcCollectionsDuringRun)}; stage allocated {report.Processor.StageAllocatedBytes:N0} bytes incl. set-up"));
        }

        var merge = new List<Row>();
        foreach (LatencyStage stage in LatencyStages.All)
        {
            string tag = LatencyStages.Tag(stage);
            if (!merged.TryGetValue(tag, out HistogramBase? h))
            {
                continue;
            }

            bool perTick = stage is LatencyStage.Ring or LatencyStage.Publish or LatencyStage.RingWait;
            merge.Add(Row.From(tag, h, (perTick ? ticks : inferences) / seconds, stage == LatencyStage.TickToSignal ? (double)allocated / inferences : 0));
            if (stage == LatencyStage.TickToSignal && merged.TryGetValue(HiccupMeter.Tag, out HistogramBase? hiccup))
            {
                merge.Add(Row.From("hiccup (platform: 1 ms sleeper's extra delay)", hiccup, hiccup.TotalCount / seconds, 0));
            }
        }

        notes.Insert(0, string.Create(CultureInfo.InvariantCulture, $"paced open loop at {Rate:N0} msg/s; {rounds} round(s) merged; latency from each message's scheduled send time (coordinated omission avoided); hiccup = how much later than its best wake-up a 1 ms sleeper woke, same rounds"));
        Ratio[] ratios =
        [
            new("tick_to_signal p50 with / without the hiccup meter (median of rounds)", Median(p50Ratios), "≈ 1: the meter costs the pipeline nothing measurable"),
            new("tick_to_signal p99 with / without the hiccup meter (median of rounds)", Median(p99Ratios), "≈ 1 (p99 is the platform's stalls: noisy)"),
        ];
        return new ScenarioResult("replay", Machine.Describe(), [.. merge, .. rows], ratios, notes);
    }

    private static (ReplayReport Report, ItchReplaySource Source) RunOnce(byte[] capture, FeatureSpec spec, bool hiccupMeter)
    {
        // A clean heap before each round, so no collection is due during it.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var source = new ItchReplaySource(capture, new ReplayPacing(Rate), "bundled sample");
        var log = new PredictionLog(capture.Length / 16);
        return (ReplayRunner.Run(source, spec, spec.ModelPath!, new PredictionLogHandler(log), new ReplayOptions { HiccupMeter = hiccupMeter }), source);
    }

    private static double Median(List<double> values)
    {
        List<double> sorted = [.. values.Order()];
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
