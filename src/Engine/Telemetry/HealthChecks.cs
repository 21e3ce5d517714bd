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
/// that has not moved for longer than its stall limit fails it. Readiness: every registered
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
    private readonly List<Progress> _progress = [];
    private readonly List<(string Name, Func<bool> IsReady, string Meaning)> _readiness = [];

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
            long now = MonotonicClock.NowNs();
            var results = new List<HealthCheckResult>(_progress.Count);
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
