using System.Runtime.CompilerServices;

namespace Engine.Inference;

/// <summary>
/// Per-instrument state of a runner, indexed by instrument id: a lookup is a bounds check and a load;
/// adding an instrument is a cold path that may grow the table (and allocates). One thread.
/// </summary>
internal sealed class InstrumentTable<T> where T : class
{
    private T?[] _items = new T?[64];

    /// <summary>Instruments with state.</summary>
    public int Count { get; private set; }

    /// <summary>The state of <paramref name="instrument"/>, or null when it has none yet.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T? Find(int instrument) => (uint)instrument < (uint)_items.Length ? _items[instrument] : null;

    /// <summary>Stores the state of a new instrument.</summary>
    public void Add(int instrument, T item)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(instrument);
        if (instrument >= _items.Length)
        {
            Array.Resize(ref _items, Math.Max(instrument + 1, _items.Length * 2));
        }

        _items[instrument] = item;
        Count++;
    }

    /// <summary>Every stored state (cold path: disposal, reports).</summary>
    public IEnumerable<T> All()
    {
        foreach (T? item in _items)
        {
            if (item is not null)
            {
                yield return item;
            }
        }
    }
}
