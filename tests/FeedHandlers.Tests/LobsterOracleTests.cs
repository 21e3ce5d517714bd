using System.Text;
using Engine.Cli.Lobster;
using Engine.Events;
using Engine.Pipeline;
using FeedHandlers.Itch;
using FeedHandlers.Lobster;

namespace FeedHandlers.Tests;

/// <summary>
/// The ITCH path must rebuild LOBSTER's own book: each sample file is converted to ITCH, replayed
/// through the ITCH handler into the engine's book, and compared with the orderbook file after every
/// message at every level.
/// </summary>
[TestFixture]
public sealed class LobsterOracleTests
{
    // The synthetic counts are pinned (values from a run, the README's table): a change in the
    // converter's reconstruction shows up here even when the book still matches.
    [TestCase("GOOG", 1, 49_482, 65_416, 4_823, 318_609, 10_798, 687_170, 6_760, 4_743)]
    [TestCase("AMZN", 1, 57_515, 79_050, 7_706, 601_862, 13_084, 950_414, 9_409, 7_882)]
    [TestCase("GOOG", 10, 147_916, 158_308, 4_517, 532_225, 5_647, 455_537, 6_750, 3_501)]
    public void ItchPathRebuildsLobstersBookAfterEveryMessageAtEveryLevel(
        string ticker, int levels, int rows, long messages, long adds, long addedShares, long cancels, long cancelledShares, long rowsWithSynthetic, long unknownIds)
    {
        LobsterData data = Load(ticker, levels);
        LobsterConversion conversion = LobsterToItch.Convert(data);
        OracleResult result = LobsterOracle.Verify(conversion);
        Report(conversion, result);

        Assert.That(result.FirstMismatches, Is.Empty, () => "first mismatches: " + string.Join("; ", result.FirstMismatches));
        Assert.Multiple(() =>
        {
            Assert.That(result.RowsCompared, Is.EqualTo(rows));
            Assert.That(result.ValuesCompared, Is.EqualTo(4L * levels * rows));
            Assert.That(result.MismatchedRows, Is.Zero);
            Assert.That(result.Feed.Rejected, Is.Zero, "the converted ITCH decodes without a rejection");
            Assert.That(result.Feed.Read, Is.EqualTo(conversion.Messages));
            Assert.That(result.Books.TotalAnomalies, Is.Zero, "no unknown order, over-execution or duplicate in the converted stream");
            Assert.That(conversion.Rejected.Rejected, Is.Zero);
            Assert.That(conversion.Stats.RowsNotReconciled, Is.Zero);
            Assert.That(conversion.Stats.RowsContradictingMessages, Is.Zero, "no row of the samples contradicts its own message (README)");
            Assert.That(conversion.Messages, Is.EqualTo(messages));
            Assert.That((conversion.Stats.SyntheticAdds, conversion.Stats.SyntheticAddedShares), Is.EqualTo((adds, addedShares)), "synthetic adds (shares)");
            Assert.That((conversion.Stats.SyntheticCancels, conversion.Stats.SyntheticCancelledShares), Is.EqualTo((cancels, cancelledShares)), "synthetic cancels/deletes (shares)");
            Assert.That(conversion.Stats.RowsWithSyntheticEvents, Is.EqualTo(rowsWithSynthetic));
            Assert.That(conversion.Stats.UnknownOrderReferences, Is.EqualTo(unknownIds));
            Assert.That(conversion.Stats.DuplicateAdds, Is.Zero);
            Assert.That(conversion.Stats.SyntheticAdds, Is.GreaterThan(0), "the window opens on an earlier book");
            Assert.That(conversion.SyntheticMessages, Is.EqualTo(conversion.Stats.SyntheticAdds + conversion.Stats.SyntheticCancels + conversion.Stats.DuplicateAdds));
        });
    }

    [Test]
    public void TheLobsterInputRebuildsTheSameBookWithoutItch()
    {
        LobsterData data = Load("GOOG", 10);
        int capacity = 1 << 19;
        using var ring = new RingBuffer<Tick>(capacity);
        var publisher = new TickPublisher(ring, new SingleProducerSequencer(capacity));
        var source = new LobsterReplaySource(data, LobsterToItch.Locate);
        source.Run(publisher, CancellationToken.None);
        var ticks = new Tick[publisher.LastPublished + 1];
        for (int i = 0; i < ticks.Length; i++)
        {
            ticks[i] = ring[i];
        }

        long[] rowEnds = [.. Enumerable.Range(1, (int)source.Counters.Read).Select(r => (long)r)];
        OracleResult result = LobsterOracle.Compare(data, ticks, rowEnds, source.Counters);
        Assert.That(result.FirstMismatches, Is.Empty, () => string.Join("; ", result.FirstMismatches));
        Assert.That(result.RowsCompared, Is.EqualTo(147_916));
        Assert.That(ticks.Count(t => (t.Flags & TickFlags.Synthetic) != 0 && t.Kind != TickKind.InstrumentDefinition), Is.EqualTo(source.Flow.Stats.SyntheticAdds + source.Flow.Stats.SyntheticCancels));
        Assert.That(ticks[0].Kind, Is.EqualTo(TickKind.InstrumentDefinition), "the ticker is announced before the first row");
    }

    [Test]
    public void TheOracleNamesTheRowLevelAndBothValuesOfAMismatch()
    {
        LobsterData data = Load("GOOG", 1);
        LobsterConversion conversion = LobsterToItch.Convert(data);

        // Change the bid size of row 1,000 in the orderbook the oracle reads (not the one converted).
        string[] lines = Encoding.ASCII.GetString(data.Orderbook).Split('\n');
        long[] values = [.. lines[999].Split(',').Select(long.Parse)];
        values[3] += 7;
        lines[999] = string.Join(',', values);
        LobsterData tampered = LobsterData.Create("GOOG_2012-06-21_34200000_57600000_message_1.csv", data.Messages, Encoding.ASCII.GetBytes(string.Join('\n', lines)), "tampered");
        OracleResult result = LobsterOracle.Verify(conversion with { Data = tampered });

        Assert.That(result.Passed, Is.False);
        Assert.That(result.MismatchedRows, Is.EqualTo(1));
        Assert.That(result.FirstMismatches.Single(), Is.EqualTo(new BookMismatch(1000, 1, "bid size", values[3], values[3] - 7)));
    }

    [Test]
    public void SyntheticMessagesCarryTheMarkerAndEveryOtherMessageDoesNot()
    {
        LobsterConversion conversion = LobsterToItch.Convert(Load("AMZN", 1));
        var frames = new BinaryFileFrameReader(conversion.Itch);
        long marked = 0, messages = 0;
        while (frames.Next(out ReadOnlySpan<byte> m) == FrameStatus.Message)
        {
            messages++;
            ushort tracking = new ItchHeader(m).TrackingNumber;
            Assert.That(tracking, Is.AnyOf(0, LobsterToItch.SyntheticTrackingNumber));
            marked += tracking == LobsterToItch.SyntheticTrackingNumber ? 1 : 0;
        }

        Assert.That((messages, marked), Is.EqualTo((conversion.Messages, conversion.SyntheticMessages)));
        // The first AMZN message is a hidden execution with order id 0: a trade, not a book change.
        Tick first = ItchTicks.Decode(conversion.Itch).First(t => t.Kind is TickKind.Trade or TickKind.OrderExecuted);
        Assert.That((first.Kind, first.OrderId, first.Quantity, first.Price), Is.EqualTo((TickKind.Trade, 0UL, 1L, 223_8200_0000L)));
    }

    private static LobsterData Load(string ticker, int levels) =>
        LobsterData.FromZip(TestData.SharedFile("data", "lobster-2012-06-21", $"LOBSTER_SampleFile_{ticker}_2012-06-21_{levels}.zip"));

    private static void Report(LobsterConversion c, OracleResult r)
    {
        LobsterFlowStats s = c.Stats;
        TestContext.Out.WriteLine($"{c.Data.Ticker} level {c.Data.Levels}: {r.RowsCompared:N0} rows, {r.ValuesCompared:N0} values compared; ITCH messages {c.Messages:N0} ({c.SyntheticMessages:N0} synthetic); synthetic adds {s.SyntheticAdds:N0} ({s.SyntheticAddedShares:N0} shares), synthetic cancels/deletes {s.SyntheticCancels:N0} ({s.SyntheticCancelledShares:N0} shares), rows needing them {s.RowsWithSyntheticEvents:N0}, unknown ids {s.UnknownOrderReferences:N0}, hidden executions {s.HiddenExecutions:N0}");
    }
}
