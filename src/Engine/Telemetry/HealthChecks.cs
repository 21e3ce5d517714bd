using System.Globalization;
using System.Text;
using Engine.Native;

namespace Engine.Telemetry;

/// <summary>One check's outcome.</summary>
/// <param name="Name">What was checked.</param>
/// <param name="Healthy">Whether it passed.</param>
/// <param name="Detail">Why, in words (with the numbers).</param>
public sealed record HealthCheckResult(string Name, bool Healthy, string Detail);

/// <summary>The outcome of every check of one kind (liveness or readiness).</summary>
/// <param name="Healthy">All checks passed.</param>
/// <param name="Checks">Each check.</param>
public sealed record HealthReport(bool Healthy, IReadOnlyList<HealthCheckResult> Checks)
{
    /// <summary>The report as JSON: <c>{"status":"ok"|"fail","checks":[{"name":…,"healthy":…,"detail":…}]}</c>.</summary>
    public string ToJson()
    {
        var json = new StringBuilder();
        json.Append("{\"status\":\"").Append(Healthy ? "ok" : "fail").Append("\",\"checks\":[");
        for (int i = 0; i < Checks.Count; i++)
        {
            HealthCheckResult c = Checks[i];
            json.Append(i == 0 ? "" : ",").Append("{\"name\":");
            Quote(json, c.Name);
            json.Append(",\"healthy\":").Append(c.Healthy ? "true" : "false").Append(",\"detail\":");
            Quote(json, c.Detail);
            json.Append('}');
        }

        return json.Append("]}").ToString();
    }

    private static void Quote(StringBuilder json, string text) => json.Append(System.Text.Json.JsonSerializer.Serialize(text));
}

/// <summary>
/// Liveness and readiness checks for the health endpoints. Liveness: every registered progress check
/// (a consumer keeping up with what is published to it) advances — a consumer with work pending
/// that has not moved for longer than its stall limit fails it — and every live feed receives
/// datagrams or heartbeats within its window while connected. Readiness: every registered
/// condition holds (models loaded and warmed, feed connected).
/// </summary>
/// <remarks>
/// Registration is a start-up step; <see cref="Live"/> and <see cref="Ready"/> run on the metrics
/// thread and call the registered delegates, which must only read (plain reads of counters owned by
/// the hot threads; a slightly stale value is fine here). Thread-safe.
/// </remarks>
public sealed class HealthChecks
{
    private readonly Lock _gate = new();
    private readonly Func<long> _clockNs;
    private readonly List<Progress> _progress = [];
    private readonly List<FeedProgress> _feeds = [];
    private readonly List<(string Name, Func<bool> IsReady, string Meaning)> _readiness = [];

    /// <summary>Checks timed by the monotonic clock.</summary>
    public HealthChecks()
        : this(MonotonicClock.NowNs)
    {
    }

    /// <summary>Checks timed by <paramref name="clockNs"/> (tests script time with it).</summary>
    internal HealthChecks(Func<long> clockNs) => _clockNs = clockNs;

    /// <summary>
    /// Liveness of a live feed: while <paramref name="connected"/> is true, <paramref name="received"/>
    /// (datagrams and heartbeats, every line) must advance at least once per <paramref name="window"/>.
    /// An exchange sends heartbeats when it has nothing else, so silence for longer than that means the
    /// feed stalled (a dead line, a lost multicast join), even when the stage has nothing pending.
    /// Passes while not connected (readiness reports that).
    /// </summary>
    public void AddFeedProgress(string name, Func<long> received, Func<bool> connected, TimeSpan window)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(received);
        ArgumentNullException.ThrowIfNull(connected);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        lock (_gate)
        {
            _feeds.Add(new FeedProgress(name, received, connected, (long)window.TotalNanoseconds));
        }
    }

    /// <summary>
    /// Liveness: <paramref name="consumed"/> must advance while it is behind <paramref name="published"/>;
    /// no movement for <paramref name="stallAfter"/> with work pending fails the check.
    /// </summary>
    public void AddProgress(string name, Func<long> published, Func<long> consumed, TimeSpan stallAfter)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(published);
        ArgumentNullException.ThrowIfNull(consumed);
        lock (_gate)
        {
            _progress.Add(new Progress(name, published, consumed, (long)stallAfter.TotalNanoseconds));
        }
    }

    /// <summary>Readiness: <paramref name="isReady"/> must return true; <paramref name="meaning"/> says what it means (e.g. "model demo loaded and warmed").</summary>
    public void AddReadiness(string name, Func<bool> isReady, string meaning)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(isReady);
        lock (_gate)
        {
            _readiness.Add((name, isReady, meaning));
        }
    }

    /// <summary>Evaluates the liveness checks now.</summary>
    public HealthReport Live()
    {
        lock (_gate)
        {
            long now = _clockNs();
            var results = new List<HealthCheckResult>(_progress.Count + _feeds.Count);
            foreach (FeedProgress f in _feeds)
            {
                results.Add(f.Evaluate(now));
            }

            foreach (Progress p in _progress)
            {
                results.Add(p.Evaluate(now));
            }

            return new HealthReport(results.TrueForAll(r => r.Healthy), results);
        }
    }

    /// <summary>Evaluates the readiness checks now.</summary>
    public HealthReport Ready()
    {
        lock (_gate)
        {
            var results = new List<HealthCheckResult>(_readiness.Count);
            foreach ((string name, Func<bool> isReady, string meaning) in _readiness)
            {
                bool ok = isReady();
                results.Add(new HealthCheckResult(name, ok, (ok ? "" : "not yet: ") + meaning));
            }

            return new HealthReport(results.TrueForAll(r => r.Healthy), results);
        }
    }

    private sealed class FeedProgress(string name, Func<long> received, Func<bool> connected, long windowNs)
    {
        private long _lastReceived = -1;
        private long _lastChangeNs;
        private bool _wasConnected;

        public HealthCheckResult Evaluate(long now)
        {
            CultureInfo ic = CultureInfo.InvariantCulture;
            if (!connected())
            {
                _wasConnected = false;
                return new HealthCheckResult(name, true, "not connected (readiness reports it); nothing to watch");
            }

            long r = received();
            if (!_wasConnected || r != _lastReceived)
            {
                // A fresh connection starts its window now: the first datagram may take up to one window.
                _wasConnected = true;
                _lastReceived = r;
                _lastChangeNs = now;
                return new HealthCheckResult(name, true, string.Create(ic, $"receiving: {r:N0} datagrams and heartbeats so far"));
            }

            double quietMs = (now - _lastChangeNs) / 1e6;
            return now - _lastChangeNs >= windowNs
                ? new HealthCheckResult(name, false, string.Create(ic, $"stalled: connected but no datagram or heartbeat for {quietMs:F0} ms (window {windowNs / 1e6:F0} ms; {r:N0} received so far)"))
                : new HealthCheckResult(name, true, string.Create(ic, $"last datagram or heartbeat {quietMs:F0} ms ago (window {windowNs / 1e6:F0} ms)"));
        }
    }

    private sealed class Progress(string name, Func<long> published, Func<long> consumed, long stallAfterNs)
    {
        private long _lastConsumed = -1;
        private long _lastChangeNs;

        public HealthCheckResult Evaluate(long now)
        {
            long c = consumed();
            long p = published();
            CultureInfo ic = CultureInfo.InvariantCulture;
            if (c != _lastConsumed)
            {
                _lastConsumed = c;
                _lastChangeNs = now;
                return new HealthCheckResult(name, true, string.Create(ic, $"advancing: consumed {c:N0} of {p:N0} published"));
            }

            if (c >= p)
            {
                return new HealthCheckResult(name, true, string.Create(ic, $"idle: consumed {c:N0} of {p:N0}, nothing pending"));
            }

            double quietMs = (now - _lastChangeNs) / 1e6;
            return now - _lastChangeNs >= stallAfterNs
                ? new HealthCheckResult(name, false, string.Create(ic, $"stalled: consumer at {c:N0} with {p - c:N0} pending, no progress for {quietMs:F0} ms (limit {stallAfterNs / 1e6:F0} ms)"))
                : new HealthCheckResult(name, true, string.Create(ic, $"pending {p - c:N0}, last progress {quietMs:F0} ms ago"));
        }
    }
}
