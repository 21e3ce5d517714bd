using System.Globalization;
using Engine.Features;
using Engine.Replay;
using FeedHandlers.Capture;
using FeedHandlers.Itch;
using HdrHistogram;

namespace Engine.LatencyHarness.Scenarios;

/// <summary>
/// Tick-to-signal of the bundled replay: the production path (feed thread → ring → stage thread: book,
/// features, ONNX Runtime, signal), paced open loop at 100,000 messages/s, latency from each message's
/// scheduled time. Several rounds; rows merge them, and each round's tick-to-signal is listed too.
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
        long ticks = 0;
        long inferences = 0;
        long allocated = 0;
        double seconds = 0;
        for (int round = 1; round <= rounds; round++)
        {
            // A clean heap before each round, so no collection is due during it.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var source = new ItchReplaySource(capture, new ReplayPacing(Rate), "bundled sample");
            var log = new PredictionLog(capture.Length / 16);
            ReplayReport report = ReplayRunner.Run(source, spec, spec.ModelPath!, new PredictionLogHandler(log));
            foreach ((string tag, HistogramBase h) in report.Histograms)
            {
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
            rows.Add(Row.From($"tick_to_signal round {round}", report.Histograms["tick_to_signal"], report.Processor.Inferences / elapsed, 0));
            notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"round {round}: {report.Feed.Read:N0} messages, {report.Processor.Inferences:N0} inferences in {elapsed:F2} s; {source.LateMessages:N0} sent late; feed thread stalled {source.ProducerStalls} times > 50 µs (longest {source.LongestProducerStallNs / 1e6:F2} ms); GC during run {string.Join('/', report.GcCollectionsDuringRun)}; stage allocated {report.Processor.StageAllocatedBytes:N0} bytes incl. set-up"));
        }

        var merge = new List<Row>();
        foreach ((string tag, HistogramBase h) in merged)
        {
            bool perTick = tag == "ring";
            merge.Add(Row.From(tag, h, (perTick ? ticks : inferences) / seconds, tag == "tick_to_signal" ? (double)allocated / inferences : 0));
        }

        notes.Insert(0, string.Create(CultureInfo.InvariantCulture, $"paced open loop at {Rate:N0} msg/s; {rounds} round(s) merged; latency from each message's scheduled send time (coordinated omission avoided)"));
        return new ScenarioResult("replay", Machine.Describe(), [.. merge, .. rows], [], notes);
    }
}
