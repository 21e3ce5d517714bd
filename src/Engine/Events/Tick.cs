using System.Runtime.InteropServices;

namespace Engine.Events;

/// <summary>What a <see cref="Tick"/> says happened.</summary>
public enum TickKind : byte
{
    /// <summary>Unused slot; never published.</summary>
    None = 0,

    /// <summary>A new resting order: <see cref="Tick.OrderId"/>, side, price, quantity.</summary>
    AddOrder = 1,

    /// <summary>Part or all of a resting order executed at its own price; quantity is the executed amount.</summary>
    OrderExecuted = 2,

    /// <summary>Part or all of a resting order executed at <see cref="Tick.Price"/> (which may differ from the order's).</summary>
    OrderExecutedWithPrice = 3,

    /// <summary>Quantity removed from a resting order; quantity is the cancelled amount.</summary>
    OrderCancel = 4,

    /// <summary>A resting order removed entirely.</summary>
    OrderDelete = 5,

    /// <summary>A resting order replaced: <see cref="Tick.OrderId"/> is the old id, <see cref="Tick.RelatedId"/> the new one, with new price and quantity.</summary>
    OrderReplace = 6,

    /// <summary>An execution against a non-displayed order; does not change the visible book.</summary>
    Trade = 7,

    /// <summary>A cross (opening, closing, halt/IPO); quantity may exceed 32 bits.</summary>
    CrossTrade = 8,

    /// <summary>A trade was broken; <see cref="Tick.RelatedId"/> is the match number.</summary>
    BrokenTrade = 9,

    /// <summary>Reference data: an instrument's symbol (8 ASCII bytes in <see cref="Tick.RelatedId"/>) and round lot (quantity).</summary>
    InstrumentDefinition = 10,

    /// <summary>A feed-wide event (start/end of messages or market hours); the code is in <see cref="Tick.Aux"/>.</summary>
    SystemEvent = 11,

    /// <summary>An instrument's trading state changed (halted, paused, quotation only, trading); state in <see cref="Tick.Aux"/>.</summary>
    TradingStatus = 12,

    /// <summary>
    /// The feed lost messages that no line delivered (a MoldUDP64 gap): <see cref="Tick.Sequence"/> is the
    /// first missing sequence number, <see cref="Tick.Quantity"/> how many are missing. Carries no
    /// instrument; books and features ignore it (the stage counts it), strategies may treat the
    /// books as suspect from here.
    /// </summary>
    SequenceGap = 13,

    /// <summary>
    /// A price-level (not order-level) book update: the aggregate <see cref="Tick.Quantity"/> now resting
    /// at <see cref="Tick.Price"/> on <see cref="Tick.Side"/>; 0 removes the level (IEX DEEP). While
    /// <see cref="TickFlags.BookInTransition"/> is set, more updates of the same venue event follow.
    /// </summary>
    PriceLevelUpdate = 14,

    /// <summary>
    /// Top of book of both sides at once (IEX TOPS): bid price in <see cref="Tick.Price"/>, bid size in
    /// <see cref="Tick.Quantity"/>, ask price in <see cref="Tick.RelatedId"/> (as a <c>long</c>, 1e-8 units),
    /// ask size in <see cref="Tick.OrderId"/>; a side with size 0 is empty. Flags of the venue in <see cref="Tick.Aux"/>.
    /// </summary>
    QuoteUpdate = 15,

    /// <summary>An event for one instrument that changes no book (IEX: opening or closing process complete); code in <see cref="Tick.Aux"/>.</summary>
    SecurityEvent = 16,
}

/// <summary>Side of the resting order an event refers to.</summary>
public enum Side : byte
{
    /// <summary>Not applicable or not known.</summary>
    None = 0,

    /// <summary>Buy (bid).</summary>
    Buy = (byte)'B',

    /// <summary>Sell (ask).</summary>
    Sell = (byte)'S',
}

/// <summary>Bit flags carried by a <see cref="Tick"/>.</summary>
[Flags]
public enum TickFlags : byte
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>The execution is printable (counts toward volume); ITCH 'C' messages carry it.</summary>
    Printable = 1,

    /// <summary>Not in the source: added by a tool or handler (a synthetic order explaining liquidity the source did not show, an instrument definition implied by a symbol's first message).</summary>
    Synthetic = 2,

    /// <summary>The order carried a market participant attribution (ITCH 'F').</summary>
    Attributed = 4,

    /// <summary>A price-level update in the middle of a venue event (IEX DEEP event flags 0): the book is consistent again at the next update of the instrument without this flag.</summary>
    BookInTransition = 8,
}

/// <summary>
/// One normalized market event, exactly 64 bytes (one cache line) so a ring slot is a line.
/// Prices are fixed-point integers with <see cref="PriceScale"/> units per currency unit.
/// </summary>
/// <remarks>
/// Layout is explicit and guarded by a test. Fields are public for the hot path: producers write
/// them into a claimed ring slot, consumers read them by <c>ref</c>. No field is a reference type,
/// so a slot never holds a GC reference.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public struct Tick
{
    /// <summary>Price units per currency unit: prices are integers in 1e-8 (covers ITCH's 4 and 8 decimal prices and crypto tick sizes).</summary>
    public const long PriceScale = 100_000_000;

    /// <summary>The size of a tick in bytes; one cache line.</summary>
    public const int Size = 64;

    /// <summary>Source sequence: the message's position in its feed or capture (1-based).</summary>
    [FieldOffset(0)] public long Sequence;

    /// <summary>Exchange timestamp, ns (ITCH: since midnight of the trading day). Drives every time-based feature.</summary>
    [FieldOffset(8)] public long ExchangeTimestampNs;

    /// <summary>Receive timestamp on <see cref="Engine.Native.MonotonicClock"/> (ns): when the message reached the engine (or, in a paced replay, when it was scheduled to).</summary>
    [FieldOffset(16)] public long ReceiveTimestampNs;

    /// <summary>Order id the event refers to (the original id for a replace).</summary>
    [FieldOffset(24)] public ulong OrderId;

    /// <summary>Second id: new order id (replace), match number (executions, trades, breaks), or packed symbol (definitions).</summary>
    [FieldOffset(32)] public ulong RelatedId;

    /// <summary>Price in 1e-8 units (<see cref="PriceScale"/>); 0 when the event has none.</summary>
    [FieldOffset(40)] public long Price;

    /// <summary>Shares or contracts: added, executed, cancelled, traded, or the new size on replace.</summary>
    [FieldOffset(48)] public long Quantity;

    /// <summary>Instrument id (ITCH: stock locate).</summary>
    [FieldOffset(56)] public int Instrument;

    /// <summary>What happened.</summary>
    [FieldOffset(60)] public TickKind Kind;

    /// <summary>Side of the order concerned.</summary>
    [FieldOffset(61)] public Side Side;

    /// <summary>Flags.</summary>
    [FieldOffset(62)] public TickFlags Flags;

    /// <summary>A one-byte code whose meaning depends on <see cref="Kind"/> (system event code, trading state, cross type).</summary>
    [FieldOffset(63)] public byte Aux;

    /// <summary>The price as a decimal number (cold paths: output, tests).</summary>
    public readonly decimal PriceDecimal => (decimal)Price / PriceScale;

    /// <inheritdoc />
    public override readonly string ToString() =>
        $"#{Sequence} {Kind} i={Instrument} {Side} px={PriceDecimal} qty={Quantity} id={OrderId} rel={RelatedId} t={ExchangeTimestampNs}";
}
