using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Engine.Events;
using FeedHandlers.Itch;

namespace FeedHandlers.Iex;

/// <summary>
/// IEX TOPS 1.6 and DEEP 1.0 messages (little-endian; timestamps ns since the Unix epoch; prices
/// 8-byte fixed point with 4 decimals; symbols 8 ASCII bytes at offset 10): validation and
/// normalization into <see cref="Tick"/>s. Allocation-free; bad input is a <see cref="RejectReason"/>.
/// </summary>
/// <remarks>
/// Ticks: system event 'S' → <see cref="TickKind.SystemEvent"/>; security directory 'D' →
/// <see cref="TickKind.InstrumentDefinition"/> (round lot in Quantity, adjusted previous close in
/// Price); trading status 'H' → <see cref="TickKind.TradingStatus"/>; security event 'E' (DEEP) →
/// <see cref="TickKind.SecurityEvent"/>; price level update '8' buy / '5' sell (DEEP) →
/// <see cref="TickKind.PriceLevelUpdate"/> (<see cref="TickFlags.BookInTransition"/> while the
/// event-processing-complete flag is clear); quote update 'Q' (TOPS) → <see cref="TickKind.QuoteUpdate"/>;
/// trade report 'T' → <see cref="TickKind.Trade"/> (sale condition flags in Aux, trade id in
/// RelatedId); trade break 'B' → <see cref="TickKind.BrokenTrade"/>. Operational halt 'O', short-sale
/// price test 'P', retail liquidity indicator 'I', official price 'X' and auction information 'A' are
/// valid and counted but carry nothing for the book (like ITCH's 'h', 'Y' and NOII). A message longer
/// than its type is accepted (IEX-TP lets later versions append fields); a shorter one is rejected.
/// </remarks>
public static class IexNormalizer
{
    private static readonly byte[] s_deepLengths = Lengths(deep: true);
    private static readonly byte[] s_topsLengths = Lengths(deep: false);

    /// <summary>The length of a message type in <paramref name="protocol"/>, or 0 when the type is not part of it.</summary>
    public static int LengthOf(IexProtocol protocol, byte type) => protocol switch
    {
        IexProtocol.Deep10 => s_deepLengths[type],
        IexProtocol.Tops16 => s_topsLengths[type],
        _ => 0,
    };

    /// <summary>True when the type names an instrument (its symbol is at bytes 10–17).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool HasSymbol(byte type) => type != (byte)'S';

    /// <summary>The packed symbol of a validated message that has one (see <see cref="HasSymbol"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SymbolOf(ReadOnlySpan<byte> m) => BinaryPrimitives.ReadUInt64LittleEndian(m[10..]);

    /// <summary>Checks type, length and the fields <see cref="Normalize"/> interprets.</summary>
    public static bool TryValidate(IexProtocol protocol, ReadOnlySpan<byte> m, out RejectReason reason)
    {
        if (m.IsEmpty)
        {
            reason = RejectReason.EmptyFrame;
            return false;
        }

        int length = LengthOf(protocol, m[0]);
        if (length == 0)
        {
            reason = RejectReason.UnknownMessageType;
            return false;
        }

        if (m.Length < length)
        {
            reason = RejectReason.LengthMismatch;
            return false;
        }

        bool valid = m[0] switch
        {
            (byte)'8' or (byte)'5' => Price(m, 22) > 0,
            (byte)'T' or (byte)'B' => Price(m, 22) > 0,
            (byte)'Q' => Price(m, 22) >= 0 && Price(m, 30) >= 0,
            (byte)'D' => Price(m, 22) >= 0,
            _ => true,
        };
        reason = valid ? default : RejectReason.InvalidField;
        return valid;
    }

    /// <summary>True when a message of this type becomes a tick.</summary>
    public static bool ProducesTick(byte type) => type is (byte)'S' or (byte)'D' or (byte)'H' or (byte)'E' or (byte)'8' or (byte)'5' or (byte)'Q' or (byte)'T' or (byte)'B';

    /// <summary>
    /// Fills every field of <paramref name="tick"/> except <see cref="Tick.Sequence"/> and
    /// <see cref="Tick.ReceiveTimestampNs"/> from <paramref name="m"/>, which passed
    /// <see cref="TryValidate"/> and <see cref="ProducesTick"/>.
    /// </summary>
    public static void Normalize(ReadOnlySpan<byte> m, int instrument, ref Tick tick)
    {
        byte type = m[0];
        tick.Instrument = type == (byte)'S' ? 0 : instrument;
        tick.ExchangeTimestampNs = BinaryPrimitives.ReadInt64LittleEndian(m[2..]);
        tick.OrderId = 0;
        tick.RelatedId = 0;
        tick.Price = 0;
        tick.Quantity = 0;
        tick.Side = Side.None;
        tick.Flags = TickFlags.None;
        tick.Aux = m[1];
        switch (type)
        {
            case (byte)'S':
                tick.Kind = TickKind.SystemEvent;
                break;
            case (byte)'D':
                tick.Kind = TickKind.InstrumentDefinition;
                tick.RelatedId = SymbolOf(m);
                tick.Quantity = BinaryPrimitives.ReadUInt32LittleEndian(m[18..]);
                tick.Price = Price(m, 22);
                break;
            case (byte)'H':
                tick.Kind = TickKind.TradingStatus;
                tick.RelatedId = SymbolOf(m);
                break;
            case (byte)'E':
                tick.Kind = TickKind.SecurityEvent;
                tick.RelatedId = SymbolOf(m);
                break;
            case (byte)'8':
            case (byte)'5':
                tick.Kind = TickKind.PriceLevelUpdate;
                tick.Side = type == (byte)'8' ? Side.Buy : Side.Sell;
                tick.Quantity = BinaryPrimitives.ReadUInt32LittleEndian(m[18..]);
                tick.Price = Price(m, 22);
                tick.Flags = (m[1] & 1) == 0 ? TickFlags.BookInTransition : TickFlags.None;
                break;
            case (byte)'Q':
                tick.Kind = TickKind.QuoteUpdate;
                tick.Quantity = BinaryPrimitives.ReadUInt32LittleEndian(m[18..]);
                tick.Price = Price(m, 22);
                tick.RelatedId = (ulong)Price(m, 30);
                tick.OrderId = BinaryPrimitives.ReadUInt32LittleEndian(m[38..]);
                break;
            case (byte)'T':
            case (byte)'B':
                tick.Kind = type == (byte)'T' ? TickKind.Trade : TickKind.BrokenTrade;
                tick.Quantity = BinaryPrimitives.ReadUInt32LittleEndian(m[18..]);
                tick.Price = Price(m, 22);
                tick.RelatedId = BinaryPrimitives.ReadUInt64LittleEndian(m[30..]);
                tick.Flags = type == (byte)'T' ? TickFlags.Printable : TickFlags.None;
                break;
            default:
                tick.Kind = TickKind.None;
                break;
        }
    }

    // IEX prices: signed 8-byte, 4 implied decimals; to the engine's 8. Saturates instead of overflowing.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Price(ReadOnlySpan<byte> m, int offset)
    {
        long raw = BinaryPrimitives.ReadInt64LittleEndian(m[offset..]);
        return raw > long.MaxValue / ItchSpec.Price4ToEngine ? long.MaxValue : raw < long.MinValue / ItchSpec.Price4ToEngine ? long.MinValue : raw * ItchSpec.Price4ToEngine;
    }

    private static byte[] Lengths(bool deep)
    {
        var lengths = new byte[256];
        lengths['S'] = 10;
        lengths['D'] = 31;
        lengths['H'] = 22;
        lengths['O'] = 18;
        lengths['P'] = 19;
        lengths['I'] = 18;
        lengths['T'] = 38;
        lengths['B'] = 38;
        lengths['X'] = 26;
        lengths['A'] = 80;
        if (deep)
        {
            lengths['E'] = 18;
            lengths['8'] = 30;
            lengths['5'] = 30;
        }
        else
        {
            lengths['Q'] = 42;
        }

        return lengths;
    }
}
