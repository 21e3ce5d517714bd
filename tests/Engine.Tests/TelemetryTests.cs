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
        Assert.That(text, Does.Contain("#[BaseTime: "));
        Assert.That(stream.ToArray().Take(3), Is.Not.EqualTo(new byte[] { 0xEF, 0xBB, 0xBF }), "plain ASCII, no BOM");

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
    }

    [Test]
    public void SummariesReportEveryStageInPathOrder()
    {
        using var telemetry = new LatencyTelemetry();
        telemetry.Record(LatencyStage.Ring, 100);
        telemetry.Cut();
        IReadOnlyList<LatencySummary> s = telemetry.Summaries();
        Assert.That(s.Select(x => x.Name), Is.EqualTo(new[] { "ring", "features", "inference", "signal", "tick_to_signal" }));
        Assert.That(s[0].Count, Is.EqualTo(1));
        Assert.That(s[0].P50, Is.EqualTo(100));
        Assert.That(s[1].Count, Is.Zero);
    }

    [Test]
    public void RecordingAllocatesNothing()
    {
        using var telemetry = new LatencyTelemetry();
        telemetry.Record(LatencyStage.Features, 1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000_000; i++)
        {
            telemetry.Record(LatencyStage.Features, i);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    private sealed class NonClosingStream(Stream inner) : Stream
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
