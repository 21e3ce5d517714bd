using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Engine.Pipeline;

/// <summary>
/// The sequencer for several producer threads: claims advance the cursor by compare-and-swap, and each
/// slot carries its own publication flag (the lap number of the sequence last published into it), so a
/// consumer never reads a slot that was claimed but not yet published, whatever order producers finish in.
/// </summary>
/// <remarks>
/// Threading: any number of producer threads. Cost per claim: one CAS on the shared cursor (contended
/// between producers); per publish: one release store into the slot's flag. Allocation: the flag array
/// (pinned, one int per slot) at construction; none afterwards.
/// </remarks>
public sealed class MultiProducerSequencer : Sequencer
{
    // One int per slot: the lap (sequence >> log2(size)) of the last sequence published into it. Written by
    // the publishing producer (release), read by consumers (acquire). Pinned so indexing needs no bounds check.
    private readonly int[] _available;
    private readonly int _indexMask;
    private readonly int _indexShift;

    // Shared by producers: the last gating minimum seen, so the consumers' sequences are read only near a full ring.
    private readonly Sequence _gatingCache = new();

    /// <summary>Creates a sequencer for a ring of <paramref name="bufferSize"/> slots (a power of two).</summary>
    public MultiProducerSequencer(int bufferSize)
        : base(bufferSize)
    {
        CheckPowerOfTwo(bufferSize);
        _available = GC.AllocateArray<int>(bufferSize, pinned: true);
        _available.AsSpan().Fill(-1);
        _indexMask = bufferSize - 1;
        _indexShift = BitOperations.Log2((uint)bufferSize);
    }

    /// <inheritdoc />
    public override ProducerMode Mode => ProducerMode.Multi;

    // The cursor is the claim: a CAS (full fence) precedes every write into a reused slot.
    internal override Sequence ClaimSequence => Cursor;

    /// <summary>Claims the next sequence, waiting while the ring is full (lossless back-pressure).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public new long Next() => Next(1);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override long Next(int n)
    {
        if (!Claim(n, out long hi))
        {
            ThrowHelper.SequencerClosed(ClosedReason);
        }

        return hi;
    }

    /// <summary>Claims the next sequence if there is room; false (back-pressured) otherwise. Never waits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public new bool TryNext(out long sequence) => TryNext(1, out sequence);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override bool TryNext(int n, out long hi)
    {
        if ((uint)(n - 1) >= (uint)BufferSize)
        {
            ThrowHelper.BatchSizeOutOfRange(n, BufferSize);
        }

        while (true)
        {
            long current = Cursor.Value;
            long next = current + n;
            if (!HasRoom(next - BufferSize, current))
            {
                hi = Sequence.InitialValue;
                return false;
            }

            if (Cursor.CompareAndSet(current, next))
            {
                hi = next;
                return true;
            }
        }
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override bool Claim(int n, out long hi) => TryNext(n, out hi) || ClaimSlow(n, out hi);

    /// <summary>Marks <paramref name="sequence"/>'s slot published (release store of its lap number).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override void Publish(long sequence)
    {
        Volatile.Write(ref Flag(sequence), (int)(sequence >>> _indexShift));
        SignalAfterPublish();
    }

    /// <inheritdoc />
    public override void Publish(long lo, long hi)
    {
        if (hi < lo)
        {
            ThrowHelper.PublishRangeInvalid(lo, hi);
        }

        for (long s = lo; s <= hi; s++)
        {
            Volatile.Write(ref Flag(s), (int)(s >>> _indexShift));
        }

        SignalAfterPublish();
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override bool IsAvailable(long sequence) => Volatile.Read(ref Flag(sequence)) == (int)(sequence >>> _indexShift);

    /// <inheritdoc />
    public override long HighestPublished(long lowerBound, long available)
    {
        for (long s = lowerBound; s <= available; s++)
        {
            if (!IsAvailable(s))
            {
                return s - 1;
            }
        }

        return available;
    }

    // Nothing to do: the cursor is already the exact claim.
    internal override void TrackClaims()
    {
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int Flag(long sequence) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_available), (nint)((int)sequence & _indexMask));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool HasRoom(long wrapPoint, long current)
    {
        long cached = _gatingCache.Value;
        if (wrapPoint > cached || cached > current)
        {
            return HasRoomSlow(wrapPoint, current);
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool HasRoomSlow(long wrapPoint, long current)
    {
        long minimum = Sequence.Minimum(GatingSequences, current);
        _gatingCache.SetValue(minimum);
        return wrapPoint <= minimum;
    }
}
