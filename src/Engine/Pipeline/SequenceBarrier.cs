using System.Runtime.CompilerServices;

namespace Engine.Pipeline;

/// <summary>
/// What one consumer may read: everything the producers published and every upstream consumer it
/// depends on has finished. Also carries the alert flag that stops a waiting consumer. Created by
/// <see cref="Sequencer.NewBarrier"/>.
/// </summary>
/// <remarks>
/// Threading: <see cref="AvailableSequence"/> and <see cref="HighestPublished"/> are called by the one
/// consumer that owns the barrier; <see cref="Alert"/> from any thread.
/// </remarks>
public sealed class SequenceBarrier
{
    private readonly Sequence _cursor;
    private readonly Sequence[] _dependents;

    // Only for a multi-producer ring read straight off the cursor: upstream consumers never pass an
    // unpublished slot, so a barrier with dependents needs no per-slot check.
    private readonly MultiProducerSequencer? _perSlot;

    // Written by the thread stopping the pipeline, read by the consumer in its wait loop.
    private volatile bool _alerted;

    internal SequenceBarrier(Sequencer sequencer, Sequence[] dependents)
    {
        Sequencer = sequencer;
        _cursor = sequencer.Cursor;
        _dependents = [.. dependents];
        _perSlot = _dependents.Length == 0 ? sequencer as MultiProducerSequencer : null;
    }

    /// <summary>The sequencer whose cursor this barrier follows.</summary>
    public Sequencer Sequencer { get; }

    /// <summary>The upstream consumers this barrier waits for (empty: it reads straight off the producers).</summary>
    public IReadOnlyList<Sequence> Dependents => _dependents;

    /// <summary>True once <see cref="Alert"/> was called (for good: a halted processor is not restarted).</summary>
    public bool IsAlerted => _alerted;

    /// <summary>The producer cursor (acquire read); for a multi-producer ring this includes claimed, unpublished slots.</summary>
    public long CursorValue
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _cursor.Value;
    }

    /// <summary>
    /// The highest sequence that may be ready: the cursor, or the slowest upstream consumer (acquire
    /// reads). On a multi-producer ring, pass the result through <see cref="HighestPublished"/> before reading slots.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long AvailableSequence()
    {
        long cursor = _cursor.Value;
        return _dependents.Length == 0 ? cursor : Sequence.Minimum(_dependents, cursor);
    }

    /// <summary>
    /// The highest sequence from <paramref name="next"/> to <paramref name="available"/> below which every slot is
    /// published; <paramref name="available"/> itself on a single-producer ring or behind upstream consumers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long HighestPublished(long next, long available) =>
        _perSlot is null ? available : _perSlot.HighestPublished(next, available);

    /// <summary>Wakes the consumer out of its wait (including a blocking wait) with a value below what it waits for.</summary>
    public void Alert()
    {
        _alerted = true;
        Sequencer.Signal.WakeAll();
    }
}
