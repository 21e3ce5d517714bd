using System.Globalization;
using System.Text.Json;
using Engine.Telemetry;
using Spectre.Console;

namespace Engine.Cli.Hist;

/// <summary>One tag of `engine hist compare`: baseline A, candidate B, and B/A per percentile column.</summary>
internal sealed record TagComparison(string Tag, LatencySummary A, LatencySummary B)
{
    public double Ratio(string column)
    {
        long a = HistReport.Value(A, column);
        long b = HistReport.Value(B, column);
        return a == 0 ? (b == 0 ? 1.0 : double.PositiveInfinity) : (double)b / a;
    }
}

/// <summary>A tag the gate did not judge, and why.</summary>
internal sealed record GateSkip(string Tag, string Reason);

/// <summary>What the gate found: regressed tags, and tags it skipped.</summary>
internal sealed record GateResult(IReadOnlyList<TagComparison> Regressions, IReadOnlyList<GateSkip> Skipped)
{
    public static GateResult None { get; } = new([], []);
}

/// <summary>
/// `engine hist compare A.hlog B.hlog`: per common tag, A (baseline) and B (candidate) side by side with
/// B/A per percentile. With <c>--fail-on pXX</c>, B regresses when B/A at that percentile exceeds the
/// threshold, and the exit code says so (a CI gate): 0 no regression, 1 regression, 2 bad input.
/// </summary>
internal static class HistCompare
{
    public const int ExitOk = 0;
    public const int ExitRegression = 1;
    public const int ExitBadInput = 2;

    public static IReadOnlyList<TagComparison> Compare(HlogFile a, HlogFile b, string? tag)
    {
        IReadOnlyList<string> tags = tag is not null
            ? [tag]
            : [.. a.Tags.Where(t => b.Tags.Contains(t))];
        if (tags.Count == 0)
        {
            throw new HlogException($"{a.Path} and {b.Path} share no tag (A: {string.Join(", ", a.Tags)}; B: {string.Join(", ", b.Tags)}).");
        }

        var rows = new List<TagComparison>();
        foreach (string t in tags)
        {
            MergedTag ma = a.Merge(t, TimeWindow.All) ?? throw new HlogException($"{a.Path} has no tag '{t}'; its tags are {string.Join(", ", a.Tags)}.");
            MergedTag mb = b.Merge(t, TimeWindow.All) ?? throw new HlogException($"{b.Path} has no tag '{t}'; its tags are {string.Join(", ", b.Tags)}.");
            rows.Add(new TagComparison(t, ma.Summary, mb.Summary));
        }

        return rows;
    }

    /// <summary>Fewest samples beyond the gated percentile (in the smaller log) for the gate to judge a tag.</summary>
    public const int MinTailSamples = 10;

    /// <summary>
    /// The gate: tags whose B/A at <paramref name="column"/> exceeds <paramref name="threshold"/>, and
    /// the tags it did not judge, with why. The <c>hiccup</c> tag measures the machine, not the build,
    /// so it is judged only when named with <c>--tag</c> (<paramref name="tagNamed"/>). A percentile with
    /// fewer than <see cref="MinTailSamples"/> samples beyond it (count × (1 − p)) is one or two
    /// outliers, not a tail, and is skipped. <c>max</c> is one sample by definition and is judged as asked.
    /// </summary>
    public static GateResult Gate(IReadOnlyList<TagComparison> rows, string column, double threshold, bool tagNamed)
    {
        _ = HistReport.Value(rows[0].A, column); // validates the column name
        double tail = 1.0 - Quantile(column);
        var regressions = new List<TagComparison>();
        var skipped = new List<GateSkip>();
        CultureInfo ic = CultureInfo.InvariantCulture;
        foreach (TagComparison r in rows)
        {
            long count = Math.Min(r.A.Count, r.B.Count);
            if (r.Tag == HiccupMeter.Tag && !tagNamed)
            {
                skipped.Add(new GateSkip(r.Tag, "the platform's own wake-up delay measures the machine, not the build; name it with --tag hiccup to gate on it"));
            }
            else if (column != "max" && count * tail < MinTailSamples)
            {
                skipped.Add(new GateSkip(r.Tag, string.Create(ic, $"{count:N0} samples leave {count * tail:0.#} beyond {column} (fewer than {MinTailSamples}): too sparse a tail to judge")));
            }
            else if (r.Ratio(column) > threshold)
            {
                regressions.Add(r);
            }
        }

        return new GateResult(regressions, skipped);
    }

    private static double Quantile(string column) => column switch
    {
        "p50" => 0.5,
        "p90" => 0.9,
        "p99" => 0.99,
        "p99.9" => 0.999,
        "p99.99" => 0.9999,
        _ => 1.0,
    };

    public static Table Table(IReadOnlyList<TagComparison> rows, string? failOn)
    {
        var table = new Table().Title("latency, µs: A (baseline) vs B (candidate), ratio B/A").AddColumn("tag").AddColumn("run");
        foreach (string c in HistReport.Columns)
        {
            table.AddColumn(new TableColumn(c == failOn ? $"[bold]{c}[/]" : c).RightAligned());
        }

        table.AddColumn(new TableColumn("count").RightAligned());
        CultureInfo ic = CultureInfo.InvariantCulture;
        foreach (TagComparison r in rows)
        {
            table.AddRow([Markup.Escape(r.Tag), "A", .. HistReport.Columns.Select(c => HistReport.Us(HistReport.Value(r.A, c))), r.A.Count.ToString("N0", ic)]);
            table.AddRow(["", "B", .. HistReport.Columns.Select(c => HistReport.Us(HistReport.Value(r.B, c))), r.B.Count.ToString("N0", ic)]);
            table.AddRow(["", "B/A", .. HistReport.Columns.Select(c => FormatRatio(r.Ratio(c))), ""]);
        }

        return table;
    }

    public static string Json(HlogFile a, HlogFile b, IReadOnlyList<TagComparison> rows, string? failOn, double threshold, GateResult gate) =>
        JsonSerializer.Serialize(
            new
            {
                a = a.Path,
                b = b.Path,
                unit = "us",
                fail_on = failOn,
                threshold,
                regressed = gate.Regressions.Select(r => r.Tag).ToList(),
                skipped = gate.Skipped.Select(k => new { tag = k.Tag, reason = k.Reason }).ToList(),
                rows = rows.Select(r => new
                {
                    tag = r.Tag,
                    a = HistReport.Columns.ToDictionary(c => c, c => HistReport.Value(r.A, c) / 1000.0),
                    b = HistReport.Columns.ToDictionary(c => c, c => HistReport.Value(r.B, c) / 1000.0),
                    ratio = HistReport.Columns.ToDictionary(c => c, c => double.IsFinite(r.Ratio(c)) ? r.Ratio(c) : (double?)null),
                    count_a = r.A.Count,
                    count_b = r.B.Count,
                }).ToList(),
            },
            s_json);

    private static string FormatRatio(double ratio) => double.IsFinite(ratio) ? ratio.ToString("F3", CultureInfo.InvariantCulture) : "∞";

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };
}
