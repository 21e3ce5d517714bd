using System.Runtime.CompilerServices;
using Engine.Events;

namespace Engine.Book;

/// <summary>Why an order-level event could not be applied as it stood. Each is counted, none is thrown.</summary>
public enum BookAnomaly
{
    /// <summary>Execute, cancel, delete or replace of an order id the book does not hold (e.g. added before the capture began).</summary>
    UnknownOrder,

    /// <summary>Add (or replace) with an order id already live.</summary>
    DuplicateOrder,

    /// <summary>Executed or cancelled more than the order had left; clamped to what was left.</summary>
    OverExecution,

    /// <summary>The event's instrument differs from the order's; applied to the order's instrument.</summary>
    InstrumentMismatch,

    /// <summary>Add or replace with a quantity of zero or less, or a price of zero or less; ignored.</summary>
    InvalidOrder,

    /// <summary>Add with a side that is neither buy nor sell; ignored.</summary>
    InvalidSide,

    /// <summary>An order-level event for an instrument with no definition seen; a book was created for it.</summary>
    UndefinedInstrument,

    /// <summary>Instrument id out of the supported range; ignored.</summary>
    InstrumentOutOfRange,
}

/// <summary>What applying one event did.</summary>
public struct BookResult
{
    /// <summary>The book the event went to; null when it went to none (reference data aside).</summary>
    public OrderBook? Book;

    /// <summary>True when the best bid or ask (price or quantity) changed.</summary>
    public bool TopChanged;

    /// <summary>Side of the resting order that traded, <see cref="Side.None"/> when no trade or unknown (crosses).</summary>
    public Side TradeRestingSide;

    /// <summary>Traded quantity, 0 when the event was no trade.</summary>
    public long TradeQuantity;

    /// <summary>Trade price, 1e-8 units.</summary>
    public long TradePrice;
}

/// <summary>
/// Every instrument's book plus the order index, applying normalized <see cref="Tick"/>s. The
/// engine's book stage: owned by one thread, allocation-free per event once instruments are defined
/// and the order index is sized.
/// </summary>
/// <remarks>
/// Anomalies (orders unknown to the book, over-executions, ...) are counted per
/// <see cref="BookAnomaly"/> and the event is applied as far as it makes sense; nothing throws.
/// </remarks>
public sealed class MarketBooks
{
    /// <summary>Largest instrument id accepted (ITCH stock locates are 16-bit).</summary>
    public const int MaxInstrumentId = (1 << 20) - 1;

    private readonly OrderIndex _orders;
    private readonly long[] _anomalies = new long[Enum.GetValues<BookAnomaly>().Length];
    private readonly List<OrderBook> _defined = [];
    private readonly int _initialLevels;
    private OrderBook?[] _books;

    /// <summary>
    /// Creates empty books. <paramref name="expectedLiveOrders"/> sizes the order index and
    /// <paramref name="initialLevels"/> each side's level arrays, so neither grows (allocates) in a session.
    /// </summary>
    public MarketBooks(int expectedLiveOrders = 1 << 16, int expectedInstruments = 1024, int initialLevels = 64)
    {
        _orders = new OrderIndex(expectedLiveOrders);
        _initialLevels = initialLevels;
        _books = new OrderBook?[Math.Max(16, expectedInstruments)];
    }

    /// <summary>The order index (live orders across all instruments).</summary>
    public OrderIndex Orders => _orders;

    /// <summary>Books in the order their instruments were first seen.</summary>
    public IReadOnlyList<OrderBook> Books => _defined;

    /// <summary>Count of one anomaly.</summary>
    public long AnomalyCount(BookAnomaly anomaly) => _anomalies[(int)anomaly];

    /// <summary>Sum of all anomalies.</summary>
    public long TotalAnomalies => _anomalies.Sum();

    /// <summary>The book of <paramref name="instrument"/>, or null when none exists.</summary>
    public OrderBook? Find(int instrument) => (uint)instrument < (uint)_books.Length ? _books[instrument] : null;

    /// <summary>Creates (or updates) the book of an instrument from its definition. Cold path: allocates a book.</summary>
    public OrderBook Define(int instrument, ulong symbol, long roundLot)
    {
        OrderBook book = GetOrCreate(instrument) ?? throw new ArgumentOutOfRangeException(nameof(instrument), instrument, $"Instrument id must be in [0, {MaxInstrumentId}].");
        book.Symbol = symbol;
        book.RoundLot = roundLot;
        return book;
    }

    /// <summary>Applies one event; fills <paramref name="result"/>. Never throws for bad market data.</summary>
    public void Apply(ref readonly Tick tick, out BookResult result)
    {
        result = default;
        switch (tick.Kind)
        {
            case TickKind.AddOrder:
                Add(in tick, ref result);
                break;
            case TickKind.OrderExecuted:
            case TickKind.OrderExecutedWithPrice:
            case TickKind.OrderCancel:
            case TickKind.OrderDelete:
                Reduce(in tick, ref result);
                break;
            case TickKind.OrderReplace:
                Replace(in tick, ref result);
                break;
            case TickKind.Trade:
                result.Book = BookFor(tick.Instrument);
                result.TradeRestingSide = tick.Side;
                result.TradeQuantity = tick.Quantity;
                result.TradePrice = tick.Price;
                break;
            case TickKind.CrossTrade:
                result.Book = BookFor(tick.Instrument);
                result.TradeQuantity = tick.Quantity;
                result.TradePrice = tick.Price;
                break;
            case TickKind.InstrumentDefinition:
                if ((uint)tick.Instrument <= MaxInstrumentId)
                {
                    result.Book = Define(tick.Instrument, tick.RelatedId, tick.Quantity);
                }
                else
                {
                    Count(BookAnomaly.InstrumentOutOfRange);
                }

                break;
            case TickKind.PriceLevelUpdate:
                SetLevel(in tick, ref result);
                break;
            case TickKind.QuoteUpdate:
                Quote(in tick, ref result);
                break;
            case TickKind.TradingStatus:
                result.Book = BookFor(tick.Instrument);
                if (result.Book is not null)
                {
                    result.Book.TradingState = tick.Aux;
                }

                break;
            default:
                // System events, broken trades and sequence gaps change no book.
                break;
        }
    }

    private void Add(ref readonly Tick tick, ref BookResult result)
    {
        OrderBook? book = BookWithSide(in tick, ref result);
        if (book is null)
        {
            return;
        }

        if (tick.Quantity <= 0 || tick.Price <= 0)
        {
            Count(BookAnomaly.InvalidOrder);
            return;
        }

        var order = new RestingOrder { Id = tick.OrderId, Price = tick.Price, Quantity = tick.Quantity, Instrument = tick.Instrument, Side = tick.Side };
        if (!_orders.TryAdd(in order))
        {
            Count(BookAnomaly.DuplicateOrder);
            return;
        }

        PriceLevels levels = book.SideOf(tick.Side);
        long bestBefore = levels.BestPrice;
        levels.Add(tick.Price, tick.Quantity);
        result.TopChanged = bestBefore == 0 || levels.BestPrice != bestBefore || tick.Price == bestBefore;
    }

    // The book of an event that names its side (add, level update); null, counted, when the
    // instrument is out of range or the side is neither buy nor sell.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private OrderBook? BookWithSide(ref readonly Tick tick, ref BookResult result)
    {
        OrderBook? book = BookFor(tick.Instrument);
        if (book is null)
        {
            return null;
        }

        result.Book = book;
        if (tick.Side is not (Side.Buy or Side.Sell))
        {
            Count(BookAnomaly.InvalidSide);
            return null;
        }

        return book;
    }

    // Price-level books (IEX DEEP): the update states the level's new aggregate size. A top change in
    // the middle of a venue event is held back and reported with the event's last update, so that
    // consumers never act on a half-applied event.
    private void SetLevel(ref readonly Tick tick, ref BookResult result)
    {
        OrderBook? book = BookWithSide(in tick, ref result);
        if (book is null)
        {
            return;
        }

        if (tick.Price <= 0)
        {
            Count(BookAnomaly.InvalidOrder);
            return;
        }

        PriceLevels levels = book.SideOf(tick.Side);
        long bestBefore = levels.BestPrice;
        long bestQuantityBefore = levels.BestQuantity;
        levels.SetLevel(tick.Price, tick.Quantity);
        bool changed = levels.BestPrice != bestBefore || levels.BestQuantity != bestQuantityBefore;
        if ((tick.Flags & TickFlags.BookInTransition) != 0)
        {
            book.PendingTopChange |= changed;
            return;
        }

        result.TopChanged = changed || book.PendingTopChange;
        book.PendingTopChange = false;
    }

    // Top-of-book feeds (IEX TOPS): each side becomes the one quoted level, or empty.
    private void Quote(ref readonly Tick tick, ref BookResult result)
    {
        OrderBook? book = BookFor(tick.Instrument);
        if (book is null)
        {
            return;
        }

        result.Book = book;
        TopOfBook before = book.Top;
        long askPrice = (long)tick.RelatedId;
        long askQuantity = (long)Math.Min(tick.OrderId, long.MaxValue);
        book.Bids.Clear();
        book.Asks.Clear();
        if (tick.Quantity > 0 && tick.Price > 0)
        {
            book.Bids.SetLevel(tick.Price, tick.Quantity);
        }

        if (askQuantity > 0 && askPrice > 0)
        {
            book.Asks.SetLevel(askPrice, askQuantity);
        }

        result.TopChanged = book.Top != before;
    }

    private void Reduce(ref readonly Tick tick, ref BookResult result)
    {
        ref RestingOrder order = ref _orders.Find(tick.OrderId);
        if (Unsafe.IsNullRef(ref order))
        {
            Count(BookAnomaly.UnknownOrder);
            result.Book = BookFor(tick.Instrument);
            return;
        }

        if (order.Instrument != tick.Instrument)
        {
            Count(BookAnomaly.InstrumentMismatch);
        }

        OrderBook book = _books[order.Instrument]!;
        result.Book = book;

        long amount;
        if (tick.Kind == TickKind.OrderDelete)
        {
            amount = order.Quantity;
        }
        else
        {
            amount = tick.Quantity;
            if (amount > order.Quantity)
            {
                Count(BookAnomaly.OverExecution);
                amount = order.Quantity;
            }
        }

        bool gone = amount >= order.Quantity;
        PriceLevels levels = book.SideOf(order.Side);
        result.TopChanged = order.Price == levels.BestPrice;
        levels.Remove(order.Price, amount, gone);

        if (tick.Kind is TickKind.OrderExecuted or TickKind.OrderExecutedWithPrice)
        {
            result.TradeRestingSide = order.Side;
            result.TradeQuantity = amount;
            result.TradePrice = tick.Kind == TickKind.OrderExecutedWithPrice ? tick.Price : order.Price;
        }

        if (gone)
        {
            _orders.Remove(order.Id);
        }
        else
        {
            order.Quantity -= amount;
        }
    }

    private void Replace(ref readonly Tick tick, ref BookResult result)
    {
        ref RestingOrder old = ref _orders.Find(tick.OrderId);
        if (Unsafe.IsNullRef(ref old))
        {
            Count(BookAnomaly.UnknownOrder);
            result.Book = BookFor(tick.Instrument);
            return;
        }

        if (old.Instrument != tick.Instrument)
        {
            Count(BookAnomaly.InstrumentMismatch);
        }

        RestingOrder previous = old;
        OrderBook book = _books[previous.Instrument]!;
        result.Book = book;
        PriceLevels levels = book.SideOf(previous.Side);
        long bestBefore = levels.BestPrice;
        long bestQuantityBefore = levels.BestQuantity;

        levels.Remove(previous.Price, previous.Quantity, orderGone: true);
        _orders.Remove(previous.Id);

        if (tick.Quantity <= 0 || tick.Price <= 0)
        {
            Count(BookAnomaly.InvalidOrder);
        }
        else
        {
            var replacement = new RestingOrder { Id = tick.RelatedId, Price = tick.Price, Quantity = tick.Quantity, Instrument = previous.Instrument, Side = previous.Side };
            if (_orders.TryAdd(in replacement))
            {
                levels.Add(replacement.Price, replacement.Quantity);
            }
            else
            {
                Count(BookAnomaly.DuplicateOrder);
            }
        }

        result.TopChanged = levels.BestPrice != bestBefore || levels.BestQuantity != bestQuantityBefore;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private OrderBook? BookFor(int instrument)
    {
        if ((uint)instrument < (uint)_books.Length && _books[instrument] is { } book)
        {
            return book;
        }

        return BookForSlow(instrument);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private OrderBook? BookForSlow(int instrument)
    {
        if ((uint)instrument > MaxInstrumentId)
        {
            Count(BookAnomaly.InstrumentOutOfRange);
            return null;
        }

        Count(BookAnomaly.UndefinedInstrument);
        return GetOrCreate(instrument);
    }

    private OrderBook? GetOrCreate(int instrument)
    {
        if ((uint)instrument > MaxInstrumentId)
        {
            return null;
        }

        if (instrument >= _books.Length)
        {
            Array.Resize(ref _books, Math.Min(MaxInstrumentId + 1, Math.Max(instrument + 1, _books.Length * 2)));
        }

        if (_books[instrument] is { } existing)
        {
            return existing;
        }

        var book = new OrderBook(instrument, 0, _initialLevels);
        _books[instrument] = book;
        _defined.Add(book);
        return book;
    }

    private void Count(BookAnomaly anomaly) => _anomalies[(int)anomaly]++;
}
