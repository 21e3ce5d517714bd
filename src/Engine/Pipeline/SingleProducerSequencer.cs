using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Engine.Pipeline;

/// <summary>
/// The sequencer for exactly one producer thread: claiming is a compare against a cached consumer
/// position (the consumers' sequences are read only when the ring may be full), publishing a release
/// store of the cursor.
/// </summary>
/// <remarks>
/// Threading: <c>TryNext</c>, <c>Claim</c>, <c>Next</c> and <c>Publish</c> from one producer thread only.
/// Allocation: none after construction.
/// </remarks>
public sealed class SingleProducerSequencer : Sequencer
{
    // Producer-local state, padded so its writes never invalidate the line consumers read the cursor from.
    private ProducerFields _fields;

    // The producer's claim, published before it writes a slot; kept only when a lossy consumer is attached.
    private readonly Sequence _claim = new();
    private bool _trackClaims;

    [StructLayout(LayoutKind.Explicit, Size = 128)]
    internal struct ProducerFields
    {
        [FieldOffset(56)] public long NextValue;
        [FieldOffset(64)] public long CachedGatingValue;
    }

    /// <summary>Creates a sequencer for a ring of <paramref name="bufferSize"/> slots.</summary>
    public SingleProducerSequencer(int bufferSize)
        : base(bufferSize)
    {
        _fields.NextValue = Sequence.InitialValue;
        _fields.CachedGatingValue = Sequence.InitialValue;
    }

    /// <inheritdoc />
    public override ProducerMode Mode => ProducerMode.Single;

    internal override Sequence ClaimSequence => _trackClaims ? _claim : Cursor;

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

        long next = _fields.NextValue + n;
        long wrapPoint = next - BufferSize;
        if (wrapPoint > _fields.CachedGatingValue && !HasRoomSlow(wrapPoint))
        {
            hi = Sequence.InitialValue;
            return false;
        }

        Claimed(next);
        hi = next;
        return true;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override bool Claim(int n, out long hi) => TryNext(n, out hi) || ClaimSlow(n, out hi);

    /// <summary>Makes <paramref name="sequence"/> (and every sequence before it) visible to consumers: one release store.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override void Publish(long sequence)
    {
        Cursor.SetValue(sequence);
        SignalAfterPublish();
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override void Publish(long lo, long hi)
    {
        if (hi < lo)
        {
            ThrowHelper.PublishRangeInvalid(lo, hi);
        }

        Publish(hi);
    }

    /// <inheritdoc />
    public override bool IsAvailable(long sequence)
    {
        long cursor = Cursor.Value;
        return sequence <= cursor && sequence > cursor - BufferSize;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public override long HighestPublished(long lowerBound, long available) => available;

    internal override void TrackClaims()
    {
        _claim.SetValue(_fields.NextValue);
        _trackClaims = true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Claimed(long next)
    {
        _fields.NextValue = next;
        if (_trackClaims)
        {
            // Full fence: the claim must be visible before any write into the slot it reuses, so a lossy
            // consumer that copied the slot and then reads the claim sees that the copy may be torn.
            _claim.SetValueVolatile(next);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool HasRoomSlow(long wrapPoint)
    {
        long minimum = Sequence.Minimum(GatingSequences, _fields.NextValue);
        _fields.CachedGatingValue = minimum;
        return wrapPoint <= minimum;
    }
}
