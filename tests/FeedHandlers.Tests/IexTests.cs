using Engine.Book;
using Engine.Events;
using Engine.Pipeline;
using FeedHandlers.Capture;
using FeedHandlers.Iex;
using FeedHandlers.Pcap;

namespace FeedHandlers.Tests;

[TestFixture]
public sealed class IexTests
{
    private const long T0 = 1_493_132_621_826_543_000; // 2017-04-25 15:03:41.826543 UTC

    [Test]
    public void DeepSampleDecodesEveryMessageTheReadmeCountsAndReportsTheTruncatedLastRecord()
    {
        byte[] capture = CaptureFile.ReadAll(TestData.SharedFile("data", "iex-deep-1.0-sample", "DEEP10.pcap.gz"));
        (List<Tick> ticks, IexCaptureDecoder decoder) = Decode(capture);
        IexCaptureCounters c = decoder.Counters;
        FeedCounters m = c.Messages;
        Assert.Multiple(() =>
        {
            Assert.That(decoder.Protocol, Is.EqualTo(IexProtocol.Deep10));
            Assert.That(c.Records, Is.EqualTo(121_315));
            Assert.That(c.FramesRejectedFor(FrameReject.TruncatedRecord), Is.EqualTo(1), "the last record announces 1,490 bytes and has 460");
            Assert.That(c.FramesRejected, Is.EqualTo(1));
            Assert.That(c.Segments, Is.EqualTo(121_314));
            Assert.That(c.SegmentsRejected, Is.Zero);
            Assert.That(c.MessageCountMismatches, Is.Zero);
            Assert.That(c.StreamRestarts, Is.EqualTo(11), "the sample joins 12 runs of the stream, each from sequence 1");
            Assert.That((c.SequenceGaps, c.SegmentsRejectedFor(SegmentReject.StaleSequence)), Is.EqualTo((0L, 0L)));
            Assert.That(m.Read, Is.EqualTo(391_999));
            Assert.That(m.Rejected, Is.Zero);
            Assert.That(m.Processed, Is.EqualTo(391_999));
            Assert.That(m.ProcessedByType(), Is.EquivalentTo(new[]
            {
                ('H', 93_638L), ('O', 93_638L), ('P', 93_636L), ('T', 83_343L), ('5', 14_627L), ('8', 12_941L), ('B', 73L), ('E', 59L), ('S', 44L),
            }));
        });

        Tick first = ticks[0];
        Assert.That((first.Kind, (char)first.Aux), Is.EqualTo((TickKind.SystemEvent, 'O')).Or.EqualTo((TickKind.SystemEvent, 'S')));
        Assert.That(first.ExchangeTimestampNs, Is.EqualTo(1_493_132_621_826_542_542L), "first message 2017-04-25 15:03:41.826542542 UTC (the README rounds it to .826543)");
        long bookTicks = 44 + 93_638 + 59 + 14_627 + 12_941 + 83_343 + 73;
        Assert.That(ticks, Has.Count.EqualTo(bookTicks + c.ImpliedDefinitions));
        Assert.That(c.ImpliedDefinitions, Is.EqualTo(decoder.Symbols.Count), "no security directory in the sample: every symbol's definition is implied");
        Assert.That(ticks.Where(t => t.Kind == TickKind.InstrumentDefinition).All(t => t.Flags == TickFlags.Synthetic && t.Quantity == 0), Is.True);
        Assert.That(ticks.Zip(ticks.Skip(1)).Count(p => p.Second.Sequence < p.First.Sequence), Is.InRange(1, c.StreamRestarts), "IEX sequence numbers go back only where the stream restarts");

        // The price-level path of the engine's book holds exactly the last size of every level (a
        // dictionary of the last update per instrument, side and price says what that is).
        var books = new MarketBooks();
        var last = new Dictionary<(int, Side, long), long>();
        foreach (Tick t in ticks)
        {
            books.Apply(in t, out _);
            if (t.Kind == TickKind.PriceLevelUpdate)
            {
                last[(t.Instrument, t.Side, t.Price)] = t.Quantity;
            }
        }

        Assert.That(books.TotalAnomalies, Is.Zero);
        var expected = last.Where(kv => kv.Value > 0).Select(kv => (kv.Key.Item1, kv.Key.Item2, kv.Key.Item3, kv.Value)).OrderBy(x => x).ToList();
        var actual = new List<(int, Side, long, long)>();
        foreach (OrderBook book in books.Books)
        {
            for (int i = 0; i < book.Bids.Count; i++)
            {
                actual.Add((book.Instrument, Side.Buy, book.Bids.PriceAt(i), book.Bids.QuantityAt(i)));
            }

            for (int i = 0; i < book.Asks.Count; i++)
            {
                actual.Add((book.Instrument, Side.Sell, book.Asks.PriceAt(i), book.Asks.QuantityAt(i)));
            }
        }

        Assert.That(expected, Is.Not.Empty);
        Assert.That(actual.OrderBy(x => x), Is.EqualTo(expected));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void PcapAndPcapNgCarryTheSameSegments(bool pcapng)
    {
        var iex = new IexWriter(IexProtocol.Deep10);
        var pcap = new PcapWriter(pcapng);
        iex.SystemEvent(T0, 'O').SecurityDirectory(T0 + 1, "ZIEXT", 100, 10_0000_0000);
        pcap.Udp(T0 + 5, 10378, iex.Segment());
        iex.PriceLevel(T0 + 10, "ZIEXT", Side.Buy, 300, 9_9900_0000).Trade(T0 + 11, "ZIEXT", 100, 10_0100_0000, 42, 0x80);
        pcap.Udp(T0 + 15, 10378, iex.Segment());
        (List<Tick> ticks, IexCaptureDecoder decoder) = Decode(pcap.ToArray());

        Assert.That(ticks.Select(t => t.Kind), Is.EqualTo(new[] { TickKind.SystemEvent, TickKind.InstrumentDefinition, TickKind.PriceLevelUpdate, TickKind.Trade }));
        Assert.That(ticks.Select(t => t.Sequence), Is.EqualTo(new[] { 1L, 2, 3, 4 }));
        Tick def = ticks[1];
        Assert.That((Symbol.Unpack(def.RelatedId), def.Quantity, def.Price, def.Flags, def.Instrument), Is.EqualTo(("ZIEXT", 100L, 10_0000_0000L, TickFlags.None, 1)));
        Tick level = ticks[2];
        Assert.That((level.Side, level.Quantity, level.Price, level.Flags), Is.EqualTo((Side.Buy, 300L, 9_9900_0000L, TickFlags.None)));
        Tick trade = ticks[3];
        Assert.That((trade.Quantity, trade.Price, trade.RelatedId, trade.Aux, trade.Flags), Is.EqualTo((100L, 10_0100_0000L, 42UL, (byte)0x80, TickFlags.Printable)));
        Assert.That(trade.ReceiveTimestampNs, Is.EqualTo(pcapng ? T0 + 15 : (T0 + 15) / 1000 * 1000), "capture timestamp (classic pcap keeps µs)");
        Assert.That(decoder.Counters.Records, Is.EqualTo(2));
    }

    [Test]
    public void TopChangesInsideAnEventAreReportedWhenTheEventCompletes()
    {
        var iex = new IexWriter(IexProtocol.Deep10);
        iex.PriceLevel(T0, "ZIEXT", Side.Sell, 100, 10_0500_0000)
           .PriceLevel(T0 + 1, "ZIEXT", Side.Buy, 200, 10_0000_0000)
           // A sweep: the best ask goes, then the next level changes, then the event completes.
           .PriceLevel(T0 + 2, "ZIEXT", Side.Sell, 0, 10_0500_0000, complete: false)
           .PriceLevel(T0 + 2, "ZIEXT", Side.Sell, 400, 10_0600_0000, complete: false)
           .PriceLevel(T0 + 2, "ZIEXT", Side.Buy, 50, 9_9000_0000, complete: true);
        List<Tick> ticks = DecodeSegments(iex.Segment());
        var books = new MarketBooks();
        var changed = new List<bool>();
        foreach (Tick t in ticks.Where(t => t.Kind == TickKind.PriceLevelUpdate))
        {
            books.Apply(in t, out BookResult r);
            changed.Add(r.TopChanged);
        }

        Assert.That(changed, Is.EqualTo(new[] { true, true, false, false, true }));
        OrderBook book = books.Find(1)!;
        Assert.That(book.Top, Is.EqualTo(new TopOfBook(10_0000_0000, 200, 10_0600_0000, 400)));
        Assert.That((book.Bids.Count, book.Bids.PriceAt(1), book.Bids.QuantityAt(1)), Is.EqualTo((2, 9_9000_0000L, 50L)));
    }

    [Test]
    public void TopsQuoteUpdatesSetBothSidesAndAZeroQuoteEmptiesThem()
    {
        var iex = new IexWriter(IexProtocol.Tops16);
        iex.Quote(T0, "ZIEXT", 300, 9_9900_0000, 10_0100_0000, 200).Quote(T0 + 1, "ZIEXT", 0, 0, 0, 0);
        List<Tick> ticks = DecodeSegments(iex.Segment());
        Tick q = ticks[1];
        Assert.That((q.Kind, q.Price, q.Quantity, (long)q.RelatedId, q.OrderId), Is.EqualTo((TickKind.QuoteUpdate, 9_9900_0000L, 300L, 10_0100_0000L, 200UL)));
        var books = new MarketBooks();
        Tick[] t = [.. ticks];
        books.Apply(in t[0], out _);
        books.Apply(in t[1], out BookResult first);
        Assert.That((first.TopChanged, books.Find(1)!.Top), Is.EqualTo((true, new TopOfBook(9_9900_0000, 300, 10_0100_0000, 200))));
        books.Apply(in t[2], out BookResult zero);
        Assert.That((zero.TopChanged, books.Find(1)!.Top), Is.EqualTo((true, new TopOfBook(0, 0, 0, 0))));
    }

    [Test]
    public void CountsEveryBadLayerUnderItsOwnReasonAndKeepsGoing()
    {
        var iex = new IexWriter(IexProtocol.Deep10);
        var pcap = new PcapWriter();
        iex.SystemEvent(T0, 'O');
        pcap.Udp(T0, 1, iex.Segment());                                         // fine: sequence 1
        pcap.Frame(T0, new byte[10]);                                             // shorter than Ethernet
        byte[] arp = new byte[60];
        arp[12] = 0x08;
        arp[13] = 0x06;
        pcap.Frame(T0, arp);                                                      // not IPv4
        pcap.Udp(T0, 1, [1, 2, 3]);                                               // not IEX-TP
        byte[] tops15 = new IexWriter(IexProtocol.Deep10).SystemEvent(T0, 'S').Segment();
        tops15[2] = 0x02;                                                         // protocol 0x8002: not supported
        pcap.Udp(T0, 1, tops15);
        byte[] lengthLie = iex.SystemEvent(T0, 'S').Segment();                    // sequence 2
        lengthLie[12]++;
        pcap.Udp(T0, 1, lengthLie);
        iex.Raw([(byte)'Z', 0, 0])                                                // unknown type: sequence 3
           .Raw([(byte)'T', 0, 0, 0])                                             // trade cut short: 4
           .Raw([(byte)'Q', .. new byte[41]])                                     // a TOPS message on DEEP: 5
           .Raw([])                                                               // empty: 6
           .PriceLevel(T0, "ZIEXT", Side.Buy, 1, 0);                              // price 0: 7
        pcap.Udp(T0, 1, iex.Segment());
        byte[] stale = new IexWriter(IexProtocol.Deep10, firstSequence: 2).SystemEvent(T0, 'R').Segment();
        pcap.Udp(T0, 1, stale);                                                   // behind the stream
        pcap.Udp(T0, 1, new IexWriter(IexProtocol.Deep10, firstSequence: 20).SystemEvent(T0, 'M').Segment()); // 12 missing
        byte[] capture = pcap.ToArray();
        capture = [.. capture, .. capture.AsSpan(24, 30)];                        // a record cut short

        (List<Tick> ticks, IexCaptureDecoder decoder) = Decode(capture);
        IexCaptureCounters c = decoder.Counters;
        FeedCounters m = c.Messages;
        Assert.Multiple(() =>
        {
            Assert.That(c.FramesRejectedFor(FrameReject.ShortFrame), Is.EqualTo(1));
            Assert.That(c.FramesRejectedFor(FrameReject.NotIpv4), Is.EqualTo(1));
            Assert.That(c.FramesRejectedFor(FrameReject.TruncatedRecord), Is.EqualTo(1));
            Assert.That(c.SegmentsRejectedFor(SegmentReject.NotIexTp), Is.EqualTo(1));
            Assert.That(c.SegmentsRejectedFor(SegmentReject.UnsupportedProtocol), Is.EqualTo(1));
            Assert.That(c.SegmentsRejectedFor(SegmentReject.PayloadLengthMismatch), Is.EqualTo(1));
            Assert.That(c.SegmentsRejectedFor(SegmentReject.StaleSequence), Is.EqualTo(1));
            Assert.That((c.SequenceGaps, c.MissingMessages), Is.EqualTo((2L, 1L + 12L)), "sequence 2 (dropped segment) and 8..19");
            Assert.That(m.RejectedFor(RejectReason.UnknownMessageType), Is.EqualTo(2), "'Z', and 'Q' which DEEP does not have");
            Assert.That(m.RejectedFor(RejectReason.LengthMismatch), Is.EqualTo(1));
            Assert.That(m.RejectedFor(RejectReason.EmptyFrame), Is.EqualTo(1));
            Assert.That(m.RejectedFor(RejectReason.InvalidField), Is.EqualTo(1));
            Assert.That(m.Read, Is.EqualTo(m.Processed + m.Rejected));
            Assert.That(m.Processed, Is.EqualTo(2));
        });
        Assert.That(ticks.Select(t => (char)t.Aux), Is.EqualTo(new[] { 'O', 'M' }));
    }

    [Test]
    public void ATruncatedMessageInsideASegmentIsCountedAsATruncatedFrame()
    {
        byte[] segment = new IexWriter(IexProtocol.Deep10).SystemEvent(T0, 'O').SystemEvent(T0, 'S').Segment();
        byte[] cut = segment[..^3];
        cut[12] = (byte)(cut.Length - IexTpHeader.Length);
        var decoder = new IexCaptureDecoder();
        var sink = new ListSink([]);
        decoder.Segment(cut, 0, ref sink);
        Assert.That((decoder.Counters.Messages.Read, decoder.Counters.Messages.RejectedFor(RejectReason.TruncatedFrame), decoder.Counters.MessageCountMismatches), Is.EqualTo((2L, 1L, 0L)));
    }

    [Test]
    public void NotACaptureIsAClearError()
    {
        var decoder = new IexCaptureDecoder();
        var sink = new ListSink([]);
        Assert.That(decoder.Run(new byte[] { 1, 2, 3, 4, 5 }, ref sink, out string error), Is.False);
        Assert.That(error, Does.Contain("neither pcap"));
    }

    [Test]
    public void ThePcapSourcePublishesIntoTheRing()
    {
        var iex = new IexWriter(IexProtocol.Deep10);
        var pcap = new PcapWriter();
        iex.SystemEvent(T0, 'O').PriceLevel(T0, "ZIEXT", Side.Sell, 5, 1_0000_0000);
        pcap.Udp(T0, 1, iex.Segment());
        using var ring = new RingBuffer<Tick>(16);
        var publisher = new TickPublisher(ring, new SingleProducerSequencer(16));
        var source = new IexPcapSource(pcap.ToArray());
        source.Run(publisher, CancellationToken.None);
        Assert.That((publisher.LastPublished, source.Counters.Processed, ring[2].Kind), Is.EqualTo((2L, 2L, TickKind.PriceLevelUpdate)));
        Assert.That(source.Decoder.Symbols.NameOf(1), Is.EqualTo("ZIEXT"));
    }

    [Test]
    public void ThePcapSourceRecordsExchangeToCaptureLatency()
    {
        // Messages stamped by IEX at T0 and T0 + 2 µs, captured at T0 + 5 µs: 5 µs and 3 µs.
        var iex = new IexWriter(IexProtocol.Deep10);
        var pcap = new PcapWriter();
        iex.SystemEvent(T0, 'O').PriceLevel(T0 + 2_000, "ZIEXT", Side.Sell, 5, 1_0000_0000);
        pcap.Udp(T0 + 5_000, 1, iex.Segment());
        using var ring = new RingBuffer<Tick>(16);
        var publisher = new TickPublisher(ring, new SingleProducerSequencer(16));
        using var telemetry = new Engine.Telemetry.LatencyTelemetry();
        publisher.HandOffTimer = telemetry.RingHandOff(16);
        new IexPcapSource(pcap.ToArray()).Run(publisher, CancellationToken.None);
        telemetry.Cut();

        HdrHistogram.HistogramBase h = telemetry.Total(Engine.Telemetry.LatencyStage.ExchangeToReceive);
        Assert.That(h.TotalCount, Is.EqualTo(2), "one per message; the implied definition repeats its message's stamp and is not counted");
        Assert.That(HdrHistogram.HistogramExtensions.GetMaxValue(h), Is.EqualTo(5_000).Within(0.1).Percent);
        Assert.That(h.GetValueAtPercentile(50), Is.EqualTo(3_000).Within(0.1).Percent);
        Assert.That(telemetry.Total(Engine.Telemetry.LatencyStage.Publish).TotalCount, Is.EqualTo(3), "every tick is still timed to the ring");
    }

    internal static (List<Tick> Ticks, IexCaptureDecoder Decoder) Decode(byte[] capture)
    {
        var decoder = new IexCaptureDecoder();
        var sink = new ListSink([]);
        Assert.That(decoder.Run(capture, ref sink, out string error), Is.True, error);
        return (sink.Ticks, decoder);
    }

    private static List<Tick> DecodeSegments(params byte[][] segments)
    {
        var decoder = new IexCaptureDecoder();
        var sink = new ListSink([]);
        foreach (byte[] s in segments)
        {
            decoder.Segment(s, 0, ref sink);
        }

        Assert.That(decoder.Counters.Messages.Rejected, Is.Zero);
        return sink.Ticks;
    }

    private readonly struct ListSink(List<Tick> ticks) : IIexTickSink
    {
        public List<Tick> Ticks => ticks;

        public bool OnTick(ref readonly Tick tick)
        {
            ticks.Add(tick);
            return true;
        }
    }
}
