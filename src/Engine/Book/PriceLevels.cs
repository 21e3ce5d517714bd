using System.Runtime.CompilerServices;

namespace Engine.Book;

/// <summary>
/// One side of a book as aggregated price levels, kept sorted with the best level last so the
/// common changes (at or near the top) touch the end of the arrays.
/// </summary>
/// <remarks>
/// Prices are stored as keys: the price for bids, its negation for asks, so both sides sort
/// ascending with the best (highest bid, lowest ask) at the end. Cost: the top is checked first;
/// otherwise a binary search; inserting or removing a level moves the levels above it. The arrays
/// double when full (cold path, allocates, counted in <see cref="Resizes"/>). Single-threaded.
/// </remarks>
public sealed class PriceLevels
{
    private readonly bool _isBid;
    private long[] _keys;
    private long[] _quantities;
    private int[] _orders;
    private int _count;

    /// <summary>Creates an empty side with room for <paramref name="initialLevels"/> levels.</summary>
    public PriceLevels(bool isBid, int initialLevels = 64)
    {
        _isBid = isBid;
        _keys = new long[initialLevels];
        _quantities = new long[initialLevels];
        _orders = new int[initialLevels];
    }

    /// <summary>Number of non-empty levels.</summary>
    public int Count => _count;

    /// <summary>Times the level arrays doubled.</summary>
    public int Resizes { get; private set; }

    /// <summary>Best price, or 0 when the side is empty.</summary>
    public long BestPrice => _count == 0 ? 0 : ToPrice(_keys[_count - 1]);

    /// <summary>Quantity at the best price, or 0 when the side is empty.</summary>
    public long BestQuantity => _count == 0 ? 0 : _quantities[_count - 1];

    /// <summary>Price of level <paramref name="depth"/> (0 = best); 0 beyond the last level.</summary>
    public long PriceAt(int depth) => (uint)depth < (uint)_count ? ToPrice(_keys[_count - 1 - depth]) : 0;

    /// <summary>Quantity of level <paramref name="depth"/> (0 = best); 0 beyond the last level.</summary>
    public long QuantityAt(int depth) => (uint)depth < (uint)_count ? _quantities[_count - 1 - depth] : 0;

    /// <summary>Orders at level <paramref name="depth"/> (0 = best); 0 beyond the last level.</summary>
    public int OrdersAt(int depth) => (uint)depth < (uint)_count ? _orders[_count - 1 - depth] : 0;

    /// <summary>Adds <paramref name="quantity"/> (one order) at <paramref name="price"/>.</summary>
    public void Add(long price, long quantity)
    {
        long key = ToKey(price);
        int i = Search(key);
        if (i >= 0)
        {
            _quantities[i] += quantity;
            _orders[i]++;
            return;
        }

        Insert(~i, key, quantity);
    }

    /// <summary>
    /// Removes <paramref name="quantity"/> at <paramref name="price"/>; when <paramref name="orderGone"/>
    /// the order count drops too. A level left with no orders or quantity disappears. Returns false
    /// when no level has that price (the side is unchanged).
    /// </summary>
    public bool Remove(long price, long quantity, bool orderGone)
    {
        int i = Search(ToKey(price));
        if (i < 0)
        {
            return false;
        }

        long left = _quantities[i] - quantity;
        int orders = orderGone ? _orders[i] - 1 : _orders[i];
        if (orders <= 0 || left <= 0)
        {
            RemoveAt(i);
        }
        else
        {
            _quantities[i] = left;
            _orders[i] = orders;
        }

        return true;
    }

    /// <summary>
    /// Sets the aggregate <paramref name="quantity"/> at <paramref name="price"/> (a price-level feed):
    /// 0 or less removes the level. A new level counts one order, since such feeds do not say how many.
    /// </summary>
    public void SetLevel(long price, long quantity)
    {
        long key = ToKey(price);
        int i = Search(key);
        if (i >= 0)
        {
            if (quantity > 0)
            {
                _quantities[i] = quantity;
            }
            else
            {
                RemoveAt(i);
            }
        }
        else if (quantity > 0)
        {
            Insert(~i, key, quantity);
        }
    }

    /// <summary>Empties the side.</summary>
    public void Clear() => _count = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long ToKey(long price) => _isBid ? price : -price;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long ToPrice(long key) => _isBid ? key : -key;

    // Index of key, or the bitwise complement of where it would be inserted.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Search(long key)
    {
        int top = _count - 1;
        if (top >= 0 && _keys[top] == key)
        {
            return top;
        }

        if (top < 0 || key > _keys[top])
        {
            return ~_count;
        }

        return Array.BinarySearch(_keys, 0, _count, key);
    }

    private void Insert(int index, long key, long quantity)
    {
        if (_count == _keys.Length)
        {
            Grow();
        }

        int tail = _count - index;
        if (tail > 0)
        {
            Array.Copy(_keys, index, _keys, index + 1, tail);
            Array.Copy(_quantities, index, _quantities, index + 1, tail);
            Array.Copy(_orders, index, _orders, index + 1, tail);
        }

        _keys[index] = key;
        _quantities[index] = quantity;
        _orders[index] = 1;
        _count++;
    }

    private void RemoveAt(int index)
    {
        int tail = _count - index - 1;
        if (tail > 0)
        {
            Array.Copy(_keys, index + 1, _keys, index, tail);
            Array.Copy(_quantities, index + 1, _quantities, index, tail);
            Array.Copy(_orders, index + 1, _orders, index, tail);
        }

        _count--;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow()
    {
        int size = _keys.Length * 2;
        Array.Resize(ref _keys, size);
        Array.Resize(ref _quantities, size);
        Array.Resize(ref _orders, size);
        Resizes++;
    }
}
