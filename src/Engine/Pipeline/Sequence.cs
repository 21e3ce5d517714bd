using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Engine.Pipeline;

/// <summary>
/// A <see cref="long"/> alone on its own 128 bytes: 56 bytes before it, 64 after, so that no other
/// hot field shares its cache line (or the adjacent-line prefetch pair) with it.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public struct PaddedLong
{
    /// <summary>Total size in bytes.</summary>
    public const int Size = 128;

    /// <summary>Offset of <see cref="Value"/> within the struct.</summary>
    public const int ValueOffset = 56;

    /// <summary>The value. Access through <see cref="Volatile"/> where two threads share it.</summary>
    [FieldOffset(ValueOffset)] public long Value;
}

/// <summary>
/// A padded sequence number shared between threads: a producer's cursor or a consumer's progress.
/// One thread writes it (the owner); any thread reads it.
/// </summary>
/// <remarks>
/// Memory ordering: <see cref="SetValue"/> is a release store (everything the owner wrote before,
/// such as the slot contents, is visible to a thread that then reads the new value through
/// <see cref="Value"/>, an acquire load). <see cref="SetValueVolatile"/> adds a full fence, needed
/// only when the writer must then read another thread's state (blocking wait strategies).
/// </remarks>
public sealed class Sequence
{
    /// <summary>The value a sequence starts with: nothing published or consumed yet.</summary>
    public const long InitialValue = -1;

    private PaddedLong _value;

    /// <summary>Creates a sequence at <paramref name="initialValue"/>.</summary>
    public Sequence(long initialValue = InitialValue) => _value.Value = initialValue;

    /// <summary>Acquire read of the current value.</summary>
    public long Value
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _value.Value);
    }

    /// <summary>Release store; owner thread only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetValue(long value) => Volatile.Write(ref _value.Value, value);

    /// <summary>Store followed by a full fence; owner thread only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetValueVolatile(long value) => Interlocked.Exchange(ref _value.Value, value);

    /// <summary>Atomic compare-and-set, for sequences with more than one writer (multi-producer claim).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool CompareAndSet(long expected, long value) => Interlocked.CompareExchange(ref _value.Value, value, expected) == expected;

    /// <summary>The smallest value among <paramref name="sequences"/>, or <paramref name="minimum"/> if it is smaller or the list is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Minimum(Sequence[] sequences, long minimum = long.MaxValue)
    {
        for (int i = 0; i < sequences.Length; i++)
        {
            long v = sequences[i].Value;
            if (v < minimum)
            {
                minimum = v;
            }
        }

        return minimum;
    }

    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
