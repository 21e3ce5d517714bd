using System.Text;
using Engine.Telemetry;
using HdrHistogram;

namespace Engine.Tests;

[TestFixture]
public sealed class TelemetryTests
{
    [Test]
    public void HlogRoundTripsThroughHdrHistogramsOwnReader()
    {
        var stream = new MemoryStream();
        using (var telemetry = new LatencyTelemetry(new NonClosingStream(stream)))
        {
            for (long v = 1; v <= 100_000; v++)
            {
                telemetry.Record(LatencyStage.Inference, v * 10);         // uniform 10 ns .. 1 ms
            }

            telemetry.Record(LatencyStage.TickToSignal, 2_500);
            telemetry.Record(LatencyStage.TickToSignal, 20_000_000_000);  // beyond 10 s: clamped, counted
            telemetry.Stop();
            Assert.That(telemetry.ClampedValues, Is.EqualTo(1));
        }

        string text = Encoding.UTF8.GetString(stream.ToArray());
        Assert.That(text, Does.StartWith("#[Histogram log format version 1.3]\n"));
        Assert.That(text, Does.Contain("#[StartTime: "));
        Assert.That(text, Does.Contain("#[BaseTime: "));
        Assert.That(text, Does.Contain("\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"));
        Assert.That(stream.ToArray().Take(3), Is.Not.EqualTo(new byte[] { 0xEF, 0xBB, 0xBF }), "plain ASCII, no BOM");
        Assert.That(stream.ToArray(), Has.All.LessThan(0x80), "ASCII only: the Java tooling reads it");

        stream.Position = 0;
        using var reader = new HistogramLogReader(stream);
        List<HistogramBase> histograms = [.. reader.ReadHistograms()];
        HistogramBase inference = histograms.Single(h => h.Tag == "inference");
        HistogramBase tickToSignal = histograms.Single(h => h.Tag == "tick_to_signal");
        Assert.That(inference.TotalCount, Is.EqualTo(100_000));
        Assert.That(inference.GetValueAtPercentile(50), Is.EqualTo(500_000).Within(0.1).Percent);
        Assert.That(inference.GetValueAtPercentile(99), Is.EqualTo(990_000).Within(0.1).Percent);
        Assert.That(inference.GetMaxValue(), Is.EqualTo(1_000_000).Within(0.1).Percent);
        Assert.That(tickToSignal.TotalCount, Is.EqualTo(2));
        Assert.That((double)tickToSignal.GetMaxValue(), Is.EqualTo((double)LatencyTelemetry.HighestTrackableNs).Within(0.1).Percent);
        Assert.That(reader.GetStartTime(), Is.EqualTo(DateTime.UtcNow).Within(TimeSpan.FromMinutes(5)), "StartTime header parsed as this run's start");
    }

    [Test]
    public void PerModelHistogramsAreTaggedAndMergeIntoTheirStage()
    {
        var stream = new MemoryStream();
        using (var telemetry = new LatencyTelemetry(new NonClosingStream(stream)))
        {
            ModelLatency fast = telemetry.ForModel("fast");
            ModelLatency slow = telemetry.ForModel("slow model.onnx");
            Assert.That(telemetry.ForModel("fast"), Is.SameAs(fast), "one set per model");
            for (int i = 0; i < 1000; i++)
            {
                fast.Inference.Record(1_000);
                slow.Inference.Record(100_000);
            }

            telemetry.Stop();
            IReadOnlyList<LatencySummary> all = telemetry.AllSummaries();
            Assert.That(all.Single(s => s.Name == "inference").Count, Is.EqualTo(2000), "the stage row merges its models");
            Assert.That(all.Single(s => s.Name == "inference:fast").Max, Is.EqualTo(1_000).Within(0.1).Percent);
            LatencySummary slowRow = all.Single(s => s.Name == "inference:slow_model.onnx");
            Assert.That(slowRow.Model, Is.EqualTo("slow_model.onnx"), "names reduced to tag-safe characters");
            Assert.That(slowRow.Stage, Is.EqualTo("inference"));
        }

        stream.Position = 0;
        List<HistogramBase> read = [.. new HistogramLogReader(stream).ReadHistograms()];
        Assert.That(read.Select(h => h.Tag), Is.SupersetOf(new[] { "inference", "inference:fast", "inference:slow_model.onnx" }));
        Assert.That(read.Single(h => h.Tag == "inference").TotalCount, Is.EqualTo(2000));
    }

    [TestCase(1_000L, 1_000_000L)]
    [TestCase(50L, 5_000_000_000L)]
    public void PercentilesOfAUniformDistributionAreExactToThreeDigits(long step, long max)
    {
        using var telemetry = new LatencyTelemetry();
        long n = max / step;
        for (long v = 1; v <= n; v++)
        {
            telemetry.Record(LatencyStage.Features, v * step);
        }

        telemetry.Cut();
        LatencySummary s = telemetry.Summaries().Single(x => x.Name == "features");
        Assert.That(s.Count, Is.EqualTo(n));
        Assert.That((double)s.P50, Is.EqualTo(max * 0.50).Within(0.1).Percent);
        Assert.That((double)s.P90, Is.EqualTo(max * 0.90).Within(0.1).Percent);
        Assert.That((double)s.P99, Is.EqualTo(max * 0.99).Within(0.1).Percent);
        Assert.That((double)s.P999, Is.EqualTo(max * 0.999).Within(0.1).Percent);
        Assert.That((double)s.P9999, Is.EqualTo(max * 0.9999).Within(0.1).Percent);
        Assert.That((double)s.Max, Is.EqualTo((double)max).Within(0.1).Percent);
        Assert.That(s.Jitter, Is.EqualTo(s.P9999 - s.P50));
    }

    [Test]
    public void PercentilesOfABimodalDistributionLandOnEachMode()
    {
        // 99% at 1 µs, 0.9% at 1 ms, 0.1% at 100 ms: p50/p90/p99 on the first mode, p99.9 on the second, p99.99 and max on the third.
        using var telemetry = new LatencyTelemetry();
        for (int i = 0; i < 99_000; i++)
        {
            telemetry.Record(LatencyStage.Signal, 1_000);
        }

        for (int i = 0; i < 900; i++)
        {
            telemetry.Record(LatencyStage.Signal, 1_000_000);
        }

        for (int i = 0; i < 100; i++)
        {
            telemetry.Record(LatencyStage.Signal, 100_000_000);
        }

        telemetry.Cut();
        LatencySummary s = telemetry.Summaries().Single(x => x.Name == "signal");
        Assert.That(new[] { s.P50, s.P90, s.P99 }, Has.All.EqualTo(1_000).Within(0.1).Percent);
        Assert.That(s.P999, Is.EqualTo(1_000_000).Within(0.1).Percent);
        Assert.That(s.P9999, Is.EqualTo(100_000_000).Within(0.1).Percent);
        Assert.That(s.Max, Is.EqualTo(100_000_000).Within(0.1).Percent);
    }

    [Test]
    public void IntervalsKeepTheirOwnMaximaAndTheirMedian()
    {
        using var telemetry = new LatencyTelemetry();
        long[] maxima = [10_000, 20_000, 30_000_000];
        foreach (long max in maxima)
        {
            telemetry.Record(LatencyStage.Ring, 100);
            telemetry.Record(LatencyStage.Ring, max);
            telemetry.Cut();
        }

        telemetry.Cut(); // an empty interval does not count
        LatencySummary ring = telemetry.Summaries().Single(x => x.Name == "ring");
        Assert.That(ring.Intervals, Is.EqualTo(3));
        Assert.That(ring.IntervalMaxP50, Is.EqualTo(20_000).Within(0.1).Percent);
        Assert.That(ring.Max, Is.EqualTo(30_000_000).Within(0.1).Percent);
        Assert.That(telemetry.Intervals, Is.EqualTo(4));
    }

    [Test]
    public void SummariesReportEveryStageInPathOrder()
    {
        using var telemetry = new LatencyTelemetry();
        telemetry.Record(LatencyStage.Ring, 100);
        telemetry.Cut();
        IReadOnlyList<LatencySummary> s = telemetry.Summaries();
        Assert.That(s.Select(x => x.Name), Is.EqualTo(new[] { "exchange_to_receive", "publish", "ring_wait", "ring", "features", "inference", "signal", "tick_to_signal" }));
        Assert.That(s[3].Count, Is.EqualTo(1));
        Assert.That(s[3].P50, Is.EqualTo(100));
        Assert.That(s[4].Count, Is.Zero);
    }

    [Test]
    public void RecordingAllocatesNothing()
    {
        using var telemetry = new LatencyTelemetry();
        ModelLatency model = telemetry.ForModel("demo");
        RingHandOffTimer ring = telemetry.RingHandOff(1024);
        TelemetryCounter gaps = telemetry.Counters.Create(TelemetryCounters.Gaps, "gaps");
        LatencyRecorder hiccup = telemetry.Register("hiccup");
        telemetry.Record(LatencyStage.Features, 1);
        model.TickToSignal.Record(1);
        ring.Published(0, Engine.Native.MonotonicClock.NowNs());
        ring.Dequeued(0, Engine.Native.MonotonicClock.NowNs());
        hiccup.RecordWithExpectedInterval(5_000_000, 1_000_000);
        gaps.Increment();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000_000; i++)
        {
            telemetry.Record(LatencyStage.Features, i);
            model.Inference.Record(i);
            model.TickToSignal.Record(-i);                 // clamped, counted, still no allocation
            ring.Published(i, Engine.Native.MonotonicClock.NowNs());
            ring.Dequeued(i, Engine.Native.MonotonicClock.NowNs());
            hiccup.RecordWithExpectedInterval(i * 10L, 1_000_000);
            gaps.Add(2);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        telemetry.Cut();
        Assert.That(telemetry.Total(LatencyStage.Publish).TotalCount, Is.EqualTo(1_000_001));
        Assert.That(telemetry.Total(LatencyStage.RingWait).TotalCount, Is.EqualTo(1_000_001));
        Assert.That(telemetry.Stage(LatencyStage.RingWait).ClampedValues, Is.Zero, "dequeue never precedes the publish stamp");
        Assert.That(gaps.Value, Is.EqualTo(2_000_001));
        Assert.That(model.TickToSignal.ClampedValues, Is.EqualTo(999_999));
    }

    [Test]
    public void CuttingIntervalsAllocatesNothingOnceWarm()
    {
        // The telemetry thread must not feed the collector: a GC pauses the hot threads too.
        using var telemetry = new LatencyTelemetry();
        ModelLatency model = telemetry.ForModel("demo");
        telemetry.Register("hiccup");
        for (int round = 0; round < 3; round++)
        {
            model.Inference.Record(1_000 + round);
            telemetry.Cut();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 100; round++)
        {
            for (int i = 0; i < 1000; i++)
            {
                model.Inference.Record(i * 997);
                telemetry.Record(LatencyStage.Ring, i);
            }

            telemetry.Cut();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void GcCommentsAreSkippedByTheReader()
    {
        var stream = new MemoryStream();
        using (var writer = new HlogWriter(new NonClosingStream(stream), DateTimeOffset.UtcNow))
        {
            var h = new TelemetryHistogram(0, 1, LatencyTelemetry.HighestTrackableNs, 3) { Tag = "ring", StartTimeStamp = 1000, EndTimeStamp = 2000 };
            h.RecordValue(1234);
            writer.Append(h);
            writer.GcComment(1.0, 1, 0, 0, 0.25);
            writer.Append(h);
            writer.Flush();
        }

        string text = Encoding.ASCII.GetString(stream.ToArray());
        Assert.That(text, Does.Contain("#[GC 1.000: gen0 1 gen1 0 gen2 0 pause 0.250 ms]\n"));
        stream.Position = 0;
        Assert.That(new HistogramLogReader(stream).ReadHistograms().Count(), Is.EqualTo(2));
    }

    [Test]
    public void MaxValueMatchesHdrHistogramsOwn()
    {
        var h = new TelemetryHistogram(0, 1, LatencyTelemetry.HighestTrackableNs, 3);
        Assert.That(h.MaxValue(), Is.Zero);
        foreach (long v in new long[] { 1, 2047, 2048, 123_456, 9_999_999_999 })
        {
            h.RecordValue(v);
            Assert.That(h.MaxValue(), Is.EqualTo(h.GetMaxValue()), $"after {v}");
        }
    }

    [Test]
    public void HiccupMeterRecordsWakeUpsIntoItsOwnTag()
    {
        using var telemetry = new LatencyTelemetry();
        using var meter = new HiccupMeter(telemetry, TimeSpan.FromMilliseconds(1));
        meter.Start();
        SpinWait.SpinUntil(() => meter.Samples >= 20, TimeSpan.FromSeconds(10));
        meter.Stop();
        telemetry.Cut();
        LatencySummary hiccup = telemetry.AllSummaries().Single(s => s.Name == HiccupMeter.Tag);
        Assert.That(hiccup.Count, Is.GreaterThanOrEqualTo(meter.Samples), "every wake-up recorded (plus the samples a long stall implies)");
        Assert.That(meter.ShortestSleepNs, Is.GreaterThanOrEqualTo(1_000_000), "a 1 ms sleep never ends early");
        Assert.That(telemetry.Hiccup, Is.SameAs(meter.Recorder));
        if (OperatingSystem.IsLinux())
        {
            Assert.That(meter.TimerSlackNs, Is.EqualTo(1), "the meter thread's timer slack is set so it measures the platform, not the slack");
        }
    }

    [Test]
    public void CounterValueSitsAfterACacheLineOfPadding()
    {
        var counter = new TelemetryCounter();
        ref byte fields = ref System.Runtime.CompilerServices.Unsafe.As<System.Runtime.CompilerServices.StrongBox<byte>>(counter).Value;
        ref byte value = ref System.Runtime.CompilerServices.Unsafe.As<long, byte>(ref counter.ValueField);
        Assert.That((long)System.Runtime.CompilerServices.Unsafe.ByteOffset(ref fields, ref value), Is.EqualTo(TelemetryCounter.ValueOffset));
    }

    [Test]
    public void CountersRejectDuplicatesAndBadNames()
    {
        var counters = new TelemetryCounters();
        counters.Register(TelemetryCounters.EventsRejected, "rejected", () => 1, "reason", "A");
        counters.Register(TelemetryCounters.EventsRejected, "rejected", () => 2, "reason", "B");
        Assert.That(() => counters.Register(TelemetryCounters.EventsRejected, "rejected", () => 3, "reason", "A"), Throws.ArgumentException.With.Message.Contains("already registered"));
        Assert.That(() => counters.Register(TelemetryCounters.EventsRejected, "other help", () => 3, "reason", "C"), Throws.ArgumentException.With.Message.Contains("help"));
        Assert.That(() => counters.Register("bad name", "x", () => 0), Throws.ArgumentException.With.Message.Contains("not a valid Prometheus"));
        Assert.That(counters.Read(TelemetryCounters.EventsRejected, "B"), Is.EqualTo(2));
        Assert.That(counters.Read(TelemetryCounters.Gaps), Is.Null);
    }

    internal sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => inner.Position = value; }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
