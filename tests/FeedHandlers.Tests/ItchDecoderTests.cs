using System.Buffers.Binary;
using System.Text;
using Engine.Events;
using FeedHandlers.Itch;

namespace FeedHandlers.Tests;

/// <summary>
/// Every ITCH 5.0 message type, built byte by byte at the offsets of the NASDAQ TotalView-ITCH 5.0
/// specification (independently of <see cref="ItchWriter"/>), decoded and checked field by field.
/// </summary>
[TestFixture]
public sealed class ItchDecoderTests
{
    private const ushort Locate = 0x1234;
    private const ushort Tracking = 0x0102;
    private const long Timestamp = 0x0000_1A2B_3C4D_5E6FL; // 48 bits

    [Test]
    public void SpecTableHasAllTwentyThreeTypesWithTheirLengths()
    {
        var expected = new Dictionary<char, int>
        {
            ['S'] = 12, ['R'] = 39, ['H'] = 25, ['Y'] = 20, ['L'] = 26, ['V'] = 35, ['W'] = 12, ['K'] = 28, ['J'] = 35, ['h'] = 21,
            ['A'] = 36, ['F'] = 40, ['E'] = 31, ['C'] = 36, ['X'] = 23, ['D'] = 19, ['U'] = 35, ['P'] = 44, ['Q'] = 40, ['B'] = 19,
            ['I'] = 50, ['N'] = 20, ['O'] = 48,
        };
        Assert.That(ItchSpec.AllTypes, Has.Count.EqualTo(23));
        foreach ((char type, int length) in expected)
        {
            Assert.That(ItchSpec.LengthOf((byte)type), Is.EqualTo(length), $"length of '{type}'");
        }

        int known = Enumerable.Range(0, 256).Count(b => ItchSpec.LengthOf((byte)b) != 0);
        Assert.That(known, Is.EqualTo(23));
    }

    [Test]
    public void DecodesSystemEvent()
    {
        byte[] m = Message('S', 12);
        m[11] = (byte)'Q';
        var h = Decode(m);
        Assert.That(h.SystemEvent.EventCode, Is.EqualTo((byte)'Q'));
        AssertHeader(h.SystemEvent.Header, 'S');
    }

    [Test]
    public void DecodesStockDirectory()
    {
        byte[] m = Message('R', 39);
        Ascii(m, 11, "AAPL    ");
        m[19] = (byte)'Q';
        m[20] = (byte)'N';
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(21), 100);
        m[25] = (byte)'N';
        m[26] = (byte)'C';
        Ascii(m, 27, "Z ");
        m[29] = (byte)'P';
        m[30] = (byte)'N';
        m[31] = (byte)' ';
        m[32] = (byte)'1';
        m[33] = (byte)'N';
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(34), 3);
        m[38] = (byte)'Y';
        StockDirectoryMessage r = Decode(m).StockDirectory;
        AssertHeader(r.Header, 'R');
        Assert.Multiple(() =>
        {
            Assert.That(Symbol.Unpack(r.Stock), Is.EqualTo("AAPL"));
            Assert.That(r.MarketCategory, Is.EqualTo((byte)'Q'));
            Assert.That(r.FinancialStatusIndicator, Is.EqualTo((byte)'N'));
            Assert.That(r.RoundLotSize, Is.EqualTo(100u));
            Assert.That(r.RoundLotsOnly, Is.EqualTo((byte)'N'));
            Assert.That(r.IssueClassification, Is.EqualTo((byte)'C'));
            Assert.That(r.IssueSubType, Is.EqualTo((ushort)('Z' | (' ' << 8))));
            Assert.That(r.Authenticity, Is.EqualTo((byte)'P'));
            Assert.That(r.ShortSaleThresholdIndicator, Is.EqualTo((byte)'N'));
            Assert.That(r.IpoFlag, Is.EqualTo((byte)' '));
            Assert.That(r.LuldReferencePriceTier, Is.EqualTo((byte)'1'));
            Assert.That(r.EtpFlag, Is.EqualTo((byte)'N'));
            Assert.That(r.EtpLeverageFactor, Is.EqualTo(3u));
            Assert.That(r.InverseIndicator, Is.EqualTo((byte)'Y'));
        });
    }

    [Test]
    public void DecodesStockTradingAction()
    {
        byte[] m = Message('H', 25);
        Ascii(m, 11, "MSFT    ");
        m[19] = (byte)'H';
        m[20] = (byte)' ';
        Ascii(m, 21, "LUDP");
        StockTradingActionMessage r = Decode(m).StockTradingAction;
        AssertHeader(r.Header, 'H');
        Assert.That(Symbol.Unpack(r.Stock), Is.EqualTo("MSFT"));
        Assert.That(r.TradingState, Is.EqualTo((byte)'H'));
        Assert.That(r.Reason, Is.EqualTo(Pack4("LUDP")));
    }

    [Test]
    public void DecodesRegShoRestriction()
    {
        byte[] m = Message('Y', 20);
        Ascii(m, 11, "IBM     ");
        m[19] = (byte)'1';
        RegShoRestrictionMessage r = Decode(m).RegSho;
        AssertHeader(r.Header, 'Y');
        Assert.That(Symbol.Unpack(r.Stock), Is.EqualTo("IBM"));
        Assert.That(r.RegShoAction, Is.EqualTo((byte)'1'));
    }

    [Test]
    public void DecodesMarketParticipantPosition()
    {
        byte[] m = Message('L', 26);
        Ascii(m, 11, "GSCO");
        Ascii(m, 15, "IBM     ");
        m[23] = (byte)'Y';
        m[24] = (byte)'N';
        m[25] = (byte)'A';
        MarketParticipantPositionMessage r = Decode(m).Participant;
        AssertHeader(r.Header, 'L');
        Assert.That(r.Mpid, Is.EqualTo(Pack4("GSCO")));
        Assert.That(Symbol.Unpack(r.Stock), Is.EqualTo("IBM"));
        Assert.That((r.PrimaryMarketMaker, r.MarketMakerMode, r.MarketParticipantState), Is.EqualTo(((byte)'Y', (byte)'N', (byte)'A')));
    }

    [Test]
    public void DecodesMwcbDeclineLevel()
    {
        byte[] m = Message('V', 35);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(11), 1_000_000_000_000);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(19), 2_000_000_000_000);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(27), 3_000_000_000_000);
        MwcbDeclineLevelMessage r = Decode(m).MwcbDecline;
        AssertHeader(r.Header, 'V');
        Assert.That((r.Level1, r.Level2, r.Level3), Is.EqualTo((1_000_000_000_000UL, 2_000_000_000_000UL, 3_000_000_000_000UL)));
    }

    [Test]
    public void DecodesMwcbStatus()
    {
        byte[] m = Message('W', 12);
        m[11] = (byte)'2';
        MwcbStatusMessage r = Decode(m).MwcbStatus;
        AssertHeader(r.Header, 'W');
        Assert.That(r.BreachedLevel, Is.EqualTo((byte)'2'));
    }

    [Test]
    public void DecodesIpoQuotingPeriodUpdate()
    {
        byte[] m = Message('K', 28);
        Ascii(m, 11, "NEWCO   ");
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(19), 36_000);
        m[23] = (byte)'A';
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(24), 210_000);
        IpoQuotingPeriodUpdateMessage r = Decode(m).Ipo;
        AssertHeader(r.Header, 'K');
        Assert.That(Symbol.Unpack(r.Stock), Is.EqualTo("NEWCO"));
        Assert.That((r.IpoQuotationReleaseTime, r.IpoQuotationReleaseQualifier, r.IpoPrice), Is.EqualTo((36_000u, (byte)'A', 210_000u)));
    }

    [Test]
    public void DecodesLuldAuctionCollar()
    {
        byte[] m = Message('J', 35);
        Ascii(m, 11, "XYZ     ");
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(19), 100_000);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(23), 110_000);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(27), 90_000);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(31), 2);
        LuldAuctionCollarMessage r = Decode(m).Luld;
        AssertHeader(r.Header, 'J');
        Assert.That((r.AuctionCollarReferencePrice, r.UpperAuctionCollarPrice, r.LowerAuctionCollarPrice, r.AuctionCollarExtension), Is.EqualTo((100_000u, 110_000u, 90_000u, 2u)));
    }

    [Test]
    public void DecodesOperationalHalt()
    {
        byte[] m = Message('h', 21);
        Ascii(m, 11, "XYZ     ");
        m[19] = (byte)'Q';
        m[20] = (byte)'H';
        OperationalHaltMessage r = Decode(m).OperationalHalt;
        AssertHeader(r.Header, 'h');
        Assert.That((r.MarketCode, r.OperationalHaltAction), Is.EqualTo(((byte)'Q', (byte)'H')));
    }

    [Test]
    public void DecodesAddOrder()
    {
        byte[] m = Message('A', 36);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(11), 0x0102030405060708UL);
        m[19] = (byte)'B';
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(20), 300);
        Ascii(m, 24, "AAPL    ");
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(32), 1_234_500);
        AddOrderMessage r = Decode(m).Add;
        AssertHeader(r.Header, 'A');
        Assert.That((r.OrderReferenceNumber, r.BuySellIndicator, r.Shares, r.Price), Is.EqualTo((0x0102030405060708UL, (byte)'B', 300u, 1_234_500u)));
        Assert.That(Symbol.Unpack(r.Stock), Is.EqualTo("AAPL"));
    }

    [Test]
    public void DecodesAddOrderWithMpid()
    {
        byte[] m = Message('F', 40);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(11), 77);
        m[19] = (byte)'S';
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(20), 50);
        Ascii(m, 24, "AAPL    ");
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(32), 999_900);
        Ascii(m, 36, "UBSS");
        AddOrderMpidMessage r = Decode(m).AddMpid;
        AssertHeader(r.Header, 'F');
        Assert.That((r.OrderReferenceNumber, r.BuySellIndicator, r.Shares, r.Price, r.Attribution), Is.EqualTo((77UL, (byte)'S', 50u, 999_900u, Pack4("UBSS"))));
    }

    [Test]
    public void DecodesOrderExecuted()
    {
        byte[] m = Message('E', 31);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(11), 77);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(19), 25);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(23), 0xAABBCCDDEEFF0011UL);
        OrderExecutedMessage r = Decode(m).Executed;
        AssertHeader(r.Header, 'E');
        Assert.That((r.OrderReferenceNumber, r.ExecutedShares, r.MatchNumber), Is.EqualTo((77UL, 25u, 0xAABBCCDDEEFF0011UL)));
    }

    [Test]
    public void DecodesOrderExecutedWithPrice()
    {
        byte[] m = Message('C', 36);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(11), 77);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(19), 25);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(23), 5);
        m[31] = (byte)'N';
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(32), 1_000_100);
        OrderExecutedWithPriceMessage r = Decode(m).ExecutedWithPrice;
        AssertHeader(r.Header, 'C');
        Assert.That((r.OrderReferenceNumber, r.ExecutedShares, r.MatchNumber, r.Printable, r.ExecutionPrice), Is.EqualTo((77UL, 25u, 5UL, (byte)'N', 1_000_100u)));
    }

    [Test]
    public void DecodesOrderCancel()
    {
        byte[] m = Message('X', 23);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(11), 77);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(19), 10);
        OrderCancelMessage r = Decode(m).Cancel;
        AssertHeader(r.Header, 'X');
        Assert.That((r.OrderReferenceNumber, r.CancelledShares), Is.EqualTo((77UL, 10u)));
    }

    [Test]
    public void DecodesOrderDelete()
    {
        byte[] m = Message('D', 19);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(11), 77);
        OrderDeleteMessage r = Decode(m).Delete;
        AssertHeader(r.Header, 'D');
        Assert.That(r.OrderReferenceNumber, Is.EqualTo(77UL));
    }

    [Test]
    public void DecodesOrderReplace()
    {
        byte[] m = Message('U', 35);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(11), 77);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(19), 78);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(27), 400);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(31), 1_000_200);
        OrderReplaceMessage r = Decode(m).Replace;
        AssertHeader(r.Header, 'U');
        Assert.That((r.OriginalOrderReferenceNumber, r.NewOrderReferenceNumber, r.Shares, r.Price), Is.EqualTo((77UL, 78UL, 400u, 1_000_200u)));
    }

    [Test]
    public void DecodesTrade()
    {
        byte[] m = Message('P', 44);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(11), 0);
        m[19] = (byte)'B';
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(20), 200);
        Ascii(m, 24, "AAPL    ");
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(32), 1_000_000);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(36), 9);
        TradeMessage r = Decode(m).Trade;
        AssertHeader(r.Header, 'P');
        Assert.That((r.OrderReferenceNumber, r.BuySellIndicator, r.Shares, r.Price, r.MatchNumber), Is.EqualTo((0UL, (byte)'B', 200u, 1_000_000u, 9UL)));
        Assert.That(Symbol.Unpack(r.Stock), Is.EqualTo("AAPL"));
    }

    [Test]
    public void DecodesCrossTrade()
    {
        byte[] m = Message('Q', 40);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(11), 5_000_000_000UL);
        Ascii(m, 19, "AAPL    ");
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(27), 1_000_000);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(31), 10);
        m[39] = (byte)'O';
        CrossTradeMessage r = Decode(m).Cross;
        AssertHeader(r.Header, 'Q');
        Assert.That((r.Shares, r.CrossPrice, r.MatchNumber, r.CrossType), Is.EqualTo((5_000_000_000UL, 1_000_000u, 10UL, (byte)'O')));
    }

    [Test]
    public void DecodesBrokenTrade()
    {
        byte[] m = Message('B', 19);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(11), 10);
        BrokenTradeMessage r = Decode(m).Broken;
        AssertHeader(r.Header, 'B');
        Assert.That(r.MatchNumber, Is.EqualTo(10UL));
    }

    [Test]
    public void DecodesNetOrderImbalance()
    {
        byte[] m = Message('I', 50);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(11), 1000);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(19), 200);
        m[27] = (byte)'S';
        Ascii(m, 28, "AAPL    ");
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(36), 1_000_100);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(40), 1_000_200);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(44), 1_000_300);
        m[48] = (byte)'C';
        m[49] = (byte)'L';
        NetOrderImbalanceMessage r = Decode(m).Noii;
        AssertHeader(r.Header, 'I');
        Assert.That((r.PairedShares, r.ImbalanceShares, r.ImbalanceDirection), Is.EqualTo((1000UL, 200UL, (byte)'S')));
        Assert.That((r.FarPrice, r.NearPrice, r.CurrentReferencePrice, r.CrossType, r.PriceVariationIndicator), Is.EqualTo((1_000_100u, 1_000_200u, 1_000_300u, (byte)'C', (byte)'L')));
        Assert.That(Symbol.Unpack(r.Stock), Is.EqualTo("AAPL"));
    }

    [Test]
    public void DecodesRetailInterest()
    {
        byte[] m = Message('N', 20);
        Ascii(m, 11, "AAPL    ");
        m[19] = (byte)'A';
        RetailInterestMessage r = Decode(m).Rpii;
        AssertHeader(r.Header, 'N');
        Assert.That(r.InterestFlag, Is.EqualTo((byte)'A'));
    }

    [Test]
    public void DecodesDirectListingPriceDiscovery()
    {
        byte[] m = Message('O', 48);
        Ascii(m, 11, "DLCR    ");
        m[19] = (byte)'Y';
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(20), 100_000);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(24), 200_000);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(28), 150_000);
        BinaryPrimitives.WriteUInt64BigEndian(m.AsSpan(32), 36_000_000_000_000UL);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(40), 140_000);
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(44), 160_000);
        DirectListingPriceDiscoveryMessage r = Decode(m).Dlcr;
        AssertHeader(r.Header, 'O');
        Assert.That((r.OpenEligibilityStatus, r.MinimumAllowablePrice, r.MaximumAllowablePrice, r.NearExecutionPrice), Is.EqualTo(((byte)'Y', 100_000u, 200_000u, 150_000u)));
        Assert.That((r.NearExecutionTime, r.LowerPriceRangeCollar, r.UpperPriceRangeCollar), Is.EqualTo((36_000_000_000_000UL, 140_000u, 160_000u)));
    }

    [TestCase('A', 35, RejectReason.LengthMismatch)]
    [TestCase('A', 37, RejectReason.LengthMismatch)]
    [TestCase('E', 30, RejectReason.LengthMismatch)]
    [TestCase('Z', 20, RejectReason.UnknownMessageType)]
    [TestCase('a', 36, RejectReason.UnknownMessageType)]
    public void RejectsWrongLengthOrUnknownType(char type, int length, RejectReason expected)
    {
        byte[] m = new byte[length];
        m[0] = (byte)type;
        var handler = new RecordingHandler();
        bool ok = ItchDecoder.Decode(m, ref handler, out RejectReason reason);
        Assert.That(ok, Is.False);
        Assert.That(reason, Is.EqualTo(expected));
        Assert.That(handler.Calls, Is.Zero);
    }

    [Test]
    public void RejectsEmptyMessage()
    {
        var handler = new RecordingHandler();
        Assert.That(ItchDecoder.Decode(ReadOnlySpan<byte>.Empty, ref handler, out RejectReason reason), Is.False);
        Assert.That(reason, Is.EqualTo(RejectReason.EmptyFrame));
    }

    private static byte[] Message(char type, int length)
    {
        byte[] m = new byte[length];
        m[0] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(1), Locate);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(3), Tracking);
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(5), (ushort)(Timestamp >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(7), unchecked((uint)Timestamp));
        return m;
    }

    private static void Ascii(byte[] m, int offset, string text) => Encoding.ASCII.GetBytes(text, m.AsSpan(offset));

    private static uint Pack4(string text) => BinaryPrimitives.ReadUInt32LittleEndian(Encoding.ASCII.GetBytes(text));

    private static RecordingHandler Decode(byte[] m)
    {
        var handler = new RecordingHandler();
        bool ok = ItchDecoder.Decode(m, ref handler, out RejectReason reason);
        Assert.That(ok, Is.True, $"rejected: {reason}");
        Assert.That(handler.Calls, Is.EqualTo(1));
        return handler;
    }

    private static void AssertHeader(ItchHeader h, char type) => Assert.That((h.Type, h.StockLocate, h.TrackingNumber, h.Timestamp), Is.EqualTo(((byte)type, Locate, Tracking, Timestamp)));
}
