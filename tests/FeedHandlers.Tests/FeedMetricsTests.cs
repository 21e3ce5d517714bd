using Engine.Events;
using Engine.Telemetry;
using FeedHandlers.MoldUdp;

namespace FeedHandlers.Tests;

/// <summary>A feed's sequence counts reach the metrics text through the engine's registration point.</summary>
[TestFixture]
public sealed class FeedMetricsTests
{
    [Test]
    public void ArbiterGapsAndDuplicatesAppearInTheMetricsText()
    {
        var log = new SinkLog();
        var arb = new MoldUdp64Arbiter<LogSink>(new MoldUdp64ArbiterOptions { Lines = 1 }, new LogSink(log), new FeedCounters());
        using var telemetry = new LatencyTelemetry();
        EngineMetrics.RegisterFeedCounts(telemetry.Counters, arb.FeedCounts("moldudp64"));
        var text = new PrometheusText();
        Assert.That(text.Render(telemetry).ToString(), Does.Contain("engine_gaps_total{feed=\"moldudp64\"} 0\n"));

        // Scripted: 1-3, a repeat of 1-3 (3 duplicates), then 6-7 (a gap of 4-5).
        arb.Offer(0, Mold.Data(1, 3), 0, 0);
        arb.Offer(0, Mold.Data(1, 3), 1, 1);
        arb.Offer(0, Mold.Data(6, 2), 2, 2);

        string metrics = text.Render(telemetry).ToString();
        Assert.That(metrics, Does.Contain("# TYPE engine_gaps_total counter\n"));
        Assert.That(metrics, Does.Contain("engine_gaps_total{feed=\"moldudp64\"} 1\n"));
        Assert.That(metrics, Does.Contain("engine_duplicates_total{feed=\"moldudp64\"} 3\n"));
        Assert.That(metrics, Does.Contain("engine_missed_messages_total{feed=\"moldudp64\"} 2\n"));
        Assert.That(telemetry.Counters.Read(TelemetryCounters.Gaps, "moldudp64"), Is.EqualTo(arb.Gaps));
        Assert.That(arb.DatagramsReceived, Is.EqualTo(3));
    }
}
