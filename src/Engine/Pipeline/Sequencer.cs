using System.Numerics;
using System.Runtime.CompilerServices;

namespace Engine.Pipeline;

/// <summary>How many threads publish into a ring.</summary>
public enum ProducerMode
{
    /// <summary>One producer thread: claiming is a plain add, publishing one release store.</summary>
    Single,

    /// <summary>Several producer threads: claiming is a compare-and-swap, publication is tracked per slot.</summary>
    Multi,
}

/// <summary>
/// Hands out ring sequences to producers and publishes them to consumers, never letting a producer
/// overwrite a slot that a gating (lossless) consumer has not finished with.
/// </summary>
/// <remarks>
/// <para>Claim (<c>TryNext</c> never waits and returns false when the ring is full; <c>Claim</c> and <c>Next</c>
/// wait), write the slots, publish. Every claimed sequence must be published. Batch claims return the
/// highest sequence of the batch: the batch is <c>hi - n + 1 .. hi</c>.</para>
/// <para>Call the hot methods through the concrete sealed type (<see cref="SingleProducerSequencer"/> or
/// <see cref="MultiProducerSequencer"/>) so the JIT binds them directly; this base is for set-up and reports.</para>
/// <para>Set-up (<see cref="AddGatingSequences"/>, <see cref="NewBarrier"/>, blocking consumers, lossy consumers)
/// happens before the producers start.</para>
/// </remarks>
public abstract class Sequencer
{
    private readonly WaitSignal _signal = new();

    // Gating consumers: replaced (copy on write) during set-up, read by producers on the slow path only.
    private Sequence[] _gatingSequences = [];

    // Set during set-up when a blocking consumer attaches; read by producers on every publish.
    private bool _signalEnabled;

    // Written by whoever closes the ring (a stopping gating consumer), read by producers while they wait for room.
    private volatile string? _closedReason;

    private long _capacityWaits;

    private protected Sequencer(int bufferSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 1);
        BufferSize = bufferSize;
    }

    /// <summary>Ring size this sequencer guards.</summary>
    public int BufferSize { get; }

    /// <summary>
    /// The producer cursor. Single producer: the highest published sequence. Multi producer: the highest
    /// <em>claimed</em> sequence (slots below it may still be unpublished; see <see cref="HighestPublished"/>).
    /// </summary>
    public Sequence Cursor { get; } = new();

    /// <summary>Which producer discipline this is.</summary>
    public abstract ProducerMode Mode { get; }

    /// <summary>True once a gating consumer stopped for good: waiting claims give up (see <see cref="ClosedReason"/>).</summary>
    public bool IsClosed => _closedReason is not null;

    /// <summary>Why the ring was closed, or null while open.</summary>
    public string? ClosedReason => _closedReason;

    /// <summary>Times a producer found the ring full and had to wait (lossless back-pressure), all producers together.</summary>
    public long CapacityWaits => Interlocked.Read(ref _capacityWaits);

    /// <summary>Times a producer (or a halt) woke blocked consumers.</summary>
    public long BlockedConsumerWakeUps => _signal.WakeAlls;

    /// <summary>True when a blocking consumer is attached: every publish then pays a full fence to check for sleepers.</summary>
    public bool SignalsBlockedConsumers => Volatile.Read(ref _signalEnabled);

    internal WaitSignal Signal => _signal;

    private protected Sequence[] GatingSequences => _gatingSequences;

    /// <summary>Adds consumers whose progress limits the producers (lossless back-pressure). Set-up only.</summary>
    public void AddGatingSequences(params Sequence[] sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        Volatile.Write(ref _gatingSequences, [.. _gatingSequences, .. sequences]);
    }

    /// <summary>The slowest gating consumer's position (the cursor when there is none).</summary>
    public long MinimumGatingSequence() => Sequence.Minimum(Volatile.Read(ref _gatingSequences), Cursor.Value);

    /// <summary>A barrier for a consumer that reads what the producers published and, when given, what <paramref name="dependents"/> finished.</summary>
    public SequenceBarrier NewBarrier(params Sequence[] dependents)
    {
        ArgumentNullException.ThrowIfNull(dependents);
        return new SequenceBarrier(this, dependents);
    }

    /// <summary>Claims <paramref name="n"/> sequences if there is room now; false (back-pressured) otherwise. Never waits.</summary>
    public abstract bool TryNext(int n, out long hi);

    /// <summary>Claims the next sequence if there is room now; false (back-pressured) otherwise. Never waits.</summary>
    public bool TryNext(out long sequence) => TryNext(1, out sequence);

    /// <summary>Claims <paramref name="n"/> sequences, waiting while the ring is full; false once the ring is closed.</summary>
    public abstract bool Claim(int n, out long hi);

    /// <summary>Claims <paramref name="n"/> sequences, waiting while the ring is full; throws if the ring is closed while waiting.</summary>
    public abstract long Next(int n);

    /// <summary>Claims the next sequence, waiting while the ring is full; throws if the ring is closed while waiting.</summary>
    public long Next() => Next(1);

    /// <summary>Makes <paramref name="sequence"/> visible to consumers.</summary>
    public abstract void Publish(long sequence);

    /// <summary>Makes the claimed batch <paramref name="lo"/>..<paramref name="hi"/> visible to consumers.</summary>
    public abstract void Publish(long lo, long hi);

    /// <summary>True when <paramref name="sequence"/> is published and its slot not yet reused.</summary>
    public abstract bool IsAvailable(long sequence);

    /// <summary>
    /// The highest sequence in <paramref name="lowerBound"/>..<paramref name="available"/> below which every
    /// sequence is published (<paramref name="lowerBound"/> − 1 when <paramref name="lowerBound"/> is not).
    /// Single producer: <paramref name="available"/> itself.
    /// </summary>
    public abstract long HighestPublished(long lowerBound, long available);

    /// <summary>The highest sequence up to which everything is published (all producers idle: the cursor).</summary>
    public long HighestPublishedSequence() => HighestPublished(MinimumGatingSequence() + 1, Cursor.Value);

    /// <summary>Free slots right now, as the producers see them.</summary>
    public long RemainingCapacity() => BufferSize - (Cursor.Value - MinimumGatingSequence());

    /// <summary>
    /// Stops accepting claims that would wait: waiting <see cref="Claim"/> calls return false and <see cref="Next(int)"/>
    /// throws. Called when a gating consumer stops, so producers never hang on a dead pipeline. Idempotent; the first reason stays.
    /// </summary>
    public void Close(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        Interlocked.CompareExchange(ref _closedReason, reason, null);
    }

    /// <summary>The sequence a producer may be writing now: lossy consumers check it to detect that a slot they read was reused.</summary>
    internal abstract Sequence ClaimSequence { get; }

    /// <summary>Makes <see cref="ClaimSequence"/> exact (a lossy consumer is attached). Set-up only.</summary>
    internal abstract void TrackClaims();

    /// <summary>Makes publishers wake blocked consumers. Set-up only.</summary>
    internal void EnableSignal() => Volatile.Write(ref _signalEnabled, true);

    /// <summary>After a publish store: wakes blocked consumers when there are any. Costs a branch without blocking consumers, a fence with them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected void SignalAfterPublish()
    {
        if (_signalEnabled)
        {
            // StoreLoad: the cursor or availability store must be visible before _waiters is read (see WaitSignal).
            Interlocked.MemoryBarrier();
            _signal.WakeIfWaiting();
        }
    }

    /// <summary>The ring is full: waits for the gating consumers (lossless policy) until there is room or the ring is closed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private protected bool ClaimSlow(int n, out long hi)
    {
        Interlocked.Increment(ref _capacityWaits);
        var spinner = default(SpinWait);
        while (!TryNext(n, out hi))
        {
            if (IsClosed)
            {
                return false;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        return true;
    }

    private protected static void CheckPowerOfTwo(int bufferSize)
    {
        if (bufferSize < 1 || !BitOperations.IsPow2(bufferSize))
        {
            throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, "Ring size must be a power of two.");
        }
    }
}
