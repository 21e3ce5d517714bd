namespace FeedHandlers.Itch;

/// <summary>NASDAQ TotalView-ITCH 5.0 message types (the first byte of each message).</summary>
public enum ItchMessageType : byte
{
    /// <summary>'S' System Event, 12 bytes.</summary>
    SystemEvent = (byte)'S',

    /// <summary>'R' Stock Directory, 39 bytes.</summary>
    StockDirectory = (byte)'R',

    /// <summary>'H' Stock Trading Action, 25 bytes.</summary>
    StockTradingAction = (byte)'H',

    /// <summary>'Y' Reg SHO Short Sale Price Test Restricted Indicator, 20 bytes.</summary>
    RegShoRestriction = (byte)'Y',

    /// <summary>'L' Market Participant Position, 26 bytes.</summary>
    MarketParticipantPosition = (byte)'L',

    /// <summary>'V' MWCB Decline Level, 35 bytes.</summary>
    MwcbDeclineLevel = (byte)'V',

    /// <summary>'W' MWCB Status, 12 bytes.</summary>
    MwcbStatus = (byte)'W',

    /// <summary>'K' IPO Quoting Period Update, 28 bytes.</summary>
    IpoQuotingPeriodUpdate = (byte)'K',

    /// <summary>'J' LULD Auction Collar, 35 bytes.</summary>
    LuldAuctionCollar = (byte)'J',

    /// <summary>'h' Operational Halt, 21 bytes.</summary>
    OperationalHalt = (byte)'h',

    /// <summary>'A' Add Order (no MPID attribution), 36 bytes.</summary>
    AddOrder = (byte)'A',

    /// <summary>'F' Add Order with MPID attribution, 40 bytes.</summary>
    AddOrderMpid = (byte)'F',

    /// <summary>'E' Order Executed, 31 bytes.</summary>
    OrderExecuted = (byte)'E',

    /// <summary>'C' Order Executed With Price, 36 bytes.</summary>
    OrderExecutedWithPrice = (byte)'C',

    /// <summary>'X' Order Cancel, 23 bytes.</summary>
    OrderCancel = (byte)'X',

    /// <summary>'D' Order Delete, 19 bytes.</summary>
    OrderDelete = (byte)'D',

    /// <summary>'U' Order Replace, 35 bytes.</summary>
    OrderReplace = (byte)'U',

    /// <summary>'P' Trade (non-cross), 44 bytes.</summary>
    Trade = (byte)'P',

    /// <summary>'Q' Cross Trade, 40 bytes.</summary>
    CrossTrade = (byte)'Q',

    /// <summary>'B' Broken Trade / Order Execution, 19 bytes.</summary>
    BrokenTrade = (byte)'B',

    /// <summary>'I' Net Order Imbalance Indicator (NOII), 50 bytes.</summary>
    NetOrderImbalance = (byte)'I',

    /// <summary>'N' Retail Price Improvement Indicator (RPII), 20 bytes.</summary>
    RetailInterest = (byte)'N',

    /// <summary>'O' Direct Listing with Capital Raise Price Discovery, 48 bytes.</summary>
    DirectListingPriceDiscovery = (byte)'O',
}

/// <summary>Fixed facts of the ITCH 5.0 spec.</summary>
public static class ItchSpec
{
    /// <summary>Bytes of the header every message starts with: type(1), stock locate(2), tracking number(2), timestamp(6).</summary>
    public const int HeaderLength = 11;

    /// <summary>Largest message length in the spec (NOII).</summary>
    public const int MaxMessageLength = 50;

    /// <summary>Price(4) fields have 4 implied decimals; the engine's prices have 8.</summary>
    public const long Price4ToEngine = 10_000;

    private static readonly byte[] s_lengths = BuildLengths();

    /// <summary>Every message type of the spec.</summary>
    public static IReadOnlyList<ItchMessageType> AllTypes { get; } = Enum.GetValues<ItchMessageType>();

    /// <summary>The fixed length of a message type, or 0 when the byte is no ITCH 5.0 type.</summary>
    public static int LengthOf(byte type) => s_lengths[type];

    /// <summary>True for the types normalized into order-book ticks (A, F, E, C, X, D, U, P, Q, B).</summary>
    public static bool IsOrderBookType(ItchMessageType type) => type is ItchMessageType.AddOrder or ItchMessageType.AddOrderMpid
        or ItchMessageType.OrderExecuted or ItchMessageType.OrderExecutedWithPrice or ItchMessageType.OrderCancel
        or ItchMessageType.OrderDelete or ItchMessageType.OrderReplace or ItchMessageType.Trade
        or ItchMessageType.CrossTrade or ItchMessageType.BrokenTrade;

    private static byte[] BuildLengths()
    {
        var lengths = new byte[256];
        lengths['S'] = 12;
        lengths['R'] = 39;
        lengths['H'] = 25;
        lengths['Y'] = 20;
        lengths['L'] = 26;
        lengths['V'] = 35;
        lengths['W'] = 12;
        lengths['K'] = 28;
        lengths['J'] = 35;
        lengths['h'] = 21;
        lengths['A'] = 36;
        lengths['F'] = 40;
        lengths['E'] = 31;
        lengths['C'] = 36;
        lengths['X'] = 23;
        lengths['D'] = 19;
        lengths['U'] = 35;
        lengths['P'] = 44;
        lengths['Q'] = 40;
        lengths['B'] = 19;
        lengths['I'] = 50;
        lengths['N'] = 20;
        lengths['O'] = 48;
        return lengths;
    }
}
