using System.Buffers.Binary;
using Engine.Events;

namespace FeedHandlers.Itch;

/// <summary>
/// Encodes ITCH 5.0 messages in BinaryFILE framing (2-byte big-endian length, then the message) into
/// a growing in-memory buffer. For tools and tests (sample generation, converters); not a hot path.
/// </summary>
/// <remarks>Prices are taken in the engine's 1e-8 units and written as ITCH Price(4); a price that is not a whole number of 1e-4 throws.</remarks>
public sealed class ItchWriter
{
    private byte[] _buffer;
    private int _length;

    /// <summary>Creates a writer with <paramref name="capacity"/> bytes preallocated.</summary>
    public ItchWriter(int capacity = 1 << 16) => _buffer = new byte[Math.Max(64, capacity)];

    /// <summary>Bytes written.</summary>
    public int Length => _length;

    /// <summary>Messages written.</summary>
    public long Messages { get; private set; }

    /// <summary>The tracking number (header bytes 3–4) written into each following message; 0 by default. Tools use it to mark messages they made up.</summary>
    public ushort TrackingNumber { get; set; }

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    /// <summary>A copy of the bytes written.</summary>
    public byte[] ToArray() => WrittenSpan.ToArray();

    /// <summary>'S' System Event.</summary>
    public void SystemEvent(long timestamp, char eventCode) => Begin('S', 0, timestamp)[11] = (byte)eventCode;

    /// <summary>'R' Stock Directory with the common defaults (NASDAQ Global Select, normal, production, not an ETP).</summary>
    public void StockDirectory(ushort locate, long timestamp, string symbol, uint roundLotSize)
    {
        Span<byte> m = Begin('R', locate, timestamp);
        PutAlpha(m, 11, symbol, 8);
        m[19] = (byte)'Q';
        m[20] = (byte)'N';
        BinaryPrimitives.WriteUInt32BigEndian(m[21..], roundLotSize);
        m[25] = (byte)'N';
        m[26] = (byte)'C';
        PutAlpha(m, 27, "Z", 2);
        m[29] = (byte)'P';
        m[30] = (byte)'N';
        m[31] = (byte)'N';
        m[32] = (byte)'1';
        m[33] = (byte)'N';
        BinaryPrimitives.WriteUInt32BigEndian(m[34..], 0);
        m[38] = (byte)'N';
    }

    /// <summary>'H' Stock Trading Action.</summary>
    public void StockTradingAction(ushort locate, long timestamp, string symbol, char state, string reason = "")
    {
        Span<byte> m = Begin('H', locate, timestamp);
        PutAlpha(m, 11, symbol, 8);
        m[19] = (byte)state;
        m[20] = (byte)' ';
        PutAlpha(m, 21, reason, 4);
    }

    /// <summary>'Y' Reg SHO restriction.</summary>
    public void RegShoRestriction(ushort locate, long timestamp, string symbol, char action)
    {
        Span<byte> m = Begin('Y', locate, timestamp);
        PutAlpha(m, 11, symbol, 8);
        m[19] = (byte)action;
    }

    /// <summary>'L' Market Participant Position.</summary>
    public void MarketParticipantPosition(ushort locate, long timestamp, string mpid, string symbol, bool primary, char mode, char state)
    {
        Span<byte> m = Begin('L', locate, timestamp);
        PutAlpha(m, 11, mpid, 4);
        PutAlpha(m, 15, symbol, 8);
        m[23] = primary ? (byte)'Y' : (byte)'N';
        m[24] = (byte)mode;
        m[25] = (byte)state;
    }

    /// <summary>'A' (no MPID) or 'F' (with <paramref name="mpid"/>) Add Order.</summary>
    public void AddOrder(ushort locate, long timestamp, ulong orderId, Side side, uint shares, string symbol, long price, string? mpid = null)
    {
        Span<byte> m = Begin(mpid is null ? 'A' : 'F', locate, timestamp);
        BinaryPrimitives.WriteUInt64BigEndian(m[11..], orderId);
        m[19] = (byte)side;
        BinaryPrimitives.WriteUInt32BigEndian(m[20..], shares);
        PutAlpha(m, 24, symbol, 8);
        BinaryPrimitives.WriteUInt32BigEndian(m[32..], Price4(price));
        if (mpid is not null)
        {
            PutAlpha(m, 36, mpid, 4);
        }
    }

    /// <summary>'E' Order Executed.</summary>
    public void OrderExecuted(ushort locate, long timestamp, ulong orderId, uint shares, ulong matchNumber)
    {
        Span<byte> m = Begin('E', locate, timestamp);
        BinaryPrimitives.WriteUInt64BigEndian(m[11..], orderId);
        BinaryPrimitives.WriteUInt32BigEndian(m[19..], shares);
        BinaryPrimitives.WriteUInt64BigEndian(m[23..], matchNumber);
    }

    /// <summary>'C' Order Executed With Price.</summary>
    public void OrderExecutedWithPrice(ushort locate, long timestamp, ulong orderId, uint shares, ulong matchNumber, bool printable, long price)
    {
        Span<byte> m = Begin('C', locate, timestamp);
        BinaryPrimitives.WriteUInt64BigEndian(m[11..], orderId);
        BinaryPrimitives.WriteUInt32BigEndian(m[19..], shares);
        BinaryPrimitives.WriteUInt64BigEndian(m[23..], matchNumber);
        m[31] = printable ? (byte)'Y' : (byte)'N';
        BinaryPrimitives.WriteUInt32BigEndian(m[32..], Price4(price));
    }

    /// <summary>'X' Order Cancel.</summary>
    public void OrderCancel(ushort locate, long timestamp, ulong orderId, uint cancelledShares)
    {
        Span<byte> m = Begin('X', locate, timestamp);
        BinaryPrimitives.WriteUInt64BigEndian(m[11..], orderId);
        BinaryPrimitives.WriteUInt32BigEndian(m[19..], cancelledShares);
    }

    /// <summary>'D' Order Delete.</summary>
    public void OrderDelete(ushort locate, long timestamp, ulong orderId) =>
        BinaryPrimitives.WriteUInt64BigEndian(Begin('D', locate, timestamp)[11..], orderId);

    /// <summary>'U' Order Replace.</summary>
    public void OrderReplace(ushort locate, long timestamp, ulong originalOrderId, ulong newOrderId, uint shares, long price)
    {
        Span<byte> m = Begin('U', locate, timestamp);
        BinaryPrimitives.WriteUInt64BigEndian(m[11..], originalOrderId);
        BinaryPrimitives.WriteUInt64BigEndian(m[19..], newOrderId);
        BinaryPrimitives.WriteUInt32BigEndian(m[27..], shares);
        BinaryPrimitives.WriteUInt32BigEndian(m[31..], Price4(price));
    }

    /// <summary>'P' Trade (non-cross): an execution against a non-displayed order of <paramref name="side"/>.</summary>
    public void Trade(ushort locate, long timestamp, ulong orderId, Side side, uint shares, string symbol, long price, ulong matchNumber)
    {
        Span<byte> m = Begin('P', locate, timestamp);
        BinaryPrimitives.WriteUInt64BigEndian(m[11..], orderId);
        m[19] = (byte)side;
        BinaryPrimitives.WriteUInt32BigEndian(m[20..], shares);
        PutAlpha(m, 24, symbol, 8);
        BinaryPrimitives.WriteUInt32BigEndian(m[32..], Price4(price));
        BinaryPrimitives.WriteUInt64BigEndian(m[36..], matchNumber);
    }

    /// <summary>'Q' Cross Trade.</summary>
    public void CrossTrade(ushort locate, long timestamp, ulong shares, string symbol, long price, ulong matchNumber, char crossType)
    {
        Span<byte> m = Begin('Q', locate, timestamp);
        BinaryPrimitives.WriteUInt64BigEndian(m[11..], shares);
        PutAlpha(m, 19, symbol, 8);
        BinaryPrimitives.WriteUInt32BigEndian(m[27..], Price4(price));
        BinaryPrimitives.WriteUInt64BigEndian(m[31..], matchNumber);
        m[39] = (byte)crossType;
    }

    /// <summary>'B' Broken Trade.</summary>
    public void BrokenTrade(ushort locate, long timestamp, ulong matchNumber) =>
        BinaryPrimitives.WriteUInt64BigEndian(Begin('B', locate, timestamp)[11..], matchNumber);

    /// <summary>'I' Net Order Imbalance Indicator.</summary>
    public void NetOrderImbalance(ushort locate, long timestamp, ulong paired, ulong imbalance, char direction, string symbol, long farPrice, long nearPrice, long referencePrice, char crossType)
    {
        Span<byte> m = Begin('I', locate, timestamp);
        BinaryPrimitives.WriteUInt64BigEndian(m[11..], paired);
        BinaryPrimitives.WriteUInt64BigEndian(m[19..], imbalance);
        m[27] = (byte)direction;
        PutAlpha(m, 28, symbol, 8);
        BinaryPrimitives.WriteUInt32BigEndian(m[36..], Price4(farPrice));
        BinaryPrimitives.WriteUInt32BigEndian(m[40..], Price4(nearPrice));
        BinaryPrimitives.WriteUInt32BigEndian(m[44..], Price4(referencePrice));
        m[48] = (byte)crossType;
        m[49] = (byte)'L';
    }

    /// <summary>'N' Retail Price Improvement Indicator.</summary>
    public void RetailInterest(ushort locate, long timestamp, string symbol, char flag)
    {
        Span<byte> m = Begin('N', locate, timestamp);
        PutAlpha(m, 11, symbol, 8);
        m[19] = (byte)flag;
    }

    /// <summary>Appends raw bytes with a BinaryFILE length prefix (for tests of malformed input).</summary>
    public void Raw(ReadOnlySpan<byte> message)
    {
        Span<byte> frame = Reserve(2 + message.Length);
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)message.Length);
        message.CopyTo(frame[2..]);
        Messages++;
    }

    private static uint Price4(long enginePrice)
    {
        if (enginePrice < 0 || enginePrice % ItchSpec.Price4ToEngine != 0 || enginePrice / ItchSpec.Price4ToEngine > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(enginePrice), enginePrice, "ITCH Price(4) needs a non-negative whole number of 1/10,000 that fits 32 bits.");
        }

        return (uint)(enginePrice / ItchSpec.Price4ToEngine);
    }

    private static void PutAlpha(Span<byte> m, int offset, string text, int width)
    {
        if (text.Length > width)
        {
            throw new ArgumentException($"'{text}' is longer than the field's {width} characters.", nameof(text));
        }

        Span<byte> field = m.Slice(offset, width);
        field.Fill((byte)' ');
        for (int i = 0; i < text.Length; i++)
        {
            field[i] = (byte)text[i];
        }
    }

    private Span<byte> Begin(char type, ushort locate, long timestamp)
    {
        int length = ItchSpec.LengthOf((byte)type);
        Span<byte> frame = Reserve(2 + length);
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)length);
        Span<byte> m = frame.Slice(2, length);
        m.Clear();
        m[0] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(m[1..], locate);
        BinaryPrimitives.WriteUInt16BigEndian(m[3..], TrackingNumber);
        BinaryPrimitives.WriteUInt16BigEndian(m[5..], (ushort)(timestamp >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(m[7..], (uint)timestamp);
        Messages++;
        return m;
    }

    private Span<byte> Reserve(int bytes)
    {
        if (_length + bytes > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + bytes));
        }

        Span<byte> span = _buffer.AsSpan(_length, bytes);
        _length += bytes;
        return span;
    }
}
