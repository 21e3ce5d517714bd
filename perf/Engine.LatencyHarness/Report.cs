using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Engine.Telemetry;
using HdrHistogram;
using Spectre.Console;

namespace Engine.LatencyHarness;

/// <summary>One measured variant: percentiles in ns, throughput, allocation.</summary>
public sealed record Row(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("p50_ns")] long P50,
    [property: JsonPropertyName("p90_ns")] long P90,
    [property: JsonPropertyName("p99_ns")] long P99,
    [property: JsonPropertyName("p999_ns")] long P999,
    [property: JsonPropertyName("p9999_ns")] long P9999,
    [property: JsonPropertyName("max_ns")] long Max,
    [property: JsonPropertyName("count")] long Count,
    [property: JsonPropertyName("ops_per_s")] double OpsPerSecond,
    [property: JsonPropertyName("bytes_per_op")] double BytesPerOp)
{
    public static Row From(string name, HistogramBase h, double opsPerSecond, double bytesPerOp)
    {
        LatencySummary s = LatencySummary.From(name, h);
        return new Row(name, s.P50, s.P90, s.P99, s.P999, s.P9999, s.Max, s.Count, opsPerSecond, bytesPerOp);
    }
}

/// <summary>A comparison asked for by an issue, computed from rows of the same run.</summary>
public sealed record Ratio(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("value")] double Value,
    [property: JsonPropertyName("target")] string Target);

/// <summary>What a scenario produced.</summary>
public sealed record ScenarioResult(
    [property: JsonPropertyName("scenario")] string Scenario,
    [property: JsonPropertyName("machine")] string Machine,
    [property: JsonPropertyName("rows")] IReadOnlyList<Row> Rows,
    [property: JsonPropertyName("ratios")] IReadOnlyList<Ratio> Ratios,
    [property: JsonPropertyName("notes")] IReadOnlyList<string> Notes)
{
    public void Print()
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        AnsiConsole.MarkupLine(ic, "[bold]{0}[/] on {1}", Scenario, Markup.Escape(Machine));
        var table = new Table().AddColumn("variant");
        foreach (string h in new[] { "p50 µs", "p90", "p99", "p99.9", "p99.99", "max", "count", "ops/s", "bytes/op" })
        {
            table.AddColumn(new TableColumn(h).RightAligned());
        }

        foreach (Row r in Rows)
        {
            table.AddRow(Markup.Escape(r.Name), Us(r.P50), Us(r.P90), Us(r.P99), Us(r.P999), Us(r.P9999), Us(r.Max), r.Count.ToString("N0", ic), r.OpsPerSecond.ToString("N0", ic), r.BytesPerOp.ToString("N1", ic));
        }

        AnsiConsole.Write(table);
        if (Ratios.Count > 0)
        {
            var ratios = new Table().AddColumn("ratio").AddColumn(new TableColumn("value").RightAligned()).AddColumn("target");
            foreach (Ratio r in Ratios)
            {
                ratios.AddRow(Markup.Escape(r.Name), r.Value.ToString("F3", ic), Markup.Escape(r.Target));
            }

            AnsiConsole.Write(ratios);
        }

        foreach (string note in Notes)
        {
            AnsiConsole.MarkupLine("note: {0}", Markup.Escape(note));
        }

        static string Us(long ns) => (ns / 1000.0).ToString("F3", CultureInfo.InvariantCulture);
    }

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public void WriteJson(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, JsonSerializer.Serialize(this, s_json));
    }
}
