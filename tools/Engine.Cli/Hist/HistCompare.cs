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

    /// <summary>Tags whose B/A at <paramref name="column"/> exceeds <paramref name="threshold"/>.</summary>
    public static IReadOnlyList<TagComparison> Regressions(IReadOnlyList<TagComparison> rows, string column, double threshold)
    {
        _ = HistReport.Value(rows[0].A, column); // validates the column name
        return [.. rows.Where(r => r.Ratio(column) > threshold)];
    }

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

    public static string Json(HlogFile a, HlogFile b, IReadOnlyList<TagComparison> rows, string? failOn, double threshold, IReadOnlyList<TagComparison> regressions) =>
        JsonSerializer.Serialize(
            new
            {
                a = a.Path,
                b = b.Path,
                unit = "us",
                fail_on = failOn,
                threshold,
                regressed = regressions.Select(r => r.Tag).ToList(),
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
