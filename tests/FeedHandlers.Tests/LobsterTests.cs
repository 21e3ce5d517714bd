using System.Text;
using Engine.Events;
using Engine.Pipeline;
using FeedHandlers.Lobster;

namespace FeedHandlers.Tests;

[TestFixture]
public sealed class LobsterTests
{
    [Test]
    public void ParsesAMessageRowWithFewerThanNineDecimals()
    {
        Assert.That(LobsterCsv.TryParseMessage("34200.05990197,4,15818974,300,5794000,1"u8, out LobsterMessage m, out _), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(m.TimeNs, Is.EqualTo(34_200_059_901_970L));
            Assert.That(m.Type, Is.EqualTo(LobsterEventType.VisibleExecution));
            Assert.That(m.OrderId, Is.EqualTo(15818974UL));
            Assert.That(m.Size, Is.EqualTo(300));
            Assert.That(m.Price, Is.EqualTo(5794000));
            Assert.That(m.Direction, Is.EqualTo(1));
        });
    }

    [Test]
    public void ParsesTradingHaltIndicatorsAsTheReadmeWritesThem()
    {
        Assert.That(LobsterCsv.TryParseMessage("36023,7,0,0,-1,-1"u8, out LobsterMessage halt, out _), Is.True);
        Assert.That(LobsterCsv.TryParseMessage("36323,7,0,0,0,-1"u8, out LobsterMessage quoting, out _), Is.True);
        Assert.That(LobsterCsv.TryParseMessage("36723,7,0,0,1,-1"u8, out LobsterMessage resume, out _), Is.True);
        Assert.That((halt.Type, halt.Price, quoting.Price, resume.Price, halt.TimeNs), Is.EqualTo((LobsterEventType.TradingHalt, -1L, 0L, 1L, 36_023_000_000_000L)));
    }

    [TestCase("", RejectReason.EmptyFrame)]
    [TestCase("34200.1,1,1,100,5794000", RejectReason.LengthMismatch)]
    [TestCase("34200.1,1,1,100,5794000,1,9", RejectReason.LengthMismatch)]
    [TestCase("34200.1,8,1,100,5794000,1", RejectReason.UnknownMessageType)]
    [TestCase("34200.1,0,1,100,5794000,1", RejectReason.UnknownMessageType)]
    [TestCase("34200.1,1,1,100,5794000,0", RejectReason.InvalidField)]
    [TestCase("34200.1,1,1,0,5794000,1", RejectReason.InvalidField)]
    [TestCase("34200.1,1,1,100,-5,1", RejectReason.InvalidField)]
    [TestCase("34200.1234567891,1,1,100,5794000,1", RejectReason.InvalidField)]
    [TestCase("34200.,1,1,100,5794000,1", RejectReason.InvalidField)]
    [TestCase("-3.5,1,1,100,5794000,1", RejectReason.InvalidField)]
    [TestCase("34200.1,1,1x,100,5794000,1", RejectReason.InvalidField)]
    [TestCase("34200.1,1,1,1000000000000000000000,5794000,1", RejectReason.InvalidField)]
    [TestCase("34200.1,7,0,0,2,-1", RejectReason.InvalidField)]
    [TestCase("34200.1,1,0,100,5794000,1", RejectReason.InvalidField)]
    [TestCase("34200.1,4,1,4294967296,5794000,1", RejectReason.InvalidField)]
    public void RejectsAMalformedMessageRowWithItsReason(string line, RejectReason expected)
    {
        Assert.That(LobsterCsv.TryParseMessage(Encoding.ASCII.GetBytes(line), out _, out RejectReason reason), Is.False);
        Assert.That(reason, Is.EqualTo(expected));
    }

    [Test]
    public void ParsesBookRowsAndRejectsNegativeSizesAndWrongWidths()
    {
        var row = new long[8];
        Assert.That(LobsterCsv.TryParseBookRow("5802300,100,5794000,496,9999999999,0,-9999999999,0"u8, row, out _), Is.True);
        Assert.That(row, Is.EqualTo(new[] { 5802300L, 100, 5794000, 496, 9999999999, 0, -9999999999, 0 }));
        Assert.That(LobsterCsv.TryParseBookRow("5802300,-1,5794000,496,1,1,1,1"u8, row, out RejectReason negative), Is.False);
        Assert.That(LobsterCsv.TryParseBookRow("5802300,100,5794000,496"u8, row, out RejectReason narrow), Is.False);
        Assert.That((negative, narrow), Is.EqualTo((RejectReason.InvalidField, RejectReason.LengthMismatch)));
    }

    [Test]
    public void AFileEndingBeforeTheOtherRejectsTheUnpairedRowsAsTruncated()
    {
        LobsterData data = Data(1, ["34200.1,1,1,100,1000000,1", "34200.2,1,2,100,1000100,1"], ["9999999999,0,1000000,100"]);
        LobsterReader reader = data.Reader();
        var row = new long[4];
        Assert.That(reader.Next(out _, row, out _), Is.EqualTo(LobsterReadStatus.Row));
        Assert.That(reader.Next(out _, row, out RejectReason reason), Is.EqualTo(LobsterReadStatus.Rejected));
        Assert.That(reason, Is.EqualTo(RejectReason.TruncatedFrame));
        Assert.That(reader.Next(out _, row, out _), Is.EqualTo(LobsterReadStatus.End));
    }

    [Test]
    public void TheFirstRowIsBuiltFromSyntheticOrdersAndAnUnknownExecutionTakesThem()
    {
        // GOOG's first message and row: an execution of an order added before 9:30.
        List<Tick> ticks = Flow(1, ("34200.015105074,4,15818974,4,5794000,1", "5802300,100,5794000,496"), out LobsterOrderFlow flow);
        Assert.That(ticks.Select(t => (t.Kind, t.Side, t.Price / 10_000, t.Quantity, (t.Flags & TickFlags.Synthetic) != 0)), Is.EqualTo(new[]
        {
            (TickKind.AddOrder, Side.Sell, 5802300L, 100L, true),
            (TickKind.AddOrder, Side.Buy, 5794000L, 500L, true),
            (TickKind.OrderExecuted, Side.Buy, 5794000L, 4L, false),
        }));
        Assert.That(ticks[2].OrderId, Is.EqualTo(ticks[1].OrderId), "the execution maps onto the synthetic bid");
        Assert.That(LobsterOrderFlow.IsSynthetic(ticks[1].OrderId), Is.True);
        Assert.That((flow.Stats.SyntheticAdds, flow.Stats.SyntheticAddedShares, flow.Stats.UnknownOrderReferences, flow.Stats.RowsWithSyntheticEvents), Is.EqualTo((2L, 600L, 1L, 1L)));
        Assert.That(ticks.Select(t => t.Sequence).Distinct(), Is.EqualTo(new[] { 1L }));
    }

    [Test]
    public void HiddenExecutionsBecomeTradesAndHaltsBecomeTradingStatus()
    {
        List<Tick> ticks = Flow(
            1,
            ("34200.1,1,11,100,1000000,1", "9999999999,0,1000000,100"),
            ("34200.2,5,0,30,1000100,-1", "9999999999,0,1000000,100"),
            ("36023,7,0,0,-1,-1", "9999999999,0,1000000,100"),
            ("36323,7,0,0,0,-1", "9999999999,0,1000000,100"),
            ("36723,7,0,0,1,-1", "9999999999,0,1000000,100"),
            out LobsterOrderFlow flow);
        Assert.That(ticks.Select(t => t.Kind), Is.EqualTo(new[] { TickKind.AddOrder, TickKind.Trade, TickKind.TradingStatus, TickKind.TradingStatus, TickKind.TradingStatus }));
        Tick trade = ticks[1];
        Assert.That((trade.OrderId, trade.Side, trade.Quantity, trade.Price, trade.Flags), Is.EqualTo((0UL, Side.Sell, 30L, 100_0100_0000L, TickFlags.Printable)));
        Assert.That(ticks.Skip(2).Select(t => (char)t.Aux), Is.EqualTo(new[] { 'H', 'Q', 'T' }));
        Assert.That((flow.Stats.HiddenExecutions, flow.Stats.Halts, flow.Stats.SyntheticAdds), Is.EqualTo((1L, 3L, 0L)));
    }

    [Test]
    public void ALevelSurfacingSmallerThanItLeftGetsASyntheticCancel()
    {
        // Level 1 only: order 1 rests at 100.00; order 2 at 100.01 hides it; while hidden, 60 of
        // order 1 are cancelled (LOBSTER writes no message); when order 2 goes, 40 surface.
        List<Tick> ticks = Flow(
            1,
            ("34200.1,1,1,100,1000000,1", "9999999999,0,1000000,100"),
            ("34200.2,1,2,100,1000100,1", "9999999999,0,1000100,100"),
            ("34200.3,3,2,100,1000100,1", "9999999999,0,1000000,40"),
            out LobsterOrderFlow flow);
        Tick cancel = ticks[2];
        Assert.That((cancel.Kind, cancel.OrderId, cancel.Quantity, cancel.Flags), Is.EqualTo((TickKind.OrderCancel, 1UL, 60L, TickFlags.Synthetic)));
        Assert.That((ticks[3].Kind, ticks[3].OrderId), Is.EqualTo((TickKind.OrderDelete, 2UL)));
        Assert.That((flow.Stats.SyntheticCancels, flow.Stats.SyntheticCancelledShares, flow.Stats.RowsNotReconciled), Is.EqualTo((1L, 60L, 0L)));
    }

    [Test]
    public void ReplaySourceCountsEveryRowAndPublishesFlaggedTicks()
    {
        LobsterData data = Data(1, ["34200.1,1,1,100,1000000,1", "garbage", "34200.3,3,1,100,1000000,1"], ["9999999999,0,1000000,100", "9999999999,0,1000000,100", "9999999999,0,-9999999999,0"]);
        using var ring = new RingBuffer<Tick>(64);
        var publisher = new TickPublisher(ring, new SingleProducerSequencer(64));
        var source = new LobsterReplaySource(data);
        source.Run(publisher, CancellationToken.None);
        FeedCounters c = source.Counters;
        Assert.That((c.Read, c.Processed, c.Rejected, c.RejectedFor(RejectReason.LengthMismatch)), Is.EqualTo((3L, 2L, 1L, 1L)));
        Assert.That((c.ProcessedOfType((byte)'1'), c.ProcessedOfType((byte)'3'), c.Published), Is.EqualTo((1L, 1L, 3L)), "a definition, then one tick per row");
        Assert.That((ring[0].Kind, ring[0].Flags, Symbol.Unpack(ring[0].RelatedId)), Is.EqualTo((TickKind.InstrumentDefinition, TickFlags.Synthetic, data.Ticker)), "the ticker is announced first");
        Assert.That((ring[1].Kind, ring[2].Kind, ring[2].Sequence), Is.EqualTo((TickKind.AddOrder, TickKind.OrderDelete, 3L)));
    }

    internal static LobsterData Data(int levels, string[] messages, string[] rows) =>
        LobsterData.Create($"TEST_2012-06-21_34200000_57600000_message_{levels}.csv", Encoding.ASCII.GetBytes(string.Join('\n', messages) + "\n"), Encoding.ASCII.GetBytes(string.Join('\n', rows) + "\n"), "test");

    private static List<Tick> Flow(int levels, (string Message, string Row) first, out LobsterOrderFlow flow) => Flow(levels, [first], out flow);

    private static List<Tick> Flow(int levels, (string, string) a, (string, string) b, (string, string) c, out LobsterOrderFlow flow) => Flow(levels, [a, b, c], out flow);

    private static List<Tick> Flow(int levels, (string, string) a, (string, string) b, (string, string) c, (string, string) d, (string, string) e, out LobsterOrderFlow flow) => Flow(levels, [a, b, c, d, e], out flow);

    private static List<Tick> Flow(int levels, (string Message, string Row)[] rows, out LobsterOrderFlow flow)
    {
        flow = new LobsterOrderFlow(levels);
        var sink = new ListSink([]);
        var values = new long[4 * levels];
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.That(LobsterCsv.TryParseMessage(Encoding.ASCII.GetBytes(rows[i].Message), out LobsterMessage m, out _), Is.True, rows[i].Message);
            Assert.That(LobsterCsv.TryParseBookRow(Encoding.ASCII.GetBytes(rows[i].Row), values, out _), Is.True, rows[i].Row);
            flow.Process(in m, values, i + 1, ref sink);
        }

        Assert.That(flow.Stats.RowsNotReconciled, Is.Zero);
        return sink.Ticks;
    }

    private readonly struct ListSink(List<Tick> ticks) : ILobsterTickSink
    {
        public List<Tick> Ticks => ticks;

        public void OnTick(ref readonly Tick tick) => ticks.Add(tick);
    }
}
