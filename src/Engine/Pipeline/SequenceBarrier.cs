using System.Runtime.CompilerServices;

namespace Engine.Pipeline;

/// <summary>
/// What a consumer may read: everything the producer has published and every upstream consumer it
/// depends on has finished. Also carries the alert flag that stops a waiting consumer.
/// </summary>
/// <remarks>
/// Threading: <see cref="AvailableSequence"/> is called by the one consumer that owns the barrier;
/// <see cref="Alert"/> from any thread.
/// </remarks>
public sealed class SequenceBarrier
{
    private readonly Sequence _cursor;
    private readonly Sequence[] _dependents;

    // Written by the thread stopping the pipeline, read by the consumer in its wait loop.
    private volatile bool _alerted;

    /// <summary>A barrier on the producer's <paramref name="cursor"/> and, optionally, on upstream consumers.</summary>
    public SequenceBarrier(Sequence cursor, params Sequence[] dependents)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        ArgumentNullException.ThrowIfNull(dependents);
        _cursor = cursor;
        _dependents = dependents;
    }

    /// <summary>True once <see cref="Alert"/> was called and until <see cref="ClearAlert"/>.</summary>
    public bool IsAlerted => _alerted;

    /// <summary>Highest sequence that may be read now (acquire reads of the cursor and dependents).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long AvailableSequence()
    {
        long cursor = _cursor.Value;
        return _dependents.Length == 0 ? cursor : Sequence.Minimum(_dependents, cursor);
    }

    /// <summary>Wakes the consumer out of its wait with a value below what it waits for.</summary>
    public void Alert() => _alerted = true;

    /// <summary>Clears the alert before a restart.</summary>
    public void ClearAlert() => _alerted = false;
}
