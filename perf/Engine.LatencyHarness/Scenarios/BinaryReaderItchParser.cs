using System.Buffers.Binary;
using System.Text;
using Engine.Events;

namespace Engine.LatencyHarness.Scenarios;

/// <summary>
/// The peer of the <c>feeds</c> scenario: an ITCH 5.0 parser written the way a .NET developer
/// naturally writes one — a <see cref="BinaryReader"/> over a stream, big-endian fields read with
/// <see cref="BinaryPrimitives.ReverseEndianness(ulong)"/>, one message object per message with its
/// fields (symbols as strings), then a normalization of that object into the same <see cref="Tick"/>
/// the engine produces. Messages that make no tick are skipped by seeking past them.
/// </summary>
public sealed class BinaryReaderItchParser : IDisposable
{
    private readonly MemoryStream _stream;
    private readonly BinaryReader _reader;
    private long _sequence;

    public BinaryReaderItchParser(byte[] capture)
    {
        _stream = new MemoryStream(capture, writable: false);
        _reader = new BinaryReader(_stream, Encoding.ASCII, leaveOpen: true);
    }

    /// <summary>Reads the next message; true with a tick when it makes one, false when it does not; throws <see cref="EndOfStreamException"/> past the end.</summary>
    public bool Next(ref Tick tick, out bool end)
    {
        end = _stream.Position >= _stream.Length;
        if (end)
        {
            return false;
        }

        ushort length = ReadUInt16();
        long start = _stream.Position;
        _sequence++;
        ItchMessage? message = Read();
        _stream.Position = start + length;
        if (message is null)
        {
            return false;
        }

        tick = message.ToTick();
        tick.Sequence = _sequence;
        return true;
    }

    public void Dispose()
    {
        _reader.Dispose();
        _stream.Dispose();
    }

    private ItchMessage? Read()
    {
        char type = (char)_reader.ReadByte();
        ushort locate = ReadUInt16();
        ushort tracking = ReadUInt16();
        long timestamp = ((long)ReadUInt16() << 32) | ReadUInt32();
        switch (type)
        {
            case 'S':
                return new SystemEvent { Type = type, StockLocate = locate, TrackingNumber = tracking, Timestamp = timestamp, EventCode = (char)_reader.ReadByte() };
            case 'R':
                return new StockDirectory { Type = type, StockLocate = locate, TrackingNumber = tracking, Timestamp = timestamp, Stock = ReadString(8), MarketCategory = (char)_reader.ReadByte(), FinancialStatus = (char)_reader.ReadByte(), RoundLotSize = ReadUInt32() };
            case 'H':
                return new StockTradingAction { Type = type, StockLocate = locate, TrackingNumber = tracking, Timestamp = timestamp, Stock = ReadString(8), TradingState = (char)_reader.ReadByte(), Reserved = (char)_reader.ReadByte(), Reason = ReadString(4) };
            case 'A':
            case 'F':
                var add = new AddOrder { Type = type, StockLocate = locate, TrackingNumber = tracking, Timestamp = timestamp, OrderReference = ReadUInt64(), Side = (char)_reader.ReadByte(), Shares = ReadUInt32(), Stock = ReadString(8), Price = ReadUInt32() };
                if (type == 'F')
                {
                    add.Attribution = ReadString(4);
                }

                return add;
            case 'E':
                return new OrderExecuted { Type = type, StockLocate = locate, TrackingNumber = tracking, Timestamp = timestamp, OrderReference = ReadUInt64(), ExecutedShares = ReadUInt32(), MatchNumber = ReadUInt64() };
            case 'C':
                return new OrderExecutedWithPrice { Type = type, StockLocate = locate, TrackingNumber = tracking, Timestamp = timestamp, OrderReference = ReadUInt64(), ExecutedShares = ReadUInt32(), MatchNumber = ReadUInt64(), Printable = (char)_reader.ReadByte(), ExecutionPrice = ReadUInt32() };
            case 'X':
                return new OrderCancel { Type = type, StockLocate = locate, TrackingNumber = tracking, Timestamp = timestamp, OrderReference = ReadUInt64(), CancelledShares = ReadUInt32() };
            case 'D':
                return new OrderDelete { Type = type, StockLocate = locate, TrackingNumber = tracking, Timestamp = timestamp, OrderReference = ReadUInt64() };
            case 'U':
                return new OrderReplace { Type = type, StockLocate = locate, TrackingNumber = tracking, Timestamp = timestamp, OriginalOrderReference = ReadUInt64(), NewOrderReference = ReadUInt64(), Shares = ReadUInt32(), Price = ReadUInt32() };
            case 'P':
                return new Trade { Type = type, StockLocate = locate, TrackingNumber = tracking, Timestamp = timestamp, OrderReference = ReadUInt64(), Side = (char)_reader.ReadByte(), Shares = ReadUInt32(), Stock = ReadString(8), Price = ReadUInt32(), MatchNumber = ReadUInt64() };
            case 'Q':
                return new CrossTrade { Type = type, StockLocate = locate, TrackingNumber = tracking, Timestamp = timestamp, Shares = ReadUInt64(), Stock = ReadString(8), CrossPrice = ReadUInt32(), MatchNumber = ReadUInt64(), CrossType = (char)_reader.ReadByte() };
            case 'B':
                return new BrokenTrade { Type = type, StockLocate = locate, TrackingNumber = tracking, Timestamp = timestamp, MatchNumber = ReadUInt64() };
            default:
                return null;
        }
    }

    private ushort ReadUInt16() => BinaryPrimitives.ReverseEndianness(_reader.ReadUInt16());

    private uint ReadUInt32() => BinaryPrimitives.ReverseEndianness(_reader.ReadUInt32());

    private ulong ReadUInt64() => BinaryPrimitives.ReverseEndianness(_reader.ReadUInt64());

    private string ReadString(int length) => Encoding.ASCII.GetString(_reader.ReadBytes(length)).TrimEnd();

    private static Side ToSide(char side) => side == 'B' ? Engine.Events.Side.Buy : Engine.Events.Side.Sell;

    private abstract class ItchMessage
    {
        public char Type { get; init; }

        public ushort StockLocate { get; init; }

        public ushort TrackingNumber { get; init; }

        public long Timestamp { get; init; }

        public abstract Tick ToTick();

        protected Tick Base(TickKind kind) => new() { Kind = kind, Instrument = StockLocate, ExchangeTimestampNs = Timestamp };
    }

    private sealed class SystemEvent : ItchMessage
    {
        public char EventCode { get; init; }

        public override Tick ToTick()
        {
            Tick t = Base(TickKind.SystemEvent);
            t.Aux = (byte)EventCode;
            return t;
        }
    }

    private sealed class StockDirectory : ItchMessage
    {
        public string Stock { get; init; } = string.Empty;

        public char MarketCategory { get; init; }

        public char FinancialStatus { get; init; }

        public uint RoundLotSize { get; init; }

        public override Tick ToTick()
        {
            Tick t = Base(TickKind.InstrumentDefinition);
            t.RelatedId = Symbol.Pack(Stock);
            t.Quantity = RoundLotSize;
            return t;
        }
    }

    private sealed class StockTradingAction : ItchMessage
    {
        public string Stock { get; init; } = string.Empty;

        public char TradingState { get; init; }

        public char Reserved { get; init; }

        public string Reason { get; init; } = string.Empty;

        public override Tick ToTick()
        {
            Tick t = Base(TickKind.TradingStatus);
            t.RelatedId = Symbol.Pack(Stock);
            t.Aux = (byte)TradingState;
            return t;
        }
    }

    private sealed class AddOrder : ItchMessage
    {
        public ulong OrderReference { get; init; }

        public char Side { get; init; }

        public uint Shares { get; init; }

        public string Stock { get; init; } = string.Empty;

        public uint Price { get; init; }

        public string? Attribution { get; set; }

        public override Tick ToTick()
        {
            Tick t = Base(TickKind.AddOrder);
            t.OrderId = OrderReference;
            t.Side = ToSide(Side);
            t.Quantity = Shares;
            t.Price = Price * 10_000L;
            t.Flags = Attribution is null ? TickFlags.None : TickFlags.Attributed;
            return t;
        }
    }

    private sealed class OrderExecuted : ItchMessage
    {
        public ulong OrderReference { get; init; }

        public uint ExecutedShares { get; init; }

        public ulong MatchNumber { get; init; }

        public override Tick ToTick()
        {
            Tick t = Base(TickKind.OrderExecuted);
            t.OrderId = OrderReference;
            t.Quantity = ExecutedShares;
            t.RelatedId = MatchNumber;
            t.Flags = TickFlags.Printable;
            return t;
        }
    }

    private sealed class OrderExecutedWithPrice : ItchMessage
    {
        public ulong OrderReference { get; init; }

        public uint ExecutedShares { get; init; }

        public ulong MatchNumber { get; init; }

        public char Printable { get; init; }

        public uint ExecutionPrice { get; init; }

        public override Tick ToTick()
        {
            Tick t = Base(TickKind.OrderExecutedWithPrice);
            t.OrderId = OrderReference;
            t.Quantity = ExecutedShares;
            t.RelatedId = MatchNumber;
            t.Flags = Printable == 'Y' ? TickFlags.Printable : TickFlags.None;
            t.Price = ExecutionPrice * 10_000L;
            return t;
        }
    }

    private sealed class OrderCancel : ItchMessage
    {
        public ulong OrderReference { get; init; }

        public uint CancelledShares { get; init; }

        public override Tick ToTick()
        {
            Tick t = Base(TickKind.OrderCancel);
            t.OrderId = OrderReference;
            t.Quantity = CancelledShares;
            return t;
        }
    }

    private sealed class OrderDelete : ItchMessage
    {
        public ulong OrderReference { get; init; }

        public override Tick ToTick()
        {
            Tick t = Base(TickKind.OrderDelete);
            t.OrderId = OrderReference;
            return t;
        }
    }

    private sealed class OrderReplace : ItchMessage
    {
        public ulong OriginalOrderReference { get; init; }

        public ulong NewOrderReference { get; init; }

        public uint Shares { get; init; }

        public uint Price { get; init; }

        public override Tick ToTick()
        {
            Tick t = Base(TickKind.OrderReplace);
            t.OrderId = OriginalOrderReference;
            t.RelatedId = NewOrderReference;
            t.Quantity = Shares;
            t.Price = Price * 10_000L;
            return t;
        }
    }

    private sealed class Trade : ItchMessage
    {
        public ulong OrderReference { get; init; }

        public char Side { get; init; }

        public uint Shares { get; init; }

        public string Stock { get; init; } = string.Empty;

        public uint Price { get; init; }

        public ulong MatchNumber { get; init; }

        public override Tick ToTick()
        {
            Tick t = Base(TickKind.Trade);
            t.OrderId = OrderReference;
            t.Side = ToSide(Side);
            t.Quantity = Shares;
            t.Price = Price * 10_000L;
            t.RelatedId = MatchNumber;
            t.Flags = TickFlags.Printable;
            return t;
        }
    }

    private sealed class CrossTrade : ItchMessage
    {
        public ulong Shares { get; init; }

        public string Stock { get; init; } = string.Empty;

        public uint CrossPrice { get; init; }

        public ulong MatchNumber { get; init; }

        public char CrossType { get; init; }

        public override Tick ToTick()
        {
            Tick t = Base(TickKind.CrossTrade);
            t.Quantity = (long)Math.Min(Shares, long.MaxValue);
            t.Price = CrossPrice * 10_000L;
            t.RelatedId = MatchNumber;
            t.Aux = (byte)CrossType;
            t.Flags = TickFlags.Printable;
            return t;
        }
    }

    private sealed class BrokenTrade : ItchMessage
    {
        public ulong MatchNumber { get; init; }

        public override Tick ToTick()
        {
            Tick t = Base(TickKind.BrokenTrade);
            t.RelatedId = MatchNumber;
            return t;
        }
    }
}
