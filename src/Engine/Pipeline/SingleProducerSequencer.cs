using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Engine.Pipeline;

/// <summary>
/// Hands out sequence numbers to one producer thread and publishes them to consumers, never letting
/// the producer overwrite a slot that a gating consumer has not finished with.
/// </summary>
/// <remarks>
/// Threading: <see cref="Next()"/>, <see cref="TryNext(out long)"/> and <see cref="Publish(long)"/> are for one
/// producer thread only. <see cref="Cursor"/> is read by consumers. Gating sequences are added
/// before the producer starts. Cost: claiming is a compare against a cached consumer position; the
/// consumers' sequences are read only when the cached value says the ring may be full.
/// </remarks>
public sealed class SingleProducerSequencer
{
    private readonly int _bufferSize;
    private readonly Sequence _cursor = new();
    private Sequence[] _gatingSequences = [];

    // Producer-local state, padded so its writes never invalidate the line consumers read
    // _bufferSize or the gating array from.
    private ProducerFields _fields;

    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct ProducerFields
    {
        [FieldOffset(56)] public long NextValue;
        [FieldOffset(64)] public long CachedGatingValue;
    }

    /// <summary>Creates a sequencer for a ring of <paramref name="bufferSize"/> slots.</summary>
    public SingleProducerSequencer(int bufferSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 1);
        _bufferSize = bufferSize;
        _fields.NextValue = Sequence.InitialValue;
        _fields.CachedGatingValue = Sequence.InitialValue;
    }

    /// <summary>The highest published sequence (acquire read).</summary>
    public Sequence Cursor => _cursor;

    /// <summary>Ring size this sequencer guards.</summary>
    public int BufferSize => _bufferSize;

    /// <summary>Adds consumers whose progress limits the producer. Call before the producer starts.</summary>
    public void AddGatingSequences(params Sequence[] sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        _gatingSequences = [.. _gatingSequences, .. sequences];
    }

    /// <summary>The slowest gating consumer's position (or the cursor when there is none).</summary>
    public long MinimumGatingSequence() => Sequence.Minimum(_gatingSequences, _cursor.Value);

    /// <summary>Claims the next sequence, spinning while the ring is full (lossless back-pressure).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Next() => Next(1);

    /// <summary>Claims <paramref name="n"/> consecutive sequences and returns the highest; spins while the ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Next(int n)
    {
        long next = _fields.NextValue + n;
        long wrapPoint = next - _bufferSize;
        if (wrapPoint > _fields.CachedGatingValue)
        {
            WaitForCapacity(wrapPoint, n);
        }

        _fields.NextValue = next;
        return next;
    }

    /// <summary>Claims the next sequence if there is room; returns false (back-pressured) otherwise. Never waits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryNext(out long sequence)
    {
        long next = _fields.NextValue + 1;
        long wrapPoint = next - _bufferSize;
        if (wrapPoint > _fields.CachedGatingValue)
        {
            long minimum = Sequence.Minimum(_gatingSequences, _fields.NextValue);
            _fields.CachedGatingValue = minimum;
            if (wrapPoint > minimum)
            {
                sequence = Sequence.InitialValue;
                return false;
            }
        }

        _fields.NextValue = next;
        sequence = next;
        return true;
    }

    /// <summary>Makes <paramref name="sequence"/> (and every sequence before it) visible to consumers (release store).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish(long sequence) => _cursor.SetValue(sequence);

    /// <summary>Free slots right now, as the producer sees them.</summary>
    public long RemainingCapacity() => _bufferSize - (_fields.NextValue - Sequence.Minimum(_gatingSequences, _fields.NextValue));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitForCapacity(long wrapPoint, int n)
    {
        if (n > _bufferSize)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, $"Cannot claim more than the ring's {_bufferSize} slots at once.");
        }

        long minimum;
        var spinner = default(SpinWait);
        while (wrapPoint > (minimum = Sequence.Minimum(_gatingSequences, _fields.NextValue)))
        {
            // Consumers are behind by a full ring: the producer waits (lossless policy).
            spinner.SpinOnce(sleep1Threshold: -1);
        }

        _fields.CachedGatingValue = minimum;
    }
}
