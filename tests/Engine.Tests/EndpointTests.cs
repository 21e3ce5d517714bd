using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Text.RegularExpressions;
using Engine.Telemetry;

namespace Engine.Tests;

[TestFixture]
public sealed partial class EndpointTests
{
    [Test]
    public async Task MetricsAreServedOnLoopbackInPrometheusTextFormat()
    {
        using var telemetry = new LatencyTelemetry();
        ModelLatency demo = telemetry.ForModel("demo");
        for (int i = 1; i <= 1000; i++)
        {
            telemetry.Record(LatencyStage.Ring, i * 100);
            demo.Inference.Record(900 + (i % 10));
        }

        telemetry.Counters.Register(TelemetryCounters.EventsRejected, "Messages rejected, by reason.", () => 3, "reason", "LengthMismatch");
        TelemetryCounter gaps = telemetry.Counters.Create(TelemetryCounters.Gaps, "Sequence gaps.");
        gaps.Add(2);
        telemetry.Cut();

        using var endpoint = new MetricsEndpoint(telemetry, new HealthChecks(), new MetricsEndpointOptions { Port = 0 });
        endpoint.Start();
        Assert.That(IPAddress.IsLoopback(endpoint.LocalEndPoint.Address), Is.True, "loopback by default");
        using var client = new HttpClient { BaseAddress = new Uri($"http://{endpoint.LocalEndPoint}") };
        using HttpResponseMessage response = await client.GetAsync("/metrics");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType!.ToString(), Does.StartWith("text/plain; version=0.0.4"));
        string text = await response.Content.ReadAsStringAsync();

        Dictionary<string, string> types = ParseExposition(text, out List<(string Name, Dictionary<string, string> Labels, double Value)> samples);
        Assert.That(types["engine_latency_seconds"], Is.EqualTo("histogram"));
        Assert.That(types["engine_latency_interval_seconds"], Is.EqualTo("gauge"));
        Assert.That(types[TelemetryCounters.Gaps], Is.EqualTo("counter"));

        List<(double Le, double Count)> ringBuckets = [.. samples
            .Where(s => s.Name == "engine_latency_seconds_bucket" && s.Labels["stage"] == "ring" && !s.Labels.ContainsKey("model"))
            .Select(s => (s.Labels["le"] == "+Inf" ? double.PositiveInfinity : double.Parse(s.Labels["le"], CultureInfo.InvariantCulture), s.Value))];
        Assert.That(ringBuckets.Select(b => b.Le), Is.Ordered, "buckets in increasing le");
        Assert.That(ringBuckets.Select(b => b.Count), Is.Ordered, "cumulative counts never decrease");
        Assert.That(ringBuckets[^1].Count, Is.EqualTo(1000));
        Assert.That(ringBuckets.Single(b => b.Le == 50e-6).Count, Is.EqualTo(500), "values 100 ns .. 100 µs: half at or below 50 µs");
        Assert.That(Sample(samples, "engine_latency_seconds_count", ("stage", "ring")), Is.EqualTo(1000));
        Assert.That(Sample(samples, "engine_latency_seconds_sum", ("stage", "ring")), Is.EqualTo(0.05005).Within(0.2).Percent, "Σ 100 ns × i for i = 1..1000");
        Assert.That(Sample(samples, "engine_latency_interval_seconds", ("stage", "ring"), ("quantile", "0.5")), Is.EqualTo(50e-6).Within(0.1).Percent);
        Assert.That(Sample(samples, "engine_latency_seconds_count", ("stage", "inference"), ("model", "demo")), Is.EqualTo(1000), "per-model series");
        Assert.That(Sample(samples, TelemetryCounters.EventsRejected, ("reason", "LengthMismatch")), Is.EqualTo(3));
        Assert.That(Sample(samples, TelemetryCounters.Gaps), Is.EqualTo(2));
        Assert.That(Sample(samples, "engine_gc_collections_total", ("generation", "0")), Is.GreaterThanOrEqualTo(0));
        Assert.That(Sample(samples, "engine_telemetry_intervals_total"), Is.EqualTo(1));
    }

    [Test]
    public void InterleavedRegistrationsRenderEachFamilyOnce()
    {
        using var telemetry = new LatencyTelemetry();
        TelemetryCounters counters = telemetry.Counters;
        counters.Register(TelemetryCounters.Gaps, "Sequence gaps.", () => 4, "line", "A");
        counters.Register(TelemetryCounters.Duplicates, "Duplicates dropped.", () => 7, "line", "A");
        counters.Register(TelemetryCounters.Gaps, "Sequence gaps.", () => 5, "line", "B");
        counters.Register(TelemetryCounters.Duplicates, "Duplicates dropped.", () => 8, "line", "B");
        counters.Register(TelemetryCounters.Gaps, "Sequence gaps.", () => 6, "line", "merged");

        string text = new PrometheusText().Render(telemetry).ToString();

        // The parser fails on a second HELP/TYPE of one family and on a sample away from its family's header.
        Dictionary<string, string> types = ParseExposition(text, out List<(string Name, Dictionary<string, string> Labels, double Value)> samples);
        Assert.That(types[TelemetryCounters.Gaps], Is.EqualTo("counter"));
        Assert.That(Regex.Count(text, $"# TYPE {TelemetryCounters.Gaps} "), Is.EqualTo(1));
        Assert.That(Regex.Count(text, $"# HELP {TelemetryCounters.Duplicates} "), Is.EqualTo(1));
        Assert.That(Sample(samples, TelemetryCounters.Gaps, ("line", "A")), Is.EqualTo(4));
        Assert.That(Sample(samples, TelemetryCounters.Gaps, ("line", "B")), Is.EqualTo(5));
        Assert.That(Sample(samples, TelemetryCounters.Gaps, ("line", "merged")), Is.EqualTo(6));
        Assert.That(Sample(samples, TelemetryCounters.Duplicates, ("line", "B")), Is.EqualTo(8));
    }

    [Test]
    public async Task HealthReportsAStalledConsumerAndReadiness()
    {
        using var telemetry = new LatencyTelemetry();
        var health = new HealthChecks();
        long published = 10, consumed = 10;
        bool modelReady = false;
        health.AddProgress("stage", () => Volatile.Read(ref published), () => Volatile.Read(ref consumed), TimeSpan.FromMilliseconds(200));
        health.AddReadiness("model", () => Volatile.Read(ref modelReady), "model demo loaded and warmed");
        using var endpoint = new MetricsEndpoint(telemetry, health, new MetricsEndpointOptions { Port = 0 });
        endpoint.Start();
        using var client = new HttpClient { BaseAddress = new Uri($"http://{endpoint.LocalEndPoint}") };

        (HttpStatusCode status, JsonElement body) = await Get(client, "/health/live");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), "nothing pending");
        Assert.That(body.GetProperty("status").GetString(), Is.EqualTo("ok"));

        (status, body) = await Get(client, "/health/ready");
        Assert.That(status, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "model not loaded yet");
        Assert.That(body.GetProperty("checks")[0].GetProperty("detail").GetString(), Does.Contain("not yet: model demo loaded and warmed"));
        Volatile.Write(ref modelReady, true);
        (status, _) = await Get(client, "/health/ready");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));

        // Work is published but the consumer does not move: live until the stall limit passes, then not.
        Volatile.Write(ref published, 20);
        (status, _) = await Get(client, "/health/live");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), "pending, but within the stall limit");
        await Task.Delay(400);
        (status, body) = await Get(client, "/health/live");
        Assert.That(status, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(body.GetProperty("checks")[0].GetProperty("detail").GetString(), Does.StartWith("stalled: consumer at 10 with 10 pending"));

        Volatile.Write(ref consumed, 15);
        (status, _) = await Get(client, "/health/live");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), "advancing again");
    }

    [Test]
    public void AStalledLiveFeedFailsLivenessEvenWithNothingPending()
    {
        long nowNs = 0, received = 0;
        bool connected = false;
        var health = new HealthChecks(() => nowNs);
        health.AddProgress("stage", () => 100, () => 100, TimeSpan.FromSeconds(2));
        health.AddFeedProgress("feed_progress", () => received, () => connected, TimeSpan.FromSeconds(3));

        Assert.That(health.Live().Healthy, Is.True, "not connected yet: readiness's business");
        connected = true;
        Assert.That(health.Live().Healthy, Is.True, "just connected: the window starts now");
        nowNs = 2_000_000_000;
        Assert.That(health.Live().Healthy, Is.True, "2 s without a datagram, within the 3 s window");
        received = 1;
        nowNs = 4_000_000_000;
        Assert.That(health.Live().Healthy, Is.True, "a heartbeat arrived");

        // Scripted stall: the stage has nothing pending, but nothing arrives for 3 s.
        nowNs = 7_000_000_000;
        HealthReport stalled = health.Live();
        Assert.That(stalled.Healthy, Is.False);
        HealthCheckResult feed = stalled.Checks.Single(c => c.Name == "feed_progress");
        Assert.That(feed.Detail, Does.StartWith("stalled: connected but no datagram or heartbeat for 3000 ms"));
        Assert.That(stalled.Checks.Single(c => c.Name == "stage").Healthy, Is.True, "the stage check alone would call this live");

        received = 2;
        nowNs = 7_100_000_000;
        Assert.That(health.Live().Healthy, Is.True, "receiving again");
        connected = false;
        nowNs = 60_000_000_000;
        Assert.That(health.Live().Healthy, Is.True, "disconnected: not watched");
    }

    [Test]
    public async Task UnknownPathsAndMethodsAreRefusedPlainly()
    {
        using var telemetry = new LatencyTelemetry();
        using var endpoint = new MetricsEndpoint(telemetry, new HealthChecks(), new MetricsEndpointOptions { Port = 0 });
        endpoint.Start();
        using var client = new HttpClient { BaseAddress = new Uri($"http://{endpoint.LocalEndPoint}") };
        using HttpResponseMessage missing = await client.GetAsync("/nope");
        Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await missing.Content.ReadAsStringAsync(), Does.Contain("/metrics"));
        using HttpResponseMessage post = await client.PostAsync("/metrics", new StringContent("x"));
        Assert.That(post.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        using HttpResponseMessage query = await client.GetAsync("/metrics?x=1");
        Assert.That(query.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(endpoint.Requests, Is.EqualTo(3));
    }

    [Test]
    public void BindingBeyondLoopbackNeedsExplicitConfiguration()
    {
        using var telemetry = new LatencyTelemetry();
        Assert.That(() => new MetricsEndpoint(telemetry, new HealthChecks(), new MetricsEndpointOptions { Address = IPAddress.Any, Port = 0 }),
            Throws.ArgumentException.With.Message.Contains("not a loopback address").And.Message.Contains("AllowNonLoopback"));
    }

    private static async Task<(HttpStatusCode, JsonElement)> Get(HttpClient client, string path)
    {
        using HttpResponseMessage response = await client.GetAsync(path);
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/json"));
        using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, doc.RootElement.Clone());
    }

    private static double Sample(List<(string Name, Dictionary<string, string> Labels, double Value)> samples, string name, params (string Key, string Value)[] labels)
    {
        foreach ((string n, Dictionary<string, string> l, double v) in samples)
        {
            if (n == name && l.Count == labels.Length && labels.All(x => l.TryGetValue(x.Key, out string? value) && value == x.Value))
            {
                return v;
            }
        }

        return double.NaN;
    }

    // Prometheus text exposition format 0.0.4: every line is a HELP, a TYPE, or a sample of a declared family.
    private static Dictionary<string, string> ParseExposition(string text, out List<(string, Dictionary<string, string>, double)> samples)
    {
        var types = new Dictionary<string, string>();
        var helps = new HashSet<string>();
        string? current = null;
        samples = [];
        Assert.That(text, Does.EndWith("\n"));
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Match m;
            if ((m = HelpLine().Match(line)).Success)
            {
                Assert.That(helps.Add(m.Groups[1].Value), Is.True, $"one HELP per family: {line}");
            }
            else if ((m = TypeLine().Match(line)).Success)
            {
                Assert.That(types.TryAdd(m.Groups[1].Value, m.Groups[2].Value), Is.True, $"one TYPE per family: {line}");
                current = m.Groups[1].Value;
            }
            else if ((m = SampleLine().Match(line)).Success)
            {
                string name = m.Groups["name"].Value;
                string family = Regex.Replace(name, "_(bucket|sum|count)$", "");
                Assert.That(types.ContainsKey(name) || (types.TryGetValue(family, out string? t) && t == "histogram"), Is.True, $"sample of an undeclared family: {line}");
                Assert.That(name == current || (family == current && types[current] == "histogram"), Is.True, $"a family's samples follow its own TYPE line, together: {line}");
                var labels = new Dictionary<string, string>();
                foreach (Match l in LabelPair().Matches(m.Groups["labels"].Value))
                {
                    labels.Add(l.Groups[1].Value, l.Groups[2].Value);
                }

                string value = m.Groups["value"].Value;
                samples.Add((name, labels, value == "+Inf" ? double.PositiveInfinity : double.Parse(value, CultureInfo.InvariantCulture)));
            }
            else
            {
                Assert.Fail($"not Prometheus text format: '{line}'");
            }
        }

        return types;
    }

    [GeneratedRegex(@"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$")]
    private static partial Regex HelpLine();

    [GeneratedRegex(@"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$")]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\]|\\.)*""(,[a-zA-Z_][a-zA-Z0-9_]*=""(?:[^""\\]|\\.)*"")*)\})? (?<value>[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|\+Inf|-Inf|NaN)$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
