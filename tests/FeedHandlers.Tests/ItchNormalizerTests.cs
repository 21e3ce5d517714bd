using Engine.Events;
using FeedHandlers.Itch;

namespace FeedHandlers.Tests;

/// <summary>Normalization into <see cref="Tick"/>, through <see cref="ItchWriter"/> bytes (itself checked against hand-built bytes by the decoder tests).</summary>
[TestFixture]
public sealed class ItchNormalizerTests
{
    [Test]
    public void AddOrderBecomesAnAddTickWithEightDecimalPrice()
    {
        Tick t = One(w => w.AddOrder(7, 34_200_000_000_000, 42, Side.Sell, 300, "ACME", 123_4500_0000));
        Assert.Multiple(() =>
        {
            Assert.That(t.Kind, Is.EqualTo(TickKind.AddOrder));
            Assert.That(t.Instrument, Is.EqualTo(7));
            Assert.That(t.ExchangeTimestampNs, Is.EqualTo(34_200_000_000_000));
            Assert.That(t.OrderId, Is.EqualTo(42UL));
            Assert.That(t.Side, Is.EqualTo(Side.Sell));
            Assert.That(t.Quantity, Is.EqualTo(300));
            Assert.That(t.Price, Is.EqualTo(123_4500_0000L));
            Assert.That(t.PriceDecimal, Is.EqualTo(123.45m));
            Assert.That(t.Flags, Is.EqualTo(TickFlags.None));
        });
    }

    [Test]
    public void AttributedAddIsFlagged() =>
        Assert.That(One(w => w.AddOrder(1, 1, 1, Side.Buy, 1, "X", 1_0000_0000, "GSCO")).Flags, Is.EqualTo(TickFlags.Attributed));

    [Test]
    public void ExecutionsCarryMatchNumberAndPrintability()
    {
        Tick e = One(w => w.OrderExecuted(1, 1, 42, 25, 9001));
        Assert.That((e.Kind, e.OrderId, e.Quantity, e.RelatedId, e.Flags), Is.EqualTo((TickKind.OrderExecuted, 42UL, 25L, 9001UL, TickFlags.Printable)));
        Tick c = One(w => w.OrderExecutedWithPrice(1, 1, 42, 25, 9002, printable: false, 99_9900_0000));
        Assert.That((c.Kind, c.Price, c.RelatedId, c.Flags), Is.EqualTo((TickKind.OrderExecutedWithPrice, 99_9900_0000L, 9002UL, TickFlags.None)));
    }

    [Test]
    public void CancelDeleteReplaceMapToTheirKinds()
    {
        Tick x = One(w => w.OrderCancel(1, 1, 42, 10));
        Assert.That((x.Kind, x.OrderId, x.Quantity), Is.EqualTo((TickKind.OrderCancel, 42UL, 10L)));
        Tick d = One(w => w.OrderDelete(1, 1, 42));
        Assert.That((d.Kind, d.OrderId), Is.EqualTo((TickKind.OrderDelete, 42UL)));
        Tick u = One(w => w.OrderReplace(1, 1, 42, 43, 500, 10_0100_0000));
        Assert.That((u.Kind, u.OrderId, u.RelatedId, u.Quantity, u.Price), Is.EqualTo((TickKind.OrderReplace, 42UL, 43UL, 500L, 10_0100_0000L)));
    }

    [Test]
    public void TradesCrossesAndBreaks()
    {
        Tick p = One(w => w.Trade(3, 1, 0, Side.Buy, 200, "ACME", 10_0000_0000, 77));
        Assert.That((p.Kind, p.Side, p.Quantity, p.Price, p.RelatedId), Is.EqualTo((TickKind.Trade, Side.Buy, 200L, 10_0000_0000L, 77UL)));
        Tick q = One(w => w.CrossTrade(3, 1, 6_000_000_000UL, "ACME", 10_0000_0000, 78, 'C'));
        Assert.That((q.Kind, q.Quantity, q.Aux), Is.EqualTo((TickKind.CrossTrade, 6_000_000_000L, (byte)'C')), "cross shares are 64-bit");
        Tick b = One(w => w.BrokenTrade(3, 1, 77));
        Assert.That((b.Kind, b.RelatedId), Is.EqualTo((TickKind.BrokenTrade, 77UL)));
    }

    [Test]
    public void ReferenceMessagesBecomeReferenceTicks()
    {
        Tick r = One(w => w.StockDirectory(9, 1, "ACME", 100));
        Assert.That((r.Kind, r.Instrument, Symbol.Unpack(r.RelatedId), r.Quantity), Is.EqualTo((TickKind.InstrumentDefinition, 9, "ACME", 100L)));
        Tick h = One(w => w.StockTradingAction(9, 1, "ACME", 'H'));
        Assert.That((h.Kind, (char)h.Aux), Is.EqualTo((TickKind.TradingStatus, 'H')));
        Tick s = One(w => w.SystemEvent(1, 'Q'));
        Assert.That((s.Kind, (char)s.Aux), Is.EqualTo((TickKind.SystemEvent, 'Q')));
    }

    [Test]
    public void MessagesWithoutBookContentProduceNoTick()
    {
        var w = new ItchWriter();
        w.RegShoRestriction(1, 1, "ACME", '0');
        ReadOnlySpan<byte> m = w.WrittenSpan[2..];
        var tick = default(Tick);
        Assert.That(ItchNormalizer.ProducesTick(m[0]), Is.False);
        Assert.That(ItchNormalizer.Normalize(m, ref tick), Is.EqualTo(NormalizeResult.NoTick));
    }

    [Test]
    public void InvalidSideIsDetectedBeforeClaiming()
    {
        byte[] m = new byte[36];
        m[0] = (byte)'A';
        m[19] = (byte)'Q';
        Assert.That(ItchNormalizer.HasValidFields(m), Is.False);
        var tick = default(Tick);
        Assert.That(ItchNormalizer.Normalize(m, ref tick), Is.EqualTo(NormalizeResult.InvalidField));
        m[19] = (byte)'B';
        Assert.That(ItchNormalizer.HasValidFields(m), Is.True);
    }

    [Test]
    public void WriterRejectsPricesFinerThanPrice4() =>
        Assert.That(() => new ItchWriter().AddOrder(1, 1, 1, Side.Buy, 1, "X", 1), Throws.TypeOf<ArgumentOutOfRangeException>());

    private static Tick One(Action<ItchWriter> write)
    {
        var w = new ItchWriter();
        write(w);
        ReadOnlySpan<byte> m = w.WrittenSpan[2..];
        Assert.That(ItchDecoder.TryValidate(m, out RejectReason reason), Is.True, reason.ToString());
        var tick = default(Tick);
        Assert.That(ItchNormalizer.Normalize(m, ref tick), Is.EqualTo(NormalizeResult.Tick));
        return tick;
    }
}
