using System.Buffers.Binary;
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

/// <summary>What <see cref="ItchNormalizer.Classify"/> decided about a message.</summary>
public enum ItchDisposition
{
    /// <summary>Valid, and it becomes a tick (<see cref="ItchNormalizer.Normalize"/> it).</summary>
    Tick,

    /// <summary>Valid, and it carries nothing for the book: processed, no tick.</summary>
    NoTick,

    /// <summary>Rejected; the reason is in the out parameter.</summary>
    Rejected,
}

/// <summary>
/// Turns validated ITCH 5.0 messages into <see cref="Tick"/>s, written in place (e.g. straight into a
/// claimed ring slot). Order-book messages (A, F, E, C, X, D, U, P, Q, B) become book ticks; stock
/// directory, system event and trading action become reference ticks; the rest carry nothing for the
/// book. Prices go from 4 to 8 implied decimals. Allocation-free.
/// </summary>
/// <remarks>
/// Message types arrive in no predictable order, so every decision that depends on the type is a table
/// lookup rather than a branch (a mispredicted branch costs more than the rest of the parse); the one
/// unavoidable branch on the type is <see cref="Normalize"/>'s switch.
/// </remarks>
public static class ItchNormalizer
{
    // Per type byte: fixed length (0: not an ITCH 5.0 type), offset of a side field to check (0: none;
    // offset 0 then reads the type byte itself, which the check ignores), and whether it becomes a tick.
    private static readonly TypeInfo[] s_types = BuildTypes();

    /// <summary>True when a message of this type becomes a tick.</summary>
    public static bool ProducesTick(byte type) => s_types[type].ProducesTick;

    /// <summary>
    /// Checks the fields <see cref="Normalize"/> interprets (the side of A, F and P). Call it before
    /// claiming a ring slot, so that a claimed slot is always published with a valid tick.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool HasValidFields(ReadOnlySpan<byte> m)
    {
        int sideOffset = s_types[m[0]].SideOffset;
        byte side = m[sideOffset];
        return (sideOffset == 0) | (side == (byte)'B') | (side == (byte)'S');
    }

    /// <summary>
    /// Validates <paramref name="m"/> (a known type of exactly its spec length, valid side) and says whether
    /// it becomes a tick, in one table lookup and branches that only go the rare way for bad input.
    /// The same verdict as <see cref="ItchDecoder.TryValidate"/>, <see cref="HasValidFields"/> and
    /// <see cref="ProducesTick"/> together.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ItchDisposition Classify(ReadOnlySpan<byte> m, out RejectReason reason)
    {
        if (m.IsEmpty)
        {
            reason = RejectReason.EmptyFrame;
            return ItchDisposition.Rejected;
        }

        TypeInfo info = s_types[m[0]];
        if (info.Length != m.Length)
        {
            reason = info.Length == 0 ? RejectReason.UnknownMessageType : RejectReason.LengthMismatch;
            return ItchDisposition.Rejected;
        }

        byte side = m[info.SideOffset];
        if (!((info.SideOffset == 0) | (side == (byte)'B') | (side == (byte)'S')))
        {
            reason = RejectReason.InvalidField;
            return ItchDisposition.Rejected;
        }

        reason = default;
        return info.ProducesTick ? ItchDisposition.Tick : ItchDisposition.NoTick;
    }

    /// <summary>
    /// Fills every field of <paramref name="tick"/> except <see cref="Tick.Sequence"/> and
    /// <see cref="Tick.ReceiveTimestampNs"/> (the caller's) from <paramref name="m"/>, which must have
    /// passed <see cref="Classify"/> (or <see cref="ItchDecoder.TryValidate"/>).
    /// </summary>
    /// <remarks>
    /// Table-driven and branch-free across types: each tick-producing type has a <see cref="Layout"/>
    /// giving the offset of every field it carries (an absent field reads an in-bounds offset and is
    /// masked to zero), so a stream of mixed types costs no mispredicted branches. The layouts are the
    /// NASDAQ TotalView-ITCH 5.0 offsets, listed in <see cref="BuildLayouts"/>; the normalizer tests
    /// check every type field by field.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NormalizeResult Normalize(ReadOnlySpan<byte> m, ref Tick tick)
    {
        ref readonly Layout l = ref s_layouts[m[0]];
        if (l.Kind == TickKind.None)
        {
            tick.Instrument = BigEndian.UInt16(m, 1);
            tick.ExchangeTimestampNs = BigEndian.UInt48(m, 5);
            tick.Kind = TickKind.None;
            ClearFields(ref tick);
            return NormalizeResult.NoTick;
        }

        if (ItchVectorNormalizer.IsSupported)
        {
            // Every field placed by one byte permutation and written with one store.
            ItchVectorNormalizer.Fill(m, ref tick, 0);
            byte placedSide = m[l.Side];
            return (l.SideMask == 0) | (placedSide == (byte)'B') | (placedSide == (byte)'S') ? NormalizeResult.Tick : NormalizeResult.InvalidField;
        }

        return NormalizeScalar(m, ref tick);
    }

    /// <summary>
    /// <see cref="Normalize"/> for a message <see cref="Classify"/> said becomes a tick: nothing is checked
    /// again (the feed's path: classify, claim a ring slot, normalize into it). Undefined for other messages.
    /// <paramref name="readableAfter"/>: bytes after the message that belong to the caller's buffer and may be
    /// read (e.g. <see cref="BinaryFileFrameReader.Remaining"/>); 0 when unknown.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NormalizeTick(ReadOnlySpan<byte> m, ref Tick tick, int readableAfter = 0)
    {
        if (ItchVectorNormalizer.IsSupported)
        {
            ItchVectorNormalizer.Fill(m, ref tick, readableAfter);
        }
        else
        {
            NormalizeScalar(m, ref tick);
        }
    }

    /// <summary>The scalar path of <see cref="Normalize"/> (every CPU; tests hold both paths to the same result).</summary>
    internal static NormalizeResult NormalizeScalar(ReadOnlySpan<byte> m, ref Tick tick)
    {
        ref readonly Layout l = ref s_layouts[m[0]];
        tick.Instrument = BigEndian.UInt16(m, 1);
        tick.ExchangeTimestampNs = BigEndian.UInt48(m, 5);
        tick.Kind = l.Kind;
        if (l.Kind == TickKind.None)
        {
            ClearFields(ref tick);
            return NormalizeResult.NoTick;
        }

        tick.OrderId = BigEndian.UInt64(m, l.OrderId) & l.OrderIdMask;
        ulong related = BigEndian.Alpha8(m, l.Related);
        related ^= (related ^ BinaryPrimitives.ReverseEndianness(related)) & l.RelatedBigEndian;
        tick.RelatedId = related & l.RelatedMask;
        ulong quantity = ((ulong)(BigEndian.UInt32(m, l.QuantityHigh) & l.QuantityHighMask) << 32) | BigEndian.UInt32(m, l.QuantityLow);
        tick.Quantity = (long)Math.Min(quantity & l.QuantityMask, long.MaxValue);
        tick.Price = (BigEndian.UInt32(m, l.Price) * ItchSpec.Price4ToEngine) & l.PriceMask;
        byte side = (byte)(m[l.Side] & l.SideMask);
        tick.Side = (Side)side;
        tick.Aux = (byte)(m[l.Aux] & l.AuxMask);
        int printable = m[l.Printable] == (byte)'Y' ? 1 : 0;
        tick.Flags = l.Flags | (TickFlags)(printable & l.PrintableMask);
        return (l.SideMask == 0) | (side == (byte)'B') | (side == (byte)'S') ? NormalizeResult.Tick : NormalizeResult.InvalidField;
    }

    private static void ClearFields(ref Tick tick)
    {
        tick.OrderId = 0;
        tick.RelatedId = 0;
        tick.Price = 0;
        tick.Quantity = 0;
        tick.Side = Side.None;
        tick.Flags = TickFlags.None;
        tick.Aux = 0;
    }

    private static TypeInfo[] BuildTypes()
    {
        var types = new TypeInfo[256];
        for (int t = 0; t < 256; t++)
        {
            types[t] = new TypeInfo((byte)ItchSpec.LengthOf((byte)t), t is 'A' or 'F' or 'P' ? (byte)19 : (byte)0, t is 'A' or 'F' or 'E' or 'C' or 'X' or 'D' or 'U' or 'P' or 'Q' or 'B' or 'R' or 'S' or 'H');
        }

        return types;
    }

    private readonly record struct TypeInfo(byte Length, byte SideOffset, bool ProducesTick);

    // Offsets into the message of each field a type carries; 1 (inside every ITCH message, all at least
    // 12 bytes long) for a field it does not carry, whose mask is then 0.
    private static readonly Layout[] s_layouts = BuildLayouts();

    private static Layout[] BuildLayouts()
    {
        var layouts = new Layout[256];
        const byte No = 1;
        var printable = TickFlags.Printable;
        //                                      kind                                 id  related alpha q-hi q-lo price side aux print flags
        layouts['A'] = Layout.Of(TickKind.AddOrder, 11, No, false, No, 20, 32, 19, No, No, TickFlags.None);
        layouts['F'] = Layout.Of(TickKind.AddOrder, 11, No, false, No, 20, 32, 19, No, No, TickFlags.Attributed);
        layouts['E'] = Layout.Of(TickKind.OrderExecuted, 11, 23, false, No, 19, No, No, No, No, printable);
        layouts['C'] = Layout.Of(TickKind.OrderExecutedWithPrice, 11, 23, false, No, 19, 32, No, No, 31, TickFlags.None);
        layouts['X'] = Layout.Of(TickKind.OrderCancel, 11, No, false, No, 19, No, No, No, No, TickFlags.None);
        layouts['D'] = Layout.Of(TickKind.OrderDelete, 11, No, false, No, No, No, No, No, No, TickFlags.None);
        layouts['U'] = Layout.Of(TickKind.OrderReplace, 11, 19, false, No, 27, 31, No, No, No, TickFlags.None);
        layouts['P'] = Layout.Of(TickKind.Trade, 11, 36, false, No, 20, 32, 19, No, No, printable);
        layouts['Q'] = Layout.Of(TickKind.CrossTrade, No, 31, false, 11, 15, 27, No, 39, No, printable);
        layouts['B'] = Layout.Of(TickKind.BrokenTrade, No, 11, false, No, No, No, No, No, No, TickFlags.None);
        layouts['R'] = Layout.Of(TickKind.InstrumentDefinition, No, 11, true, No, 21, No, No, No, No, TickFlags.None);
        layouts['S'] = Layout.Of(TickKind.SystemEvent, No, No, false, No, No, No, No, 11, No, TickFlags.None);
        layouts['H'] = Layout.Of(TickKind.TradingStatus, No, 11, true, No, No, No, No, 19, No, TickFlags.None);
        for (int t = 0; t < 256; t++)
        {
            if (layouts[t].Kind != TickKind.None)
            {
                RegisterShuffle((byte)t, in layouts[t]);
            }
        }

        return layouts;
    }

    // The vector path's permutation for a type, from the same layout: output byte i of the Tick takes
    // message byte sources[i] (-1: zero). Big-endian fields land byte-reversed, ITCH's alpha fields as they are.
    private static void RegisterShuffle(byte type, in Layout l)
    {
        Span<sbyte> sources = stackalloc sbyte[64];
        sources.Fill(-1);
        void BigEndianField(Span<sbyte> s, int tickOffset, int messageOffset, int width)
        {
            for (int i = 0; i < width; i++)
            {
                s[tickOffset + i] = (sbyte)(messageOffset + width - 1 - i);
            }
        }

        BigEndianField(sources, 8, 5, 6);                  // ExchangeTimestampNs: 6-byte timestamp
        BigEndianField(sources, 56, 1, 2);                 // Instrument: stock locate
        if (l.OrderIdMask != 0)
        {
            BigEndianField(sources, 24, l.OrderId, 8);
        }

        if (l.RelatedMask != 0)
        {
            if (l.RelatedBigEndian == 0)
            {
                for (int i = 0; i < 8; i++)
                {
                    sources[32 + i] = (sbyte)(l.Related + i);
                }
            }
            else
            {
                BigEndianField(sources, 32, l.Related, 8);
            }
        }

        if (l.PriceMask != 0)
        {
            BigEndianField(sources, 40, l.Price, 4);       // raw Price(4); Normalize scales it
        }

        if (l.QuantityMask != 0)
        {
            BigEndianField(sources, 48, l.QuantityLow, 4);
            if (l.QuantityHighMask != 0)
            {
                BigEndianField(sources, 52, l.QuantityHigh, 4);
            }
        }

        if (l.SideMask != 0)
        {
            sources[61] = (sbyte)l.Side;
        }

        if (l.AuxMask != 0)
        {
            sources[63] = (sbyte)l.Aux;
        }

        ItchVectorNormalizer.Register(type, sources, l.Kind, l.Flags, l.PrintableMask == 0 ? -1 : l.Printable);
    }

    private readonly struct Layout
    {
        public readonly TickKind Kind;
        public readonly TickFlags Flags;
        public readonly byte OrderId;
        public readonly byte Related;
        public readonly byte QuantityHigh;
        public readonly byte QuantityLow;
        public readonly byte Price;
        public readonly byte Side;
        public readonly byte Aux;
        public readonly byte Printable;
        public readonly byte SideMask;
        public readonly byte AuxMask;
        public readonly int PrintableMask;
        public readonly uint QuantityHighMask;
        public readonly ulong OrderIdMask;
        public readonly ulong RelatedMask;
        public readonly ulong RelatedBigEndian;
        public readonly ulong QuantityMask;
        public readonly long PriceMask;

        private Layout(TickKind kind, byte orderId, byte related, bool relatedAlpha, byte quantityHigh, byte quantityLow, byte price, byte side, byte aux, byte printable, TickFlags flags)
        {
            const byte No = 1;
            Kind = kind;
            Flags = flags;
            OrderId = orderId;
            Related = related;
            QuantityHigh = quantityHigh;
            QuantityLow = quantityLow;
            Price = price;
            Side = side;
            Aux = aux;
            Printable = printable;
            OrderIdMask = orderId == No ? 0 : ulong.MaxValue;
            RelatedMask = related == No ? 0 : ulong.MaxValue;
            RelatedBigEndian = relatedAlpha ? 0 : ulong.MaxValue;
            QuantityHighMask = quantityHigh == No ? 0 : uint.MaxValue;
            QuantityMask = quantityLow == No ? 0 : ulong.MaxValue;
            PriceMask = price == No ? 0 : -1;
            SideMask = side == No ? (byte)0 : (byte)0xFF;
            AuxMask = aux == No ? (byte)0 : (byte)0xFF;
            PrintableMask = printable == No ? 0 : (int)TickFlags.Printable;
        }

        public static Layout Of(TickKind kind, byte orderId, byte related, bool relatedAlpha, byte quantityHigh, byte quantityLow, byte price, byte side, byte aux, byte printable, TickFlags flags) =>
            new(kind, orderId, related, relatedAlpha, quantityHigh, quantityLow, price, side, aux, printable, flags);
    }
}
