using System.Runtime.CompilerServices;

namespace FeedHandlers.Itch;

// One struct per ITCH 5.0 message type, field offsets as in the NASDAQ TotalView-ITCH 5.0
// specification. Each Read() expects a message whose length was checked against ItchSpec.LengthOf.
// Symbols and other ASCII fields stay packed in integers (no string per message).

/// <summary>The header every ITCH 5.0 message starts with.</summary>
public readonly struct ItchHeader
{
    /// <summary>Message type byte.</summary>
    public readonly byte Type;

    /// <summary>Locate code: the instrument id for the day (0 for feed-wide messages).</summary>
    public readonly ushort StockLocate;

    /// <summary>NASDAQ internal tracking number.</summary>
    public readonly ushort TrackingNumber;

    /// <summary>Nanoseconds since midnight.</summary>
    public readonly long Timestamp;

    /// <summary>Reads the header of <paramref name="m"/> (at least 11 bytes, checked by the caller).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ItchHeader(ReadOnlySpan<byte> m)
    {
        Type = m[0];
        StockLocate = BigEndian.UInt16(m, 1);
        TrackingNumber = BigEndian.UInt16(m, 3);
        Timestamp = BigEndian.UInt48(m, 5);
    }
}

/// <summary>'S' System Event: a feed-wide event.</summary>
public readonly struct SystemEventMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 12;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>'O' start of messages, 'S' start of system hours, 'Q' start of market hours, 'M' end of market hours, 'E' end of system hours, 'C' end of messages.</summary>
    public readonly byte EventCode;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public SystemEventMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        EventCode = m[11];
    }
}

/// <summary>'R' Stock Directory: reference data of one instrument; its stock locate is the instrument id for the day.</summary>
public readonly struct StockDirectoryMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 39;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Symbol, 8 ASCII bytes, space-padded (packed).</summary>
    public readonly ulong Stock;

    /// <summary>Listing market category.</summary>
    public readonly byte MarketCategory;

    /// <summary>Financial status.</summary>
    public readonly byte FinancialStatusIndicator;

    /// <summary>Shares in a round lot.</summary>
    public readonly uint RoundLotSize;

    /// <summary>'Y' when only round lots are accepted.</summary>
    public readonly byte RoundLotsOnly;

    /// <summary>Issue classification.</summary>
    public readonly byte IssueClassification;

    /// <summary>Issue sub-type, 2 ASCII bytes (packed).</summary>
    public readonly ushort IssueSubType;

    /// <summary>'P' live/production, 'T' test.</summary>
    public readonly byte Authenticity;

    /// <summary>'Y', 'N' or ' '.</summary>
    public readonly byte ShortSaleThresholdIndicator;

    /// <summary>'Y', 'N' or ' '.</summary>
    public readonly byte IpoFlag;

    /// <summary>'1', '2' or ' '.</summary>
    public readonly byte LuldReferencePriceTier;

    /// <summary>'Y', 'N' or ' '.</summary>
    public readonly byte EtpFlag;

    /// <summary>ETP leverage factor.</summary>
    public readonly uint EtpLeverageFactor;

    /// <summary>'Y' for an inverse ETP.</summary>
    public readonly byte InverseIndicator;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public StockDirectoryMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        Stock = BigEndian.Alpha8(m, 11);
        MarketCategory = m[19];
        FinancialStatusIndicator = m[20];
        RoundLotSize = BigEndian.UInt32(m, 21);
        RoundLotsOnly = m[25];
        IssueClassification = m[26];
        IssueSubType = (ushort)(m[27] | (m[27 + 1] << 8));
        Authenticity = m[29];
        ShortSaleThresholdIndicator = m[30];
        IpoFlag = m[31];
        LuldReferencePriceTier = m[32];
        EtpFlag = m[33];
        EtpLeverageFactor = BigEndian.UInt32(m, 34);
        InverseIndicator = m[38];
    }
}

/// <summary>'H' Stock Trading Action: the instrument is halted, paused, in quotation only, or trading.</summary>
public readonly struct StockTradingActionMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 25;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Symbol (packed).</summary>
    public readonly ulong Stock;

    /// <summary>'H' halted, 'P' paused, 'Q' quotation only, 'T' trading.</summary>
    public readonly byte TradingState;

    /// <summary>Reserved.</summary>
    public readonly byte Reserved;

    /// <summary>Reason code, 4 ASCII bytes (packed).</summary>
    public readonly uint Reason;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public StockTradingActionMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        Stock = BigEndian.Alpha8(m, 11);
        TradingState = m[19];
        Reserved = m[20];
        Reason = BigEndian.Alpha4(m, 21);
    }
}

/// <summary>'Y' Reg SHO Short Sale Price Test Restricted Indicator.</summary>
public readonly struct RegShoRestrictionMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 20;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Symbol (packed).</summary>
    public readonly ulong Stock;

    /// <summary>'0' no test, '1' restriction in effect (intra-day drop), '2' restriction remains in effect.</summary>
    public readonly byte RegShoAction;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RegShoRestrictionMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        Stock = BigEndian.Alpha8(m, 11);
        RegShoAction = m[19];
    }
}

/// <summary>'L' Market Participant Position: a market maker's status in an instrument.</summary>
public readonly struct MarketParticipantPositionMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 26;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Market participant id, 4 ASCII bytes (packed).</summary>
    public readonly uint Mpid;

    /// <summary>Symbol (packed).</summary>
    public readonly ulong Stock;

    /// <summary>'Y' or 'N'.</summary>
    public readonly byte PrimaryMarketMaker;

    /// <summary>'N' normal, 'P' passive, 'S' syndicate, 'R' pre-syndicate, 'L' penalty.</summary>
    public readonly byte MarketMakerMode;

    /// <summary>'A' active, 'E' excused, 'W' withdrawn, 'S' suspended, 'D' deleted.</summary>
    public readonly byte MarketParticipantState;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public MarketParticipantPositionMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        Mpid = BigEndian.Alpha4(m, 11);
        Stock = BigEndian.Alpha8(m, 15);
        PrimaryMarketMaker = m[23];
        MarketMakerMode = m[24];
        MarketParticipantState = m[25];
    }
}

/// <summary>'V' Market-Wide Circuit Breaker decline levels for the day.</summary>
public readonly struct MwcbDeclineLevelMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 35;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Level 1, Price(8): 8 implied decimals.</summary>
    public readonly ulong Level1;

    /// <summary>Level 2, Price(8).</summary>
    public readonly ulong Level2;

    /// <summary>Level 3, Price(8).</summary>
    public readonly ulong Level3;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public MwcbDeclineLevelMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        Level1 = BigEndian.UInt64(m, 11);
        Level2 = BigEndian.UInt64(m, 19);
        Level3 = BigEndian.UInt64(m, 27);
    }
}

/// <summary>'W' Market-Wide Circuit Breaker breach.</summary>
public readonly struct MwcbStatusMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 12;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>'1', '2' or '3'.</summary>
    public readonly byte BreachedLevel;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public MwcbStatusMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        BreachedLevel = m[11];
    }
}

/// <summary>'K' IPO quoting period update.</summary>
public readonly struct IpoQuotingPeriodUpdateMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 28;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Symbol (packed).</summary>
    public readonly ulong Stock;

    /// <summary>Seconds since midnight of the release.</summary>
    public readonly uint IpoQuotationReleaseTime;

    /// <summary>'A' anticipated, 'C' canceled or postponed.</summary>
    public readonly byte IpoQuotationReleaseQualifier;

    /// <summary>IPO price, Price(4): 4 implied decimals.</summary>
    public readonly uint IpoPrice;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public IpoQuotingPeriodUpdateMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        Stock = BigEndian.Alpha8(m, 11);
        IpoQuotationReleaseTime = BigEndian.UInt32(m, 19);
        IpoQuotationReleaseQualifier = m[23];
        IpoPrice = BigEndian.UInt32(m, 24);
    }
}

/// <summary>'J' Limit Up-Limit Down auction collar.</summary>
public readonly struct LuldAuctionCollarMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 35;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Symbol (packed).</summary>
    public readonly ulong Stock;

    /// <summary>Reference price, Price(4).</summary>
    public readonly uint AuctionCollarReferencePrice;

    /// <summary>Upper collar, Price(4).</summary>
    public readonly uint UpperAuctionCollarPrice;

    /// <summary>Lower collar, Price(4).</summary>
    public readonly uint LowerAuctionCollarPrice;

    /// <summary>Number of extensions.</summary>
    public readonly uint AuctionCollarExtension;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public LuldAuctionCollarMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        Stock = BigEndian.Alpha8(m, 11);
        AuctionCollarReferencePrice = BigEndian.UInt32(m, 19);
        UpperAuctionCollarPrice = BigEndian.UInt32(m, 23);
        LowerAuctionCollarPrice = BigEndian.UInt32(m, 27);
        AuctionCollarExtension = BigEndian.UInt32(m, 31);
    }
}

/// <summary>'h' Operational halt of an instrument on one market.</summary>
public readonly struct OperationalHaltMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 21;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Symbol (packed).</summary>
    public readonly ulong Stock;

    /// <summary>'Q' Nasdaq, 'B' BX, 'X' PSX.</summary>
    public readonly byte MarketCode;

    /// <summary>'H' halted, 'T' lifted.</summary>
    public readonly byte OperationalHaltAction;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public OperationalHaltMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        Stock = BigEndian.Alpha8(m, 11);
        MarketCode = m[19];
        OperationalHaltAction = m[20];
    }
}

/// <summary>'A' Add Order, no MPID attribution: a new displayed order.</summary>
public readonly struct AddOrderMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 36;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Order id, unique for the day.</summary>
    public readonly ulong OrderReferenceNumber;

    /// <summary>'B' buy, 'S' sell.</summary>
    public readonly byte BuySellIndicator;

    /// <summary>Shares.</summary>
    public readonly uint Shares;

    /// <summary>Symbol (packed).</summary>
    public readonly ulong Stock;

    /// <summary>Limit price, Price(4).</summary>
    public readonly uint Price;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public AddOrderMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        OrderReferenceNumber = BigEndian.UInt64(m, 11);
        BuySellIndicator = m[19];
        Shares = BigEndian.UInt32(m, 20);
        Stock = BigEndian.Alpha8(m, 24);
        Price = BigEndian.UInt32(m, 32);
    }
}

/// <summary>'F' Add Order with MPID attribution.</summary>
public readonly struct AddOrderMpidMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 40;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Order id.</summary>
    public readonly ulong OrderReferenceNumber;

    /// <summary>'B' buy, 'S' sell.</summary>
    public readonly byte BuySellIndicator;

    /// <summary>Shares.</summary>
    public readonly uint Shares;

    /// <summary>Symbol (packed).</summary>
    public readonly ulong Stock;

    /// <summary>Limit price, Price(4).</summary>
    public readonly uint Price;

    /// <summary>MPID, 4 ASCII bytes (packed).</summary>
    public readonly uint Attribution;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public AddOrderMpidMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        OrderReferenceNumber = BigEndian.UInt64(m, 11);
        BuySellIndicator = m[19];
        Shares = BigEndian.UInt32(m, 20);
        Stock = BigEndian.Alpha8(m, 24);
        Price = BigEndian.UInt32(m, 32);
        Attribution = BigEndian.Alpha4(m, 36);
    }
}

/// <summary>'E' Order Executed at the order's own price.</summary>
public readonly struct OrderExecutedMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 31;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Order id.</summary>
    public readonly ulong OrderReferenceNumber;

    /// <summary>Shares executed.</summary>
    public readonly uint ExecutedShares;

    /// <summary>Match number.</summary>
    public readonly ulong MatchNumber;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public OrderExecutedMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        OrderReferenceNumber = BigEndian.UInt64(m, 11);
        ExecutedShares = BigEndian.UInt32(m, 19);
        MatchNumber = BigEndian.UInt64(m, 23);
    }
}

/// <summary>'C' Order Executed at a price other than the order's.</summary>
public readonly struct OrderExecutedWithPriceMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 36;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Order id.</summary>
    public readonly ulong OrderReferenceNumber;

    /// <summary>Shares executed.</summary>
    public readonly uint ExecutedShares;

    /// <summary>Match number.</summary>
    public readonly ulong MatchNumber;

    /// <summary>'Y' printable, 'N' not.</summary>
    public readonly byte Printable;

    /// <summary>Execution price, Price(4).</summary>
    public readonly uint ExecutionPrice;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public OrderExecutedWithPriceMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        OrderReferenceNumber = BigEndian.UInt64(m, 11);
        ExecutedShares = BigEndian.UInt32(m, 19);
        MatchNumber = BigEndian.UInt64(m, 23);
        Printable = m[31];
        ExecutionPrice = BigEndian.UInt32(m, 32);
    }
}

/// <summary>'X' Order Cancel: part of an order removed.</summary>
public readonly struct OrderCancelMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 23;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Order id.</summary>
    public readonly ulong OrderReferenceNumber;

    /// <summary>Shares removed.</summary>
    public readonly uint CancelledShares;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public OrderCancelMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        OrderReferenceNumber = BigEndian.UInt64(m, 11);
        CancelledShares = BigEndian.UInt32(m, 19);
    }
}

/// <summary>'D' Order Delete: the whole order removed.</summary>
public readonly struct OrderDeleteMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 19;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Order id.</summary>
    public readonly ulong OrderReferenceNumber;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public OrderDeleteMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        OrderReferenceNumber = BigEndian.UInt64(m, 11);
    }
}

/// <summary>'U' Order Replace: an order cancelled and replaced by a new one (new id, price, size; priority lost).</summary>
public readonly struct OrderReplaceMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 35;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Id of the order replaced.</summary>
    public readonly ulong OriginalOrderReferenceNumber;

    /// <summary>Id of the new order.</summary>
    public readonly ulong NewOrderReferenceNumber;

    /// <summary>New shares.</summary>
    public readonly uint Shares;

    /// <summary>New price, Price(4).</summary>
    public readonly uint Price;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public OrderReplaceMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        OriginalOrderReferenceNumber = BigEndian.UInt64(m, 11);
        NewOrderReferenceNumber = BigEndian.UInt64(m, 19);
        Shares = BigEndian.UInt32(m, 27);
        Price = BigEndian.UInt32(m, 31);
    }
}

/// <summary>'P' Trade (non-cross): an execution of a non-displayed order.</summary>
public readonly struct TradeMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 44;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Order id (0 in current feeds).</summary>
    public readonly ulong OrderReferenceNumber;

    /// <summary>Side of the non-displayed order: 'B' buy, 'S' sell.</summary>
    public readonly byte BuySellIndicator;

    /// <summary>Shares.</summary>
    public readonly uint Shares;

    /// <summary>Symbol (packed).</summary>
    public readonly ulong Stock;

    /// <summary>Price, Price(4).</summary>
    public readonly uint Price;

    /// <summary>Match number.</summary>
    public readonly ulong MatchNumber;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TradeMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        OrderReferenceNumber = BigEndian.UInt64(m, 11);
        BuySellIndicator = m[19];
        Shares = BigEndian.UInt32(m, 20);
        Stock = BigEndian.Alpha8(m, 24);
        Price = BigEndian.UInt32(m, 32);
        MatchNumber = BigEndian.UInt64(m, 36);
    }
}

/// <summary>'Q' Cross Trade: the result of an opening, closing, IPO or halt cross.</summary>
public readonly struct CrossTradeMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 40;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Shares (8 bytes).</summary>
    public readonly ulong Shares;

    /// <summary>Symbol (packed).</summary>
    public readonly ulong Stock;

    /// <summary>Cross price, Price(4).</summary>
    public readonly uint CrossPrice;

    /// <summary>Match number.</summary>
    public readonly ulong MatchNumber;

    /// <summary>'O' opening, 'C' closing, 'H' IPO/halt, 'I' intraday/post-close.</summary>
    public readonly byte CrossType;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public CrossTradeMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        Shares = BigEndian.UInt64(m, 11);
        Stock = BigEndian.Alpha8(m, 19);
        CrossPrice = BigEndian.UInt32(m, 27);
        MatchNumber = BigEndian.UInt64(m, 31);
        CrossType = m[39];
    }
}

/// <summary>'B' Broken Trade: an execution was broken.</summary>
public readonly struct BrokenTradeMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 19;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Match number of the broken execution.</summary>
    public readonly ulong MatchNumber;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public BrokenTradeMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        MatchNumber = BigEndian.UInt64(m, 11);
    }
}

/// <summary>'I' Net Order Imbalance Indicator before a cross.</summary>
public readonly struct NetOrderImbalanceMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 50;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Paired shares.</summary>
    public readonly ulong PairedShares;

    /// <summary>Imbalance shares.</summary>
    public readonly ulong ImbalanceShares;

    /// <summary>'B' buy, 'S' sell, 'N' none, 'O' insufficient orders.</summary>
    public readonly byte ImbalanceDirection;

    /// <summary>Symbol (packed).</summary>
    public readonly ulong Stock;

    /// <summary>Far price, Price(4).</summary>
    public readonly uint FarPrice;

    /// <summary>Near price, Price(4).</summary>
    public readonly uint NearPrice;

    /// <summary>Current reference price, Price(4).</summary>
    public readonly uint CurrentReferencePrice;

    /// <summary>'O' opening, 'C' closing, 'H' IPO/halt, 'A' extended trading close.</summary>
    public readonly byte CrossType;

    /// <summary>Deviation of the near price from the reference price (a code).</summary>
    public readonly byte PriceVariationIndicator;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public NetOrderImbalanceMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        PairedShares = BigEndian.UInt64(m, 11);
        ImbalanceShares = BigEndian.UInt64(m, 19);
        ImbalanceDirection = m[27];
        Stock = BigEndian.Alpha8(m, 28);
        FarPrice = BigEndian.UInt32(m, 36);
        NearPrice = BigEndian.UInt32(m, 40);
        CurrentReferencePrice = BigEndian.UInt32(m, 44);
        CrossType = m[48];
        PriceVariationIndicator = m[49];
    }
}

/// <summary>'N' Retail Price Improvement Indicator.</summary>
public readonly struct RetailInterestMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 20;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Symbol (packed).</summary>
    public readonly ulong Stock;

    /// <summary>'B' buy side, 'S' sell side, 'A' both, 'N' none.</summary>
    public readonly byte InterestFlag;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RetailInterestMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        Stock = BigEndian.Alpha8(m, 11);
        InterestFlag = m[19];
    }
}

/// <summary>'O' Direct Listing with Capital Raise price discovery.</summary>
public readonly struct DirectListingPriceDiscoveryMessage
{
    /// <summary>Length of this message type in bytes.</summary>
    public const int Length = 48;

    /// <summary>Common header.</summary>
    public readonly ItchHeader Header;

    /// <summary>Symbol (packed).</summary>
    public readonly ulong Stock;

    /// <summary>'N' not eligible, 'Y' eligible.</summary>
    public readonly byte OpenEligibilityStatus;

    /// <summary>Minimum allowable price, Price(4).</summary>
    public readonly uint MinimumAllowablePrice;

    /// <summary>Maximum allowable price, Price(4).</summary>
    public readonly uint MaximumAllowablePrice;

    /// <summary>Near execution price, Price(4).</summary>
    public readonly uint NearExecutionPrice;

    /// <summary>Near execution time, ns since midnight.</summary>
    public readonly ulong NearExecutionTime;

    /// <summary>Lower price range collar, Price(4).</summary>
    public readonly uint LowerPriceRangeCollar;

    /// <summary>Upper price range collar, Price(4).</summary>
    public readonly uint UpperPriceRangeCollar;

    /// <summary>Decodes <paramref name="m"/>, whose length the caller has checked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public DirectListingPriceDiscoveryMessage(ReadOnlySpan<byte> m)
    {
        Header = new ItchHeader(m);
        Stock = BigEndian.Alpha8(m, 11);
        OpenEligibilityStatus = m[19];
        MinimumAllowablePrice = BigEndian.UInt32(m, 20);
        MaximumAllowablePrice = BigEndian.UInt32(m, 24);
        NearExecutionPrice = BigEndian.UInt32(m, 28);
        NearExecutionTime = BigEndian.UInt64(m, 32);
        LowerPriceRangeCollar = BigEndian.UInt32(m, 40);
        UpperPriceRangeCollar = BigEndian.UInt32(m, 44);
    }
}
