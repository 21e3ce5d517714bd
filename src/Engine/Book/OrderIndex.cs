using System.Numerics;
using System.Runtime.CompilerServices;
using Engine.Events;

namespace Engine.Book;

/// <summary>A resting order as the book keeps it.</summary>
public struct RestingOrder
{
    /// <summary>Order id (never 0 for a stored order).</summary>
    public ulong Id;

    /// <summary>Limit price, 1e-8 units.</summary>
    public long Price;

    /// <summary>Remaining quantity.</summary>
    public long Quantity;

    /// <summary>Instrument id.</summary>
    public int Instrument;

    /// <summary>Buy or sell.</summary>
    public Side Side;
}

/// <summary>
/// Order id → resting order, open addressing with linear probing and backward-shift deletion (no
/// tombstones, so lookups stay short however many orders come and go).
/// </summary>
/// <remarks>
/// Cost: add, find and remove are O(1) expected with no allocation while the table is under half
/// full; past that it doubles (a cold path that allocates, counted in <see cref="Resizes"/>), so size
/// <c>initialCapacity</c> for the peak number of live orders. Single-threaded: owned by the book stage.
/// </remarks>
public sealed class OrderIndex
{
    private RestingOrder[] _slots;
    private int _mask;
    private int _shift;
    private int _count;

    /// <summary>Creates an index with room for about <paramref name="initialCapacity"/> live orders before it grows.</summary>
    public OrderIndex(int initialCapacity = 1 << 16)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(initialCapacity, 1);
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, initialCapacity * 2));
        _slots = new RestingOrder[size];
        _mask = size - 1;
        _shift = 64 - BitOperations.Log2((uint)size);
    }

    /// <summary>Live orders.</summary>
    public int Count => _count;

    /// <summary>Times the table doubled (each one allocated).</summary>
    public int Resizes { get; private set; }

    /// <summary>Slots in the table.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Adds an order; false if the id is 0 or already present (the table is unchanged).</summary>
    public bool TryAdd(in RestingOrder order)
    {
        if (order.Id == 0)
        {
            return false;
        }

        if ((_count + 1) * 2 > _slots.Length)
        {
            Grow();
        }

        int i = Home(order.Id);
        while (true)
        {
            ref RestingOrder slot = ref _slots[i];
            if (slot.Id == 0)
            {
                slot = order;
                _count++;
                return true;
            }

            if (slot.Id == order.Id)
            {
                return false;
            }

            i = (i + 1) & _mask;
        }
    }

    /// <summary>Reference to the stored order with <paramref name="id"/>, or a null ref when absent (test with <see cref="Unsafe.IsNullRef{T}(ref readonly T)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref RestingOrder Find(ulong id)
    {
        if (id != 0)
        {
            RestingOrder[] slots = _slots;
            int i = Home(id);
            while (true)
            {
                ref RestingOrder slot = ref slots[i];
                if (slot.Id == id)
                {
                    return ref slot;
                }

                if (slot.Id == 0)
                {
                    break;
                }

                i = (i + 1) & _mask;
            }
        }

        return ref Unsafe.NullRef<RestingOrder>();
    }

    /// <summary>Removes the order with <paramref name="id"/>; false when absent.</summary>
    public bool Remove(ulong id)
    {
        if (id == 0)
        {
            return false;
        }

        RestingOrder[] slots = _slots;
        int i = Home(id);
        while (slots[i].Id != id)
        {
            if (slots[i].Id == 0)
            {
                return false;
            }

            i = (i + 1) & _mask;
        }

        // Backward-shift deletion: pull later members of the probe run into the hole when their
        // home position allows it, so no tombstone is needed.
        int hole = i;
        int j = i;
        while (true)
        {
            j = (j + 1) & _mask;
            if (slots[j].Id == 0)
            {
                break;
            }

            int home = Home(slots[j].Id);
            bool canMove = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
            if (canMove)
            {
                slots[hole] = slots[j];
                hole = j;
            }
        }

        slots[hole] = default;
        _count--;
        return true;
    }

    /// <summary>Removes every order.</summary>
    public void Clear()
    {
        Array.Clear(_slots);
        _count = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(ulong id) => (int)((id * 0x9E3779B97F4A7C15UL) >> _shift);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow()
    {
        RestingOrder[] old = _slots;
        _slots = new RestingOrder[old.Length * 2];
        _mask = _slots.Length - 1;
        _shift--;
        _count = 0;
        Resizes++;
        foreach (ref readonly RestingOrder order in old.AsSpan())
        {
            if (order.Id != 0)
            {
                TryAdd(order);
            }
        }
    }
}
