using System.Runtime.CompilerServices;
using Engine.Events;

namespace FeedHandlers.Lobster;

/// <summary>
/// Splits bytes into lines ('\n', an optional '\r' before it is dropped), handing out slices: no
/// copy, no allocation.
/// </summary>
public ref struct LineReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    /// <summary>Reads lines from <paramref name="data"/>.</summary>
    public LineReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    /// <summary>True when every byte was consumed.</summary>
    public readonly bool AtEnd => _position >= _data.Length;

    /// <summary>The next line, without its terminator; false at the end of the input.</summary>
    public bool Next(out ReadOnlySpan<byte> line)
    {
        if (_position >= _data.Length)
        {
            line = default;
            return false;
        }

        ReadOnlySpan<byte> rest = _data[_position..];
        int end = rest.IndexOf((byte)'\n');
        if (end < 0)
        {
            line = rest;
            _position = _data.Length;
        }
        else
        {
            line = rest[..end];
            _position += end + 1;
        }

        if (!line.IsEmpty && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        return true;
    }
}

/// <summary>
/// Parses LOBSTER's CSV rows from bytes in place. Allocation-free; a malformed row is reported as a
/// <see cref="RejectReason"/> (empty row → <see cref="RejectReason.EmptyFrame"/>, wrong number of
/// columns → <see cref="RejectReason.LengthMismatch"/>, unknown event type →
/// <see cref="RejectReason.UnknownMessageType"/>, a number that does not parse or a value the format
/// does not allow → <see cref="RejectReason.InvalidField"/>), never thrown. Sizes and prices must fit
/// 32 bits, as ITCH's share and Price(4) fields do.
/// </summary>
public static class LobsterCsv
{
    /// <summary>Parses one message-file row: time, type, order id, size, price, direction.</summary>
    public static bool TryParseMessage(ReadOnlySpan<byte> line, out LobsterMessage message, out RejectReason reason)
    {
        message = default;
        if (line.IsEmpty)
        {
            reason = RejectReason.EmptyFrame;
            return false;
        }

        if (Count(line, (byte)',') != LobsterFormat.MessageColumns - 1)
        {
            reason = RejectReason.LengthMismatch;
            return false;
        }

        reason = RejectReason.InvalidField;
        if (!TryTime(Field(ref line), out message.TimeNs)
            || !TryInteger(Field(ref line), out long type)
            || !TryInteger(Field(ref line), out long id)
            || !TryInteger(Field(ref line), out message.Size)
            || !TryInteger(Field(ref line), out message.Price)
            || !TryInteger(Field(ref line), out long direction))
        {
            return false;
        }

        if (type is < 1 or > 7)
        {
            reason = RejectReason.UnknownMessageType;
            return false;
        }

        message.Type = (LobsterEventType)type;
        message.OrderId = (ulong)id;
        message.Direction = (int)direction;
        // Order id 0 is LOBSTER's "no order" (hidden executions, halts): an add, cancel, deletion or
        // visible execution must name a real order.
        bool valid = message.Type == LobsterEventType.TradingHalt
            ? message.Price is >= -1 and <= 1 && message.Size == 0 && id == 0 && direction is -1 or 1
            : message.Size is > 0 and <= uint.MaxValue && message.Price is > 0 and <= uint.MaxValue && direction is -1 or 1
              && (message.Type >= LobsterEventType.HiddenExecution ? id >= 0 : id > 0);
        if (!valid)
        {
            return false;
        }

        reason = default;
        return true;
    }

    /// <summary>
    /// Parses one orderbook-file row into <paramref name="values"/> (ask price, ask size, bid price,
    /// bid size per level; its length is 4 × levels). Sizes must be non-negative.
    /// </summary>
    public static bool TryParseBookRow(ReadOnlySpan<byte> line, Span<long> values, out RejectReason reason)
    {
        if (line.IsEmpty)
        {
            reason = RejectReason.EmptyFrame;
            return false;
        }

        if (values.Length == 0 || values.Length % 4 != 0 || Count(line, (byte)',') != values.Length - 1)
        {
            reason = RejectReason.LengthMismatch;
            return false;
        }

        reason = RejectReason.InvalidField;
        for (int i = 0; i < values.Length; i++)
        {
            if (!TryInteger(Field(ref line), out values[i]) || ((i & 1) == 1 && values[i] < 0))
            {
                return false;
            }
        }

        reason = default;
        return true;
    }

    /// <summary>
    /// True when a parsed book row is a book: on each side the occupied levels (size &gt; 0) come
    /// first, at prices in (0, 2³²) strictly improving towards level 1 (asks rising, bids falling
    /// with depth), and every level after them is LOBSTER's empty level (±9,999,999,999, size 0).
    /// </summary>
    public static bool IsConsistentBook(ReadOnlySpan<long> row)
    {
        for (int side = 0; side < 2; side++)
        {
            bool ask = side == 0;
            bool empty = false;
            long previous = 0;
            for (int level = 0; level < row.Length / 4; level++)
            {
                long price = row[(4 * level) + (2 * side)];
                long size = row[(4 * level) + (2 * side) + 1];
                if (size == 0)
                {
                    empty = true;
                    if (price != (ask ? LobsterFormat.EmptyAskPrice : LobsterFormat.EmptyBidPrice))
                    {
                        return false;
                    }

                    continue;
                }

                if (empty || price <= 0 || price > uint.MaxValue || size > uint.MaxValue || (level > 0 && (ask ? price <= previous : price >= previous)))
                {
                    return false;
                }

                previous = price;
            }
        }

        return true;
    }

    /// <summary>Columns of a CSV row (commas + 1); 0 for an empty row.</summary>
    public static int Columns(ReadOnlySpan<byte> line) => line.IsEmpty ? 0 : Count(line, (byte)',') + 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Count(ReadOnlySpan<byte> line, byte value) => System.MemoryExtensions.Count(line, value);

    // The next comma-separated field; the line is advanced past it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ReadOnlySpan<byte> Field(ref ReadOnlySpan<byte> line)
    {
        int comma = line.IndexOf((byte)',');
        ReadOnlySpan<byte> field;
        if (comma < 0)
        {
            field = line;
            line = default;
        }
        else
        {
            field = line[..comma];
            line = line[(comma + 1)..];
        }

        return field;
    }

    // An optionally signed decimal integer of at most 18 digits (no overflow possible).
    private static bool TryInteger(ReadOnlySpan<byte> field, out long value)
    {
        value = 0;
        bool negative = !field.IsEmpty && field[0] == (byte)'-';
        if (negative)
        {
            field = field[1..];
        }

        if (field.IsEmpty || field.Length > 18)
        {
            return false;
        }

        foreach (byte b in field)
        {
            uint digit = (uint)(b - '0');
            if (digit > 9)
            {
                return false;
            }

            value = (value * 10) + digit;
        }

        if (negative)
        {
            value = -value;
        }

        return true;
    }

    // Seconds after midnight with up to 9 decimals, to ns. Fewer decimals are padded (".0599" = 59.9 ms).
    private static bool TryTime(ReadOnlySpan<byte> field, out long ns)
    {
        ns = 0;
        int dot = field.IndexOf((byte)'.');
        ReadOnlySpan<byte> whole = dot < 0 ? field : field[..dot];
        ReadOnlySpan<byte> fraction = dot < 0 ? default : field[(dot + 1)..];
        if (whole.IsEmpty || whole[0] == (byte)'-' || whole.Length > 6 || fraction.Length > 9 || (dot >= 0 && fraction.IsEmpty)
            || !TryInteger(whole, out long seconds))
        {
            return false;
        }

        long nanos = 0;
        for (int i = 0; i < 9; i++)
        {
            long digit = 0;
            if (i < fraction.Length)
            {
                digit = fraction[i] - '0';
                if ((ulong)digit > 9)
                {
                    return false;
                }
            }

            nanos = (nanos * 10) + digit;
        }

        ns = (seconds * 1_000_000_000) + nanos;
        return true;
    }
}
