using System.Runtime.CompilerServices;
using Engine.Events;

namespace FeedHandlers.Itch;

/// <summary>What normalizing one message produced.</summary>
public enum NormalizeResult
{
    /// <summary>The message became a tick.</summary>
    Tick,

    /// <summary>A valid message that carries nothing for the book (e.g. NOII, Reg SHO): processed, no tick.</summary>
    NoTick,

    /// <summary>A field has a value the spec does not allow; reject with <see cref="RejectReason.InvalidField"/>.</summary>
    InvalidField,
}

/// <summary>
/// Turns validated ITCH 5.0 messages into <see cref="Tick"/>s, written in place (e.g. straight into a
/// claimed ring slot). Order-book messages (A, F, E, C, X, D, U, P, Q, B) become book ticks; stock
/// directory, system event and trading action become reference ticks; the rest carry nothing for the
/// book. Prices go from 4 to 8 implied decimals. Allocation-free.
/// </summary>
public static class ItchNormalizer
{
    /// <summary>True when a message of this type becomes a tick.</summary>
    public static bool ProducesTick(byte type) => type is (byte)'A' or (byte)'F' or (byte)'E' or (byte)'C' or (byte)'X' or (byte)'D'
        or (byte)'U' or (byte)'P' or (byte)'Q' or (byte)'B' or (byte)'R' or (byte)'S' or (byte)'H';

    /// <summary>
    /// Checks the fields <see cref="Normalize"/> interprets (the side of A, F and P). Call it before
    /// claiming a ring slot, so that a claimed slot is always published with a valid tick.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool HasValidFields(ReadOnlySpan<byte> m) =>
        m[0] is not ((byte)'A' or (byte)'F' or (byte)'P') || m[19] is (byte)'B' or (byte)'S';

    /// <summary>
    /// Fills every field of <paramref name="tick"/> except <see cref="Tick.Sequence"/> and
    /// <see cref="Tick.ReceiveTimestampNs"/> (the caller's) from <paramref name="m"/>, which must have
    /// passed <see cref="ItchDecoder.TryValidate"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NormalizeResult Normalize(ReadOnlySpan<byte> m, ref Tick tick)
    {
        byte type = m[0];
        tick.Instrument = BigEndian.UInt16(m, 1);
        tick.ExchangeTimestampNs = BigEndian.UInt48(m, 5);
        tick.OrderId = 0;
        tick.RelatedId = 0;
        tick.Price = 0;
        tick.Quantity = 0;
        tick.Side = Side.None;
        tick.Flags = TickFlags.None;
        tick.Aux = 0;
        switch (type)
        {
            case (byte)'A':
            case (byte)'F':
                tick.Kind = TickKind.AddOrder;
                tick.OrderId = BigEndian.UInt64(m, 11);
                tick.Quantity = BigEndian.UInt32(m, 20);
                tick.Price = BigEndian.UInt32(m, 32) * ItchSpec.Price4ToEngine;
                tick.Flags = type == (byte)'F' ? TickFlags.Attributed : TickFlags.None;
                return SetSide(m[19], ref tick);
            case (byte)'E':
                tick.Kind = TickKind.OrderExecuted;
                tick.OrderId = BigEndian.UInt64(m, 11);
                tick.Quantity = BigEndian.UInt32(m, 19);
                tick.RelatedId = BigEndian.UInt64(m, 23);
                tick.Flags = TickFlags.Printable;
                return NormalizeResult.Tick;
            case (byte)'C':
                tick.Kind = TickKind.OrderExecutedWithPrice;
                tick.OrderId = BigEndian.UInt64(m, 11);
                tick.Quantity = BigEndian.UInt32(m, 19);
                tick.RelatedId = BigEndian.UInt64(m, 23);
                tick.Flags = m[31] == (byte)'Y' ? TickFlags.Printable : TickFlags.None;
                tick.Price = BigEndian.UInt32(m, 32) * ItchSpec.Price4ToEngine;
                return NormalizeResult.Tick;
            case (byte)'X':
                tick.Kind = TickKind.OrderCancel;
                tick.OrderId = BigEndian.UInt64(m, 11);
                tick.Quantity = BigEndian.UInt32(m, 19);
                return NormalizeResult.Tick;
            case (byte)'D':
                tick.Kind = TickKind.OrderDelete;
                tick.OrderId = BigEndian.UInt64(m, 11);
                return NormalizeResult.Tick;
            case (byte)'U':
                tick.Kind = TickKind.OrderReplace;
                tick.OrderId = BigEndian.UInt64(m, 11);
                tick.RelatedId = BigEndian.UInt64(m, 19);
                tick.Quantity = BigEndian.UInt32(m, 27);
                tick.Price = BigEndian.UInt32(m, 31) * ItchSpec.Price4ToEngine;
                return NormalizeResult.Tick;
            case (byte)'P':
                tick.Kind = TickKind.Trade;
                tick.OrderId = BigEndian.UInt64(m, 11);
                tick.Quantity = BigEndian.UInt32(m, 20);
                tick.Price = BigEndian.UInt32(m, 32) * ItchSpec.Price4ToEngine;
                tick.RelatedId = BigEndian.UInt64(m, 36);
                tick.Flags = TickFlags.Printable;
                return SetSide(m[19], ref tick);
            case (byte)'Q':
                tick.Kind = TickKind.CrossTrade;
                tick.Quantity = (long)Math.Min(BigEndian.UInt64(m, 11), long.MaxValue);
                tick.Price = BigEndian.UInt32(m, 27) * ItchSpec.Price4ToEngine;
                tick.RelatedId = BigEndian.UInt64(m, 31);
                tick.Aux = m[39];
                tick.Flags = TickFlags.Printable;
                return NormalizeResult.Tick;
            case (byte)'B':
                tick.Kind = TickKind.BrokenTrade;
                tick.RelatedId = BigEndian.UInt64(m, 11);
                return NormalizeResult.Tick;
            case (byte)'R':
                tick.Kind = TickKind.InstrumentDefinition;
                tick.RelatedId = BigEndian.Alpha8(m, 11);
                tick.Quantity = BigEndian.UInt32(m, 21);
                return NormalizeResult.Tick;
            case (byte)'S':
                tick.Kind = TickKind.SystemEvent;
                tick.Aux = m[11];
                return NormalizeResult.Tick;
            case (byte)'H':
                tick.Kind = TickKind.TradingStatus;
                tick.RelatedId = BigEndian.Alpha8(m, 11);
                tick.Aux = m[19];
                return NormalizeResult.Tick;
            default:
                tick.Kind = TickKind.None;
                return NormalizeResult.NoTick;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static NormalizeResult SetSide(byte side, ref Tick tick)
    {
        switch (side)
        {
            case (byte)'B':
                tick.Side = Side.Buy;
                return NormalizeResult.Tick;
            case (byte)'S':
                tick.Side = Side.Sell;
                return NormalizeResult.Tick;
            default:
                return NormalizeResult.InvalidField;
        }
    }
}
