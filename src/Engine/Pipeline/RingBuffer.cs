using System.Numerics;
using System.Runtime.CompilerServices;
using Engine.Native;

namespace Engine.Pipeline;

/// <summary>
/// Preallocated ring of <typeparamref name="T"/> slots in cache-line-aligned native memory,
/// indexed by sequence number. The ring only stores; who may touch which slot when is decided by
/// the <see cref="SingleProducerSequencer"/> (claim and publish) and the consumers' sequences.
/// </summary>
/// <remarks>
/// Cost: one native allocation at construction; indexing is an AND and a pointer add, no bounds
/// check (the mask keeps every sequence in range). Threading: the producer writes a slot between
/// claim and publish; consumers read it after observing the publish. Ownership: the ring owns its
/// memory; <c>ref</c>s it returns are valid until <see cref="Dispose"/>.
/// </remarks>
public sealed class RingBuffer<T> : IDisposable where T : unmanaged
{
    private readonly AlignedBuffer<T> _slots;
    private readonly long _mask;

    /// <summary>Creates a ring of <paramref name="capacity"/> zeroed slots; capacity must be a power of two.</summary>
    public RingBuffer(int capacity)
    {
        if (capacity < 2 || !BitOperations.IsPow2(capacity))
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Ring capacity must be a power of two of at least 2.");
        }

        Capacity = capacity;
        _mask = capacity - 1;
        _slots = new AlignedBuffer<T>(capacity, AlignedBuffer<T>.CacheLine);
    }

    /// <summary>Number of slots.</summary>
    public int Capacity { get; }

    /// <summary>The slot for <paramref name="sequence"/>. Wait-free; no bounds check needed.</summary>
    public ref T this[long sequence]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Unsafe.Add(ref _slots.First, (nint)(sequence & _mask));
    }

    /// <summary>Frees the slots. Only after every producer and consumer has stopped.</summary>
    public void Dispose() => _slots.Dispose();
}
