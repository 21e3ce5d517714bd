using System.Globalization;
using Engine.Pipeline;
using FeedHandlers.Capture;
using FeedHandlers.Iex;
using FeedHandlers.Itch;
using FeedHandlers.Lobster;
using FeedHandlers.MoldUdp;
using FeedHandlers.Pcap;
using Spectre.Console;

namespace Engine.Cli;

/// <summary>One counter a replay source keeps of its own, below or beside the message counts (records, frames, segments, chunks, lines, order flow).</summary>
/// <param name="What">What was counted, e.g. <c>frames rejected: TruncatedRecord</c>.</param>
/// <param name="Count">How many.</param>
internal readonly record struct SourceCounter(string What, long Count);

/// <summary>The replay report's source section: what each input's own layers counted, so that nothing a source rejected below the message layer goes unreported.</summary>
internal static partial class Commands
{
    /// <summary>
    /// The counters <paramref name="source"/> keeps besides its <see cref="FeedCounters"/>: for an IEX
    /// pcap, capture records, frames and segments (rejected by reason), heartbeats, sequence gaps and
    /// stream restarts; for LOBSTER the order flow's synthetic orders and anomalies; for an engine
    /// capture the reader's chunks and the MoldUDP64 arbiter's lines. Headline counters are listed even
    /// when 0; a per-reason row only when it is not 0. Empty for ITCH BinaryFILE, whose bad frames are
    /// message rejects already. Cold: call after the run, from any thread that saw it end; allocates the list.
    /// </summary>
    internal static List<SourceCounter> SourceCounters(ITickSource source)
    {
        var rows = new List<SourceCounter>();
        switch (source)
        {
            case IexPcapSource iex:
                IexCaptureCounters c = iex.Decoder.Counters;
                rows.Add(new("pcap records read", c.Records));
                rows.Add(new("frames rejected (no UDP payload)", c.FramesRejected));
                foreach (FrameReject reason in Enum.GetValues<FrameReject>())
                {
                    AddIfAny(rows, $"  frames rejected: {reason}", c.FramesRejectedFor(reason));
                }

                rows.Add(new("IEX-TP segments read", c.Segments));
                rows.Add(new("  of which heartbeats", c.Heartbeats));
                rows.Add(new("segments rejected", c.SegmentsRejected));
                foreach (SegmentReject reason in Enum.GetValues<SegmentReject>())
                {
                    AddIfAny(rows, $"  segments rejected: {reason}", c.SegmentsRejectedFor(reason));
                }

                rows.Add(new("sequence gaps", c.SequenceGaps));
                rows.Add(new("  messages missing in them", c.MissingMessages));
                rows.Add(new("stream restarts", c.StreamRestarts));
                rows.Add(new("segment message-count mismatches", c.MessageCountMismatches));
                rows.Add(new("implied instrument definitions (synthetic)", c.ImpliedDefinitions));
                break;
            case LobsterReplaySource lobster:
                LobsterFlowStats s = lobster.Flow.Stats;
                rows.Add(new("rows read by the order flow", s.Rows));
                rows.Add(new("synthetic adds", s.SyntheticAdds));
                rows.Add(new("  shares", s.SyntheticAddedShares));
                rows.Add(new("synthetic cancels", s.SyntheticCancels));
                rows.Add(new("  shares", s.SyntheticCancelledShares));
                rows.Add(new("rows needing synthetic events", s.RowsWithSyntheticEvents));
                rows.Add(new("hidden executions (trades)", s.HiddenExecutions));
                rows.Add(new("cross trades", s.CrossTrades));
                rows.Add(new("trading halt indicators", s.Halts));
                rows.Add(new("unknown order references", s.UnknownOrderReferences));
                rows.Add(new("over-reductions", s.OverReductions));
                rows.Add(new("delete size mismatches", s.DeleteSizeMismatches));
                rows.Add(new("price mismatches", s.PriceMismatches));
                rows.Add(new("duplicate adds", s.DuplicateAdds));
                rows.Add(new("rows contradicting their message", s.RowsContradictingMessages));
                rows.Add(new("rows not reconciled", s.RowsNotReconciled));
                break;
            case CaptureReplaySource capture:
                rows.Add(new("capture chunks read", capture.Reader.Chunks));
                rows.Add(new("damaged chunks", capture.Reader.CorruptChunks));
                rows.Add(new("  bytes skipped", capture.Reader.SkippedBytes));
                MoldUdp64Arbiter<ItchTickSink> arbiter = capture.Arbiter;
                foreach (LineCounters l in arbiter.Lines)
                {
                    string line = $"line {l.Name}";
                    rows.Add(new($"{line} datagrams received", l.Received));
                    rows.Add(new($"{line} won", l.Won));
                    rows.Add(new($"{line} duplicate", l.Duplicate));
                    rows.Add(new($"{line} late", l.Late));
                    rows.Add(new($"{line} gap (own)", l.Gap));
                    rows.Add(new($"{line} heartbeats", l.Heartbeats));
                    rows.Add(new($"{line} malformed", l.Malformed));
                    AddIfAny(rows, $"{line} other session", l.SessionMismatch);
                }

                rows.Add(new("gaps no line filled", arbiter.Gaps));
                rows.Add(new("  messages missed", arbiter.MissedMessages));
                rows.Add(new("duplicate messages", arbiter.DuplicateMessages));
                rows.Add(new("late messages", arbiter.LateMessages));
                break;
        }

        return rows;

        static void AddIfAny(List<SourceCounter> rows, string what, long count)
        {
            if (count > 0)
            {
                rows.Add(new(what, count));
            }
        }
    }

    /// <summary>After a replay: the source's own counters (<see cref="SourceCounters"/>), an engine capture's damage list, and a source's error.</summary>
    private static void PrintSourceCounters(ITickSource source)
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        List<SourceCounter> rows = SourceCounters(source);
        if (rows.Count > 0)
        {
            var table = new Table().Title("source: " + Markup.Escape(source.GetType().Name)).AddColumn("what").AddColumn(new TableColumn("count").RightAligned());
            foreach (SourceCounter row in rows)
            {
                table.AddRow(Markup.Escape(row.What), row.Count.ToString("N0", ic));
            }

            AnsiConsole.Write(table);
        }
        else if (source is ItchReplaySource)
        {
            AnsiConsole.MarkupLine("source: ITCH BinaryFILE; frames that are not messages are counted as rejected messages above");
        }

        switch (source)
        {
            case IexPcapSource { Error: { } error }:
                AnsiConsole.MarkupLine("[red]source:[/] {0}", Markup.Escape(error));
                break;
            case CaptureReplaySource capture:
                AnsiConsole.MarkupLine(ic, "capture: session '{0}'; end of session {1}", Markup.Escape(capture.Arbiter.Session.ToString()), capture.Arbiter.Ended ? "seen" : "not seen");
                foreach (CaptureDamage d in capture.Damage)
                {
                    AnsiConsole.MarkupLine(ic, "[yellow]damaged[/] at byte {0:N0}: {1}", d.Offset, d.What);
                }

                break;
        }
    }
}
