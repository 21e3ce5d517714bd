using System.Text;
using Engine.Book;
using Engine.Cli.Lobster;
using Engine.Events;
using FeedHandlers.Iex;
using FeedHandlers.Itch;
using FeedHandlers.Lobster;

namespace Engine.Fuzz;

/// <summary>
/// One fuzz target per parser. Each takes arbitrary bytes, drives the parser and what consumes its
/// output (normalizer, book, converter) and checks the parser's own accounting. Bad input must be
/// counted, never thrown; an exception or a broken invariant is a crash.
/// </summary>
public static partial class FuzzTargets
{
    /// <summary>The targets by name.</summary>
    /// <remarks>Each returns how many messages (rows) the parser accepted, so a run can show how deep its inputs reach.</remarks>
    public static IReadOnlyDictionary<string, Func<byte[], long>> All { get; } = new Dictionary<string, Func<byte[], long>>(StringComparer.Ordinal)
    {
        ["itch"] = Itch,
        ["iex"] = Iex,
        ["lobster"] = Lobster,
        ["moldudp"] = MoldUdp,
        ["capture"] = Capture,
    };

    /// <summary>ITCH 5.0: BinaryFILE framing, validation, decoding of every type, normalization, the order book.</summary>
    public static long Itch(byte[] input)
    {
        var frames = new BinaryFileFrameReader(input);
        var counters = new FeedCounters();
        var books = new MarketBooks(expectedLiveOrders: 64, expectedInstruments: 16, initialLevels: 8);
        var handler = default(CountingHandler);
        var tick = default(Tick);
        FrameStatus status;
        while ((status = frames.Next(out ReadOnlySpan<byte> message)) != FrameStatus.End)
        {
            counters.CountRead();
            if (status != FrameStatus.Message)
            {
                counters.CountRejected(status == FrameStatus.EmptyFrame ? RejectReason.EmptyFrame : RejectReason.TruncatedFrame);
                continue;
            }

            bool decoded = ItchDecoder.Decode(message, ref handler, out RejectReason reason);
            bool valid = ItchDecoder.TryValidate(message, out RejectReason again);
            Check(decoded == valid && (decoded || reason == again), "Decode and TryValidate disagree");
            if (!valid)
            {
                counters.CountRejected(reason);
                continue;
            }

            if (!ItchNormalizer.HasValidFields(message))
            {
                counters.CountRejected(RejectReason.InvalidField);
                continue;
            }

            if (ItchNormalizer.ProducesTick(message[0]))
            {
                Check(ItchNormalizer.Normalize(message, ref tick) == NormalizeResult.Tick, "a validated message did not normalize");
                books.Apply(in tick, out _);
            }

            counters.CountProcessed(message[0]);
        }

        Check(counters.Read == counters.Processed + counters.Rejected, "read != processed + rejected");
        Check(frames.Remaining == 0, "bytes left after End");
        Check(handler.Calls == counters.Processed + counters.RejectedFor(RejectReason.InvalidField), "handler calls != decoded messages");
        return counters.Processed;
    }

    /// <summary>IEX: the bytes as a pcap/pcapng capture and as a bare IEX-TP segment, through the decoder into the book.</summary>
    public static long Iex(byte[] input)
    {
        var decoder = new IexCaptureDecoder(expectedSymbols: 16);
        var sink = new BookSink(new MarketBooks(expectedLiveOrders: 16, expectedInstruments: 16, initialLevels: 8));
        decoder.Run(input, ref sink, out _);
        CheckIex(decoder);

        var segment = new IexCaptureDecoder(expectedSymbols: 16);
        segment.Segment(input, 0, ref sink);
        CheckIex(segment);
        return decoder.Counters.Messages.Processed + segment.Counters.Messages.Processed;
    }

    /// <summary>
    /// LOBSTER: the bytes up to the first 0 byte are a message file and the rest an orderbook file;
    /// they are parsed, turned into order flow, converted to ITCH, and the ITCH decoded again.
    /// </summary>
    public static long Lobster(byte[] input)
    {
        int split = Array.IndexOf(input, (byte)0);
        byte[] messages = split < 0 ? input : input[..split];
        byte[] orderbook = split < 0 ? [] : input[(split + 1)..];
        LobsterData data;
        try
        {
            data = LobsterData.Create("FUZZ.csv", messages, orderbook, "fuzz");
        }
        catch (InvalidDataException)
        {
            // Start-up validation: an orderbook whose first row is no book row is refused with a message.
            return 0;
        }

        if (data.Levels > 64)
        {
            return 0;
        }

        LobsterConversion conversion = LobsterToItch.Convert(data);
        Check(conversion.Rejected.Read == conversion.Rejected.Processed + conversion.Rejected.Rejected, "LOBSTER rows: read != processed + rejected");
        Check(conversion.Stats.RowsNotReconciled == 0, "the order flow could not reconcile a row");
        Tick[] ticks = ItchTicks.Decode(conversion.Itch);
        Check(ticks.Length == conversion.Messages, "converted ITCH did not decode one tick per message");
        OracleResult result = LobsterOracle.Verify(conversion, keepMismatches: 1);
        Check(result.MismatchedRows == 0 && result.Feed.Rejected == 0, "oracle mismatch on fuzzed input: " + string.Join("; ", result.FirstMismatches));
        return conversion.Rejected.Processed;
    }

    private static void CheckIex(IexCaptureDecoder decoder)
    {
        FeedCounters m = decoder.Counters.Messages;
        Check(m.Read == m.Processed + m.Rejected, "IEX messages: read != processed + rejected");
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvariantException(what);
        }
    }

    private readonly struct BookSink(MarketBooks books) : IIexTickSink
    {
        public bool OnTick(ref readonly Tick tick)
        {
            books.Apply(in tick, out _);
            return true;
        }
    }

    // Touches every field of every message so that decoding is not dead code.
    private struct CountingHandler : IItchHandler
    {
        public long Calls;
        public long Sum;

        public void OnSystemEvent(in SystemEventMessage message) => Count(message.Header.Timestamp + message.EventCode);

        public void OnStockDirectory(in StockDirectoryMessage message) => Count(message.RoundLotSize + (long)message.Stock);

        public void OnStockTradingAction(in StockTradingActionMessage message) => Count(message.TradingState);

        public void OnRegShoRestriction(in RegShoRestrictionMessage message) => Count(message.RegShoAction);

        public void OnMarketParticipantPosition(in MarketParticipantPositionMessage message) => Count(message.MarketMakerMode);

        public void OnMwcbDeclineLevel(in MwcbDeclineLevelMessage message) => Count((long)message.Level1);

        public void OnMwcbStatus(in MwcbStatusMessage message) => Count(message.BreachedLevel);

        public void OnIpoQuotingPeriodUpdate(in IpoQuotingPeriodUpdateMessage message) => Count(message.IpoPrice);

        public void OnLuldAuctionCollar(in LuldAuctionCollarMessage message) => Count(message.UpperAuctionCollarPrice);

        public void OnOperationalHalt(in OperationalHaltMessage message) => Count(message.OperationalHaltAction);

        public void OnAddOrder(in AddOrderMessage message) => Count(message.Price + message.Shares);

        public void OnAddOrderMpid(in AddOrderMpidMessage message) => Count(message.Price + message.Attribution);

        public void OnOrderExecuted(in OrderExecutedMessage message) => Count(message.ExecutedShares);

        public void OnOrderExecutedWithPrice(in OrderExecutedWithPriceMessage message) => Count(message.ExecutionPrice);

        public void OnOrderCancel(in OrderCancelMessage message) => Count(message.CancelledShares);

        public void OnOrderDelete(in OrderDeleteMessage message) => Count((long)message.OrderReferenceNumber);

        public void OnOrderReplace(in OrderReplaceMessage message) => Count(message.Price);

        public void OnTrade(in TradeMessage message) => Count(message.Price);

        public void OnCrossTrade(in CrossTradeMessage message) => Count(message.CrossPrice);

        public void OnBrokenTrade(in BrokenTradeMessage message) => Count((long)message.MatchNumber);

        public void OnNetOrderImbalance(in NetOrderImbalanceMessage message) => Count(message.FarPrice);

        public void OnRetailInterest(in RetailInterestMessage message) => Count(message.InterestFlag);

        public void OnDirectListingPriceDiscovery(in DirectListingPriceDiscoveryMessage message) => Count(message.MinimumAllowablePrice);

        private void Count(long value)
        {
            Calls++;
            Sum += value;
        }
    }
}

/// <summary>A parser broke one of its own promises (an accounting identity, a decode that disagrees with validation).</summary>
public sealed class InvariantException(string message) : Exception(message);
