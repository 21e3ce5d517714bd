using System.Buffers.Binary;
using Engine.Events;
using FeedHandlers.Itch;

namespace FeedHandlers.Iex;

/// <summary>
/// Builds IEX-TP segments (header + length-prefixed TOPS 1.6 / DEEP 1.0 messages) in memory. For
/// tests, fuzz seeds and tools; not a hot path. Prices are taken in the engine's 1e-8 units.
/// </summary>
public sealed class IexWriter
{
    private readonly List<byte[]> _messages = [];
    private readonly IexProtocol _protocol;
    private long _nextSequence;

    /// <summary>A writer for <paramref name="protocol"/> whose first message has sequence number <paramref name="firstSequence"/>.</summary>
    public IexWriter(IexProtocol protocol, long firstSequence = 1)
    {
        _protocol = protocol;
        _nextSequence = firstSequence;
    }

    /// <summary>Session id written into segments.</summary>
    public uint SessionId { get; set; } = 1_150_000_000;

    /// <summary>'S' system event.</summary>
    public IexWriter SystemEvent(long timestampNs, char code) => Add(Begin('S', code, timestampNs, 10));

    /// <summary>'D' security directory.</summary>
    public IexWriter SecurityDirectory(long timestampNs, string symbol, uint roundLot, long adjustedPocPrice)
    {
        byte[] m = Begin('D', (char)0, timestampNs, 31, symbol);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(18), roundLot);
        BinaryPrimitives.WriteInt64LittleEndian(m.AsSpan(22), adjustedPocPrice / ItchSpec.Price4ToEngine);
        return Add(m);
    }

    /// <summary>'H' trading status.</summary>
    public IexWriter TradingStatus(long timestampNs, string symbol, char status) => Add(Begin('H', status, timestampNs, 22, symbol));

    /// <summary>'E' security event (DEEP).</summary>
    public IexWriter SecurityEvent(long timestampNs, string symbol, char code) => Add(Begin('E', code, timestampNs, 18, symbol));

    /// <summary>'8' (buy) or '5' (sell) price level update (DEEP); <paramref name="complete"/> sets the event-processing-complete flag.</summary>
    public IexWriter PriceLevel(long timestampNs, string symbol, Side side, uint size, long price, bool complete = true)
    {
        byte[] m = Begin(side == Side.Buy ? '8' : '5', complete ? (char)1 : (char)0, timestampNs, 30, symbol);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(18), size);
        BinaryPrimitives.WriteInt64LittleEndian(m.AsSpan(22), price / ItchSpec.Price4ToEngine);
        return Add(m);
    }

    /// <summary>'Q' quote update (TOPS).</summary>
    public IexWriter Quote(long timestampNs, string symbol, uint bidSize, long bidPrice, long askPrice, uint askSize)
    {
        byte[] m = Begin('Q', (char)0, timestampNs, 42, symbol);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(18), bidSize);
        BinaryPrimitives.WriteInt64LittleEndian(m.AsSpan(22), bidPrice / ItchSpec.Price4ToEngine);
        BinaryPrimitives.WriteInt64LittleEndian(m.AsSpan(30), askPrice / ItchSpec.Price4ToEngine);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(38), askSize);
        return Add(m);
    }

    /// <summary>'T' trade report or 'B' trade break.</summary>
    public IexWriter Trade(long timestampNs, string symbol, uint size, long price, long tradeId, byte saleConditions = 0, bool isBreak = false)
    {
        byte[] m = Begin(isBreak ? 'B' : 'T', (char)saleConditions, timestampNs, 38, symbol);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(18), size);
        BinaryPrimitives.WriteInt64LittleEndian(m.AsSpan(22), price / ItchSpec.Price4ToEngine);
        BinaryPrimitives.WriteInt64LittleEndian(m.AsSpan(30), tradeId);
        return Add(m);
    }

    /// <summary>Raw message bytes (malformed-input tests).</summary>
    public IexWriter Raw(ReadOnlySpan<byte> message) => Add(message.ToArray());

    /// <summary>The segment of every message added since the last call (none: a heartbeat), numbered on from the previous segment.</summary>
    public byte[] Segment(long sendTimeNs = 0)
    {
        int payload = 0;
        foreach (byte[] m in _messages)
        {
            payload += 2 + m.Length;
        }

        var s = new byte[IexTpHeader.Length + payload];
        s[0] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(2), (ushort)_protocol);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(8), SessionId);
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(12), (ushort)payload);
        BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(14), (ushort)_messages.Count);
        BinaryPrimitives.WriteInt64LittleEndian(s.AsSpan(24), _nextSequence);
        BinaryPrimitives.WriteInt64LittleEndian(s.AsSpan(32), sendTimeNs);
        int at = IexTpHeader.Length;
        foreach (byte[] m in _messages)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(s.AsSpan(at), (ushort)m.Length);
            m.CopyTo(s, at + 2);
            at += 2 + m.Length;
        }

        _nextSequence += _messages.Count;
        _messages.Clear();
        return s;
    }

    private IexWriter Add(byte[] m)
    {
        _messages.Add(m);
        return this;
    }

    private static byte[] Begin(char type, char flags, long timestampNs, int length, string? symbol = null)
    {
        var m = new byte[length];
        m[0] = (byte)type;
        m[1] = (byte)flags;
        BinaryPrimitives.WriteInt64LittleEndian(m.AsSpan(2), timestampNs);
        if (symbol is not null)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(m.AsSpan(10), Symbol.Pack(symbol));
        }

        return m;
    }
}
