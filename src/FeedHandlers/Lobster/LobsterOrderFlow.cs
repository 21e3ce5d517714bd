using System.Runtime.CompilerServices;
using Engine.Events;

namespace FeedHandlers.Lobster;

/// <summary>Receives the ticks <see cref="LobsterOrderFlow"/> produces. Implement on a struct (generic argument, direct calls).</summary>
public interface ILobsterTickSink
{
    /// <summary>One tick, in order. The reference is valid during the call only: copy what you keep.</summary>
    void OnTick(ref readonly Tick tick);
}

/// <summary>What <see cref="LobsterOrderFlow"/> had to do beyond translating messages one to one.</summary>
public sealed class LobsterFlowStats
{
    /// <summary>Rows processed.</summary>
    public long Rows { get; internal set; }

    /// <summary>Synthetic add orders: liquidity the book rows show that no message explains (the book before the window, levels surfacing from beyond the visible depth).</summary>
    public long SyntheticAdds { get; internal set; }

    /// <summary>Shares added by synthetic adds.</summary>
    public long SyntheticAddedShares { get; internal set; }

    /// <summary>Synthetic cancels and deletes: liquidity the book rows no longer show that no message removed (orders cancelled while their level was beyond the visible depth).</summary>
    public long SyntheticCancels { get; internal set; }

    /// <summary>Shares removed by synthetic cancels and deletes.</summary>
    public long SyntheticCancelledShares { get; internal set; }

    /// <summary>Rows before whose message at least one synthetic event was emitted.</summary>
    public long RowsWithSyntheticEvents { get; internal set; }

    /// <summary>Cancels, deletes and executions of an order id never added in the window (or already removed), mapped onto synthetic orders at the message's price.</summary>
    public long UnknownOrderReferences { get; internal set; }

    /// <summary>Executions or cancels of a known order for more than it had left; the excess was mapped onto synthetic orders at its price.</summary>
    public long OverReductions { get; internal set; }

    /// <summary>Deletions whose size differs from what the order had left (the order is deleted either way).</summary>
    public long DeleteSizeMismatches { get; internal set; }

    /// <summary>Known order ids referenced at a different price or side than they were added with (treated as unknown orders).</summary>
    public long PriceMismatches { get; internal set; }

    /// <summary>Submissions reusing a live order id (the old order is deleted synthetically first).</summary>
    public long DuplicateAdds { get; internal set; }

    /// <summary>Hidden executions (type 5) written as trades.</summary>
    public long HiddenExecutions { get; internal set; }

    /// <summary>Cross trades (type 6).</summary>
    public long CrossTrades { get; internal set; }

    /// <summary>Trading halt indicators (type 7).</summary>
    public long Halts { get; internal set; }

    /// <summary>Rows whose book cannot follow from their message (an add the row does not show, an execution at a price the row keeps): reconciled with synthetic events after the message. None in LOBSTER's samples.</summary>
    public long RowsContradictingMessages { get; internal set; }

    /// <summary>Rows after which the flow's own book still differed from the row (0 unless the flow has a bug).</summary>
    public long RowsNotReconciled { get; internal set; }

    /// <summary>Ticks produced.</summary>
    public long Ticks { get; internal set; }
}

/// <summary>
/// Turns LOBSTER rows (a message and the book after it) into order-level <see cref="Tick"/>s that
/// rebuild exactly the book LOBSTER shows, at every visible level, after every message.
/// </summary>
/// <remarks>
/// <para>LOBSTER's window opens on a book built earlier and shows only L levels, so messages alone
/// cannot explain all the liquidity. Before each message this compares the book the flow would have
/// after the message with the row, over the visible depth, and emits, flagged
/// <see cref="TickFlags.Synthetic"/> and counted in <see cref="Stats"/>:</para>
/// <list type="bullet">
/// <item>a synthetic add order for liquidity the row shows that the flow does not have (the book
/// before 9:30 — so the first row is where the flow starts — and levels that surface from beyond
/// the visible depth);</item>
/// <item>a synthetic cancel or delete for liquidity the flow has that the row no longer shows
/// (orders cancelled while their level was beyond the visible depth: LOBSTER writes no message for
/// them).</item>
/// </list>
/// <para>Executions, cancels and deletes of order ids the flow does not know (added before the window
/// or beyond the visible depth) are mapped onto synthetic orders at their price and side. Hidden
/// executions (type 5, order id 0) become <see cref="TickKind.Trade"/>s that leave the book alone;
/// halt indicators (type 7: price −1, 0, 1) become <see cref="TickKind.TradingStatus"/> with
/// <see cref="Tick.Aux"/> 'H', 'Q', 'T'. The orderbook rows are used for nothing else.</para>
/// <para>This keeps its own order and level state (it is not the engine's book, which it is checked
/// against). Cost per message: O(levels) plus O(orders at a level) for cancels; no allocation while
/// the preallocated order table is large enough (it doubles otherwise). Single-threaded.</para>
/// </remarks>
public sealed class LobsterOrderFlow
{
    /// <summary>Synthetic orders get ids from here up (NASDAQ order reference numbers never come near).</summary>
    public const ulong SyntheticIdBase = 1UL << 62;

    private readonly int _levels;
    private readonly int _instrument;
    private readonly SideBook _bids;
    private readonly SideBook _asks;
    private readonly Dictionary<ulong, int> _byId;
    private Adjustment[] _adjustments;
    private Order[] _orders;
    private int _free = -1;
    private int _used;
    private ulong _nextSynthetic = SyntheticIdBase;
    private ulong _nextMatch = 1;
    private Tick _tick;
    private bool _rowHadSynthetic;

    /// <summary>
    /// A flow for books of <paramref name="levels"/> levels, producing ticks for <paramref name="instrument"/>,
    /// with room for <paramref name="expectedOrders"/> live orders and <paramref name="expectedPriceLevels"/>
    /// price levels per side (levels beyond the visible depth included) before its tables grow.
    /// </summary>
    public LobsterOrderFlow(int levels, int instrument = 1, int expectedOrders = 1 << 14, int expectedPriceLevels = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(levels, 1);
        _levels = levels;
        _instrument = instrument;
        _bids = new SideBook(isBid: true, Math.Max(16, expectedPriceLevels));
        _asks = new SideBook(isBid: false, Math.Max(16, expectedPriceLevels));
        _byId = new Dictionary<ulong, int>(expectedOrders);
        _orders = new Order[expectedOrders];
        _adjustments = new Adjustment[(4 * levels) + 8];
    }

    /// <summary>What the flow did so far.</summary>
    public LobsterFlowStats Stats { get; } = new();

    /// <summary>Live orders (known and synthetic).</summary>
    public int LiveOrders => _byId.Count;

    /// <summary>True when <paramref name="orderId"/> is in the synthetic range.</summary>
    public static bool IsSynthetic(ulong orderId) => orderId >= SyntheticIdBase;

    /// <summary>
    /// Processes one message with the book row after it (<c>4 × levels</c> values: ask price, ask size,
    /// bid price, bid size per level), handing the ticks to <paramref name="sink"/>: first any synthetic
    /// ones, then the message's own. Every tick gets <paramref name="sequence"/> and the message's time.
    /// </summary>
    public void Process<TSink>(in LobsterMessage message, ReadOnlySpan<long> row, long sequence, ref TSink sink)
        where TSink : struct, ILobsterTickSink
    {
        if (row.Length < 4 * _levels)
        {
            throw new ArgumentException($"A book row of {_levels} levels has {4 * _levels} values; got {row.Length}.", nameof(row));
        }

        Stats.Rows++;
        _rowHadSynthetic = false;
        _tick = default;
        _tick.Sequence = sequence;
        _tick.ExchangeTimestampNs = message.TimeNs;
        _tick.Instrument = _instrument;

        Side side = message.Direction > 0 ? Side.Buy : Side.Sell;
        long price = message.Price;
        long delta = 0;
        long unknown = 0;
        long ownAmount = 0;
        int own = -1;
        switch (message.Type)
        {
            case LobsterEventType.Submission:
                if (_byId.TryGetValue(message.OrderId, out int existing))
                {
                    Stats.DuplicateAdds++;
                    Reduce(existing, _orders[existing].Quantity, TickKind.OrderDelete, synthetic: true, ref sink);
                }

                delta = message.Size;
                break;
            case LobsterEventType.Cancellation:
            case LobsterEventType.Deletion:
            case LobsterEventType.VisibleExecution:
                if (!_byId.TryGetValue(message.OrderId, out own))
                {
                    own = -1;
                }
                else if (_orders[own].Side != side || _orders[own].Price != price)
                {
                    Stats.PriceMismatches++;
                    own = -1;
                }

                if (own >= 0)
                {
                    long left = _orders[own].Quantity;
                    if (message.Type == LobsterEventType.Deletion)
                    {
                        ownAmount = left;
                        if (message.Size != left)
                        {
                            Stats.DeleteSizeMismatches++;
                        }
                    }
                    else
                    {
                        ownAmount = Math.Min(message.Size, left);
                        unknown = message.Size - ownAmount;
                        if (unknown > 0)
                        {
                            Stats.OverReductions++;
                        }
                    }
                }
                else
                {
                    Stats.UnknownOrderReferences++;
                    unknown = message.Size;
                }

                delta = -(ownAmount + unknown);
                break;
            default:
                break;
        }

        Reconcile(_asks, Side.Sell, row, side == Side.Sell ? price : 0, side == Side.Sell ? delta : 0, own, side == Side.Sell ? unknown : 0, ownAmount, ref sink);
        Reconcile(_bids, Side.Buy, row, side == Side.Buy ? price : 0, side == Side.Buy ? delta : 0, own, side == Side.Buy ? unknown : 0, ownAmount, ref sink);

        // An unknown order's reduction takes synthetic liquidity at its price. Where the row is
        // already explained by known orders there, some of them are stale (cancelled unseen): swap
        // that much of them for synthetic liquidity, which leaves the level as the row shows it.
        if (unknown > 0)
        {
            SideBook book = BookOf(side);
            long missing = unknown - book.SyntheticAt(price);
            if (missing > 0)
            {
                AddSynthetic(side, price, missing, ref sink);
                CancelSurplus(book, price, missing, unknown, own, ownAmount, ref sink);
            }
        }

        if (_rowHadSynthetic)
        {
            Stats.RowsWithSyntheticEvents++;
        }

        Apply(in message, side, own, ownAmount, unknown, ref sink);
        if (!Matches(_asks, row, askSide: true) || !Matches(_bids, row, askSide: false))
        {
            // The row contradicts its own message (e.g. an add the row does not show, which nothing
            // before the message can undo): the row wins, with synthetic events after the message.
            Stats.RowsContradictingMessages++;
            Reconcile(_asks, Side.Sell, row, 0, 0, -1, 0, 0, ref sink);
            Reconcile(_bids, Side.Buy, row, 0, 0, -1, 0, 0, ref sink);
            if (!Matches(_asks, row, askSide: true) || !Matches(_bids, row, askSide: false))
            {
                Stats.RowsNotReconciled++;
            }
        }
    }

    private void Apply<TSink>(in LobsterMessage message, Side side, int own, long ownAmount, long unknown, ref TSink sink)
        where TSink : struct, ILobsterTickSink
    {
        switch (message.Type)
        {
            case LobsterEventType.Submission:
                AddOrder(message.OrderId, side, message.Price, message.Size, synthetic: false, ref sink);
                break;
            case LobsterEventType.Cancellation:
            case LobsterEventType.Deletion:
            case LobsterEventType.VisibleExecution:
                TickKind kind = message.Type switch
                {
                    LobsterEventType.Cancellation => TickKind.OrderCancel,
                    LobsterEventType.Deletion => TickKind.OrderDelete,
                    _ => TickKind.OrderExecuted,
                };
                if (own >= 0 && (ownAmount > 0 || kind == TickKind.OrderDelete))
                {
                    Reduce(own, ownAmount, kind, synthetic: false, ref sink);
                }

                ConsumeSynthetic(side, message.Price, unknown, kind, ref sink);
                break;
            case LobsterEventType.HiddenExecution:
                Stats.HiddenExecutions++;
                Emit(TickKind.Trade, message.OrderId, side, message.Price, message.Size, _nextMatch++, TickFlags.Printable, ref sink);
                break;
            case LobsterEventType.CrossTrade:
                Stats.CrossTrades++;
                Emit(TickKind.CrossTrade, 0, Side.None, message.Price, message.Size, _nextMatch++, TickFlags.Printable, ref sink);
                break;
            case LobsterEventType.TradingHalt:
                Stats.Halts++;
                _tick.Aux = message.Price switch { -1 => (byte)'H', 0 => (byte)'Q', _ => (byte)'T' };
                Emit(TickKind.TradingStatus, 0, Side.None, 0, 0, 0, TickFlags.None, ref sink);
                _tick.Aux = 0;
                break;
        }
    }

    // Compares the flow's book after the message with the row over the visible depth and plans
    // synthetic adds and cancels for every difference, then emits them (the plan is made first so
    // that changing levels does not disturb the walk).
    private void Reconcile<TSink>(SideBook book, Side side, ReadOnlySpan<long> row, long deltaPrice, long delta, int own, long reserve, long ownAmount, ref TSink sink)
        where TSink : struct, ILobsterTickSink
    {
        int offset = side == Side.Sell ? 0 : 2;
        int visible = 0;
        while (visible < _levels && row[(4 * visible) + offset + 1] > 0)
        {
            visible++;
        }

        bool full = visible == _levels;
        long worstKey = visible > 0 ? book.Key(row[(4 * (visible - 1)) + offset]) : long.MinValue;
        long deltaKey = delta != 0 ? book.Key(deltaPrice) : long.MinValue;
        int planned = 0;
        int i = book.Count - 1;
        int j = 0;
        bool deltaSeen = delta == 0;
        while (true)
        {
            long stateKey = i >= 0 ? book.KeyAt(i) : long.MinValue;
            long rowKey = j < visible ? book.Key(row[(4 * j) + offset]) : long.MinValue;
            long pendingDelta = deltaSeen ? long.MinValue : deltaKey;
            long key = Math.Max(stateKey, Math.Max(rowKey, pendingDelta));
            if (key == long.MinValue || (full && key < worstKey))
            {
                break;
            }

            long post = (key == stateKey ? book.QuantityAt(i) : 0) + (key == deltaKey ? delta : 0);
            long want = key == rowKey ? row[(4 * j) + offset + 1] : 0;
            if (post != want)
            {
                if (planned == _adjustments.Length)
                {
                    // Many stale levels inside the visible range (rare): grow, a cold path.
                    Array.Resize(ref _adjustments, _adjustments.Length * 2);
                }

                _adjustments[planned++] = new Adjustment(book.Price(key), want - post);
            }

            if (key == stateKey)
            {
                i--;
            }

            if (key == rowKey)
            {
                j++;
            }

            if (key == deltaKey)
            {
                deltaSeen = true;
            }
        }

        for (int k = 0; k < planned; k++)
        {
            Adjustment a = _adjustments[k];
            if (a.Quantity > 0)
            {
                AddSynthetic(side, a.Price, a.Quantity, ref sink);
            }
            else
            {
                long keep = a.Price == deltaPrice ? reserve : 0;
                CancelSurplus(book, a.Price, -a.Quantity, keep, own, ownAmount, ref sink);
            }
        }
    }

    // Removes `amount` at a level the row shows smaller: synthetic orders first (newest first), then
    // known orders oldest first; where the message itself reduces an unknown order at this price, its
    // synthetic share (`keepSynthetic`) is kept and known orders go first. The message's own order
    // comes last and never below what the message itself takes from it.
    private void CancelSurplus<TSink>(SideBook book, long price, long amount, long keepSynthetic, int own, long ownAmount, ref TSink sink)
        where TSink : struct, ILobsterTickSink
    {
        long syntheticAvailable = book.SyntheticAt(price) - keepSynthetic;
        bool knownFirst = keepSynthetic > 0;
        for (int pass = 0; pass < 3 && amount > 0; pass++)
        {
            bool ownPass = pass == 2;
            bool synthetic = !ownPass && (pass == 0) != knownFirst;
            int level = book.Find(price);
            if (level < 0)
            {
                return;
            }

            int o = synthetic ? book.TailAt(level) : book.HeadAt(level);
            while (o >= 0 && amount > 0)
            {
                int next = synthetic ? _orders[o].Prev : _orders[o].Next;
                ref Order order = ref _orders[o];
                bool eligible = ownPass ? o == own : order.Synthetic == synthetic && o != own;
                long limit = !eligible ? 0 : ownPass ? order.Quantity - ownAmount : synthetic ? Math.Min(order.Quantity, syntheticAvailable) : order.Quantity;
                long take = Math.Min(limit, amount);
                if (take > 0)
                {
                    if (synthetic)
                    {
                        syntheticAvailable -= take;
                    }

                    amount -= take;
                    Stats.SyntheticCancels++;
                    Stats.SyntheticCancelledShares += take;
                    _rowHadSynthetic = true;
                    Reduce(o, take, take == order.Quantity ? TickKind.OrderDelete : TickKind.OrderCancel, synthetic: true, ref sink);
                }

                o = next;
            }
        }
    }

    private void ConsumeSynthetic<TSink>(Side side, long price, long amount, TickKind kind, ref TSink sink)
        where TSink : struct, ILobsterTickSink
    {
        SideBook book = BookOf(side);
        while (amount > 0)
        {
            int level = book.Find(price);
            int o = level < 0 ? -1 : book.HeadAt(level);
            while (o >= 0 && !_orders[o].Synthetic)
            {
                o = _orders[o].Next;
            }

            if (o < 0)
            {
                // Unreachable: synthetic liquidity was added for the amount before the message.
                throw new InvalidOperationException($"No synthetic order left at {price} for {amount} shares.");
            }

            long take = Math.Min(amount, _orders[o].Quantity);
            TickKind k = kind == TickKind.OrderExecuted ? kind : take == _orders[o].Quantity ? TickKind.OrderDelete : TickKind.OrderCancel;
            Reduce(o, take, k, synthetic: false, ref sink);
            amount -= take;
        }
    }

    private void AddSynthetic<TSink>(Side side, long price, long quantity, ref TSink sink)
        where TSink : struct, ILobsterTickSink
    {
        Stats.SyntheticAdds++;
        Stats.SyntheticAddedShares += quantity;
        _rowHadSynthetic = true;
        AddOrder(_nextSynthetic++, side, price, quantity, synthetic: true, ref sink);
    }

    private void AddOrder<TSink>(ulong id, Side side, long price, long quantity, bool synthetic, ref TSink sink)
        where TSink : struct, ILobsterTickSink
    {
        int slot = Allocate();
        _orders[slot] = new Order { Id = id, Price = price, Quantity = quantity, Side = side, Synthetic = synthetic, Next = -1, Prev = -1 };
        _byId[id] = slot;
        BookOf(side).Append(slot, _orders);
        Emit(TickKind.AddOrder, id, side, price, quantity, 0, synthetic ? TickFlags.Synthetic : TickFlags.None, ref sink);
    }

    // Takes `amount` from the order in slot `o` and emits the tick of `kind` (delete: the whole order).
    private void Reduce<TSink>(int o, long amount, TickKind kind, bool synthetic, ref TSink sink)
        where TSink : struct, ILobsterTickSink
    {
        ref Order order = ref _orders[o];
        ulong id = order.Id;
        Side side = order.Side;
        long price = order.Price;
        SideBook book = BookOf(side);
        book.Reduce(o, amount, _orders);
        bool gone = order.Quantity == 0;
        if (gone)
        {
            _byId.Remove(id);
            order.Next = _free;
            _free = o;
        }

        ulong match = kind == TickKind.OrderExecuted ? _nextMatch++ : 0;
        TickFlags flags = (synthetic ? TickFlags.Synthetic : TickFlags.None) | (kind == TickKind.OrderExecuted ? TickFlags.Printable : TickFlags.None);
        Emit(kind, id, side, price, kind == TickKind.OrderDelete ? 0 : amount, match, flags, ref sink);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Emit<TSink>(TickKind kind, ulong id, Side side, long price, long quantity, ulong related, TickFlags flags, ref TSink sink)
        where TSink : struct, ILobsterTickSink
    {
        _tick.Kind = kind;
        _tick.OrderId = id;
        _tick.Side = side;
        _tick.Price = price * LobsterFormat.PriceToEngine;
        _tick.Quantity = quantity;
        _tick.RelatedId = related;
        _tick.Flags = flags;
        Stats.Ticks++;
        sink.OnTick(in _tick);
    }

    private bool Matches(SideBook book, ReadOnlySpan<long> row, bool askSide)
    {
        int offset = askSide ? 0 : 2;
        for (int level = 0; level < _levels; level++)
        {
            long quantity = row[(4 * level) + offset + 1];
            int index = book.Count - 1 - level;
            if (quantity == 0)
            {
                return index < 0;
            }

            if (index < 0 || book.Price(book.KeyAt(index)) != row[(4 * level) + offset] || book.QuantityAt(index) != quantity)
            {
                return false;
            }
        }

        return true;
    }

    private SideBook BookOf(Side side) => side == Side.Buy ? _bids : _asks;

    private int Allocate()
    {
        if (_free >= 0)
        {
            int slot = _free;
            _free = _orders[slot].Next;
            return slot;
        }

        if (_used == _orders.Length)
        {
            Array.Resize(ref _orders, _orders.Length * 2);
        }

        return _used++;
    }

    private readonly record struct Adjustment(long Price, long Quantity);

    private struct Order
    {
        public ulong Id;
        public long Price;
        public long Quantity;
        public int Next;
        public int Prev;
        public Side Side;
        public bool Synthetic;
    }

    // One side's levels, sorted by key ascending with the best at the end (key = price for bids,
    // −price for asks); each level keeps its orders in a FIFO list through the order table.
    private sealed class SideBook(bool isBid, int capacity)
    {
        private long[] _keys = new long[capacity];
        private long[] _quantities = new long[capacity];
        private long[] _synthetic = new long[capacity];
        private int[] _heads = new int[capacity];
        private int[] _tails = new int[capacity];

        public int Count { get; private set; }

        public long Key(long price) => isBid ? price : -price;

        public long Price(long key) => isBid ? key : -key;

        public long KeyAt(int index) => _keys[index];

        public long QuantityAt(int index) => _quantities[index];

        public long SyntheticQuantityAt(int index) => _synthetic[index];

        public int HeadAt(int index) => index < 0 ? -1 : _heads[index];

        public int TailAt(int index) => index < 0 ? -1 : _tails[index];

        public long SyntheticAt(long price)
        {
            int i = Find(price);
            return i < 0 ? 0 : _synthetic[i];
        }

        public int Find(long price)
        {
            int i = Array.BinarySearch(_keys, 0, Count, Key(price));
            return i < 0 ? -1 : i;
        }

        public void Append(int slot, Order[] orders)
        {
            ref Order order = ref orders[slot];
            long key = Key(order.Price);
            int i = Array.BinarySearch(_keys, 0, Count, key);
            if (i < 0)
            {
                i = ~i;
                Insert(i, key);
            }

            order.Prev = _tails[i];
            order.Next = -1;
            if (_tails[i] >= 0)
            {
                orders[_tails[i]].Next = slot;
            }
            else
            {
                _heads[i] = slot;
            }

            _tails[i] = slot;
            _quantities[i] += order.Quantity;
            if (order.Synthetic)
            {
                _synthetic[i] += order.Quantity;
            }
        }

        public void Reduce(int slot, long amount, Order[] orders)
        {
            ref Order order = ref orders[slot];
            int i = Find(order.Price);
            order.Quantity -= amount;
            _quantities[i] -= amount;
            if (order.Synthetic)
            {
                _synthetic[i] -= amount;
            }

            if (order.Quantity > 0)
            {
                return;
            }

            if (order.Prev >= 0)
            {
                orders[order.Prev].Next = order.Next;
            }
            else
            {
                _heads[i] = order.Next;
            }

            if (order.Next >= 0)
            {
                orders[order.Next].Prev = order.Prev;
            }
            else
            {
                _tails[i] = order.Prev;
            }

            if (_heads[i] < 0)
            {
                RemoveAt(i);
            }
        }

        private void Insert(int index, long key)
        {
            if (Count == _keys.Length)
            {
                int size = _keys.Length * 2;
                Array.Resize(ref _keys, size);
                Array.Resize(ref _quantities, size);
                Array.Resize(ref _synthetic, size);
                Array.Resize(ref _heads, size);
                Array.Resize(ref _tails, size);
            }

            int tail = Count - index;
            if (tail > 0)
            {
                Array.Copy(_keys, index, _keys, index + 1, tail);
                Array.Copy(_quantities, index, _quantities, index + 1, tail);
                Array.Copy(_synthetic, index, _synthetic, index + 1, tail);
                Array.Copy(_heads, index, _heads, index + 1, tail);
                Array.Copy(_tails, index, _tails, index + 1, tail);
            }

            _keys[index] = key;
            _quantities[index] = 0;
            _synthetic[index] = 0;
            _heads[index] = -1;
            _tails[index] = -1;
            Count++;
        }

        private void RemoveAt(int index)
        {
            int tail = Count - index - 1;
            if (tail > 0)
            {
                Array.Copy(_keys, index + 1, _keys, index, tail);
                Array.Copy(_quantities, index + 1, _quantities, index, tail);
                Array.Copy(_synthetic, index + 1, _synthetic, index, tail);
                Array.Copy(_heads, index + 1, _heads, index, tail);
                Array.Copy(_tails, index + 1, _tails, index, tail);
            }

            Count--;
        }
    }
}
