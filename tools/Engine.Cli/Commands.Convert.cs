using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using Engine.Cli.Lobster;
using Engine.Events;
using FeedHandlers.Lobster;
using Spectre.Console;

namespace Engine.Cli;

internal static partial class Commands
{
    private static Command ConvertCommand()
    {
        var input = new Option<string>("--input", "-i") { Description = "LOBSTER zip (as LOBSTER distributes it) or message CSV (then give --orderbook).", Required = true };
        var orderbook = new Option<string?>("--orderbook") { Description = "The orderbook CSV matching a message CSV." };
        var output = new Option<string?>("--output", "-o") { Description = "ITCH 5.0 BinaryFILE to write (.gz compresses); default: none (convert, report, verify only)." };
        var verify = new Option<bool>("--verify") { Description = "Replay the ITCH through the engine's ITCH handler and book and compare with every orderbook row, at every level." };
        var lobster = new Command("lobster", "Convert LOBSTER message + orderbook files to NASDAQ TotalView-ITCH 5.0 (synthetic orders for liquidity the messages do not explain, flagged and counted).")
        {
            input, orderbook, output, verify,
        };
        lobster.SetAction(r => ConvertLobster(r.GetValue(input)!, r.GetValue(orderbook), r.GetValue(output), r.GetValue(verify)));
        return new Command("convert", "Convert other formats to ITCH 5.0.") { lobster };
    }

    internal static int ConvertLobster(string input, string? orderbook, string? output, bool verify)
    {
        LobsterData data;
        try
        {
            data = orderbook is null ? LobsterData.FromZip(input) : LobsterData.FromFiles(input, orderbook);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return Fail(ex.Message);
        }

        var clock = Stopwatch.StartNew();
        LobsterConversion conversion = LobsterToItch.Convert(data);
        double seconds = clock.Elapsed.TotalSeconds;
        CultureInfo ic = CultureInfo.InvariantCulture;
        AnsiConsole.MarkupLine(ic, "[bold]convert lobster[/] {0} ({1}, {2} levels) in {3:F2} s", Markup.Escape(data.Source), data.Ticker, data.Levels, seconds);
        LobsterFlowStats s = conversion.Stats;
        var table = new Table().AddColumn("what").AddColumn(new TableColumn("count").RightAligned());
        void Add(string what, long n) => table.AddRow(what, n.ToString("N0", ic));
        Add("LOBSTER rows read", conversion.Rejected.Read);
        Add("LOBSTER rows rejected", conversion.Rejected.Rejected);
        foreach (RejectReason reason in Enum.GetValues<RejectReason>())
        {
            if (conversion.Rejected.RejectedFor(reason) > 0)
            {
                Add($"  rejected: {reason}", conversion.Rejected.RejectedFor(reason));
            }
        }

        table.AddRow("rows by event type", string.Join(' ', conversion.Rejected.ProcessedByType().Select(p => $"{p.Type}:{p.Count.ToString("N0", ic)}")));
        Add("ITCH messages written", conversion.Messages);
        Add("  of which synthetic (tracking number 0x5359)", conversion.SyntheticMessages);
        Add("synthetic add orders", s.SyntheticAdds);
        Add("  shares", s.SyntheticAddedShares);
        Add("synthetic cancels/deletes", s.SyntheticCancels);
        Add("  shares", s.SyntheticCancelledShares);
        Add("rows needing synthetic events", s.RowsWithSyntheticEvents);
        Add("references to unknown order ids (mapped onto synthetic orders)", s.UnknownOrderReferences);
        Add("executions/cancels beyond a known order's size", s.OverReductions);
        Add("deletions with a size other than the order's", s.DeleteSizeMismatches);
        Add("known ids at another price or side", s.PriceMismatches);
        Add("duplicate adds", s.DuplicateAdds);
        Add("hidden executions → trades (P)", s.HiddenExecutions);
        Add("cross trades (Q)", s.CrossTrades);
        Add("trading halt indicators (H)", s.Halts);
        Add("rows contradicting their message (reconciled after it)", s.RowsContradictingMessages);
        Add("rows the converter's own book could not reconcile", s.RowsNotReconciled);
        AnsiConsole.Write(table);

        if (output is not null)
        {
            CreateParentDirectory(output);
            if (output.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            {
                WriteGzip(output, conversion.Itch);
            }
            else
            {
                File.WriteAllBytes(output, conversion.Itch);
            }

            AnsiConsole.MarkupLine(ic, "wrote [bold]{0}[/]: {1:N0} bytes of ITCH, sha256 {2}", Markup.Escape(output), conversion.Itch.Length, Convert.ToHexStringLower(SHA256.HashData(conversion.Itch)));
        }

        int code = conversion.Rejected.Rejected == 0 ? 0 : 1;
        if (verify)
        {
            OracleResult result = LobsterOracle.Verify(conversion);
            AnsiConsole.MarkupLine(ic, "oracle: {0:N0} rows × {1} levels ({2:N0} values) compared with the engine's book after the ITCH handler: {3}",
                result.RowsCompared, data.Levels, result.ValuesCompared, result.Passed ? "[green]all equal[/]" : $"[red]{result.MismatchedRows:N0} rows differ, {result.Feed.Rejected:N0} ITCH messages rejected[/]");
            foreach (BookMismatch m in result.FirstMismatches)
            {
                AnsiConsole.MarkupLine("  {0}", Markup.Escape(m.ToString()));
            }

            code = result.Passed ? code : 1;
        }

        return code;
    }
}
