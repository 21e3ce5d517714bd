using System.Runtime.CompilerServices;

namespace Engine.Pipeline;

/// <summary>
/// Where consumers with a blocking wait strategy sleep, and how producers wake them. A producer pays a
/// fence and one read of <see cref="_waiters"/> per publish, and takes the lock only when a consumer is
/// actually asleep.
/// </summary>
/// <remarks>
/// Why no wake-up is lost (a Dekker pair): a consumer increments <see cref="_waiters"/> (a full fence)
/// and then re-reads the cursor before sleeping; a producer stores the cursor, fences, then reads
/// <see cref="_waiters"/>. Either the consumer sees the new cursor and does not sleep, or the producer
/// sees a waiter and pulses under the lock the consumer holds until it is inside <see cref="Monitor.Wait(object)"/>.
/// </remarks>
internal sealed class WaitSignal
{
    private readonly object _gate = new();

    // Consumers inside Wait: incremented and decremented by them (Interlocked), read by producers after
    // their publish fence. Padded: producers read it on every publish.
    private PaddedLong _waiters;

    private long _wakeAlls;

    /// <summary>Times a producer (or an alert) woke sleeping consumers.</summary>
    public long WakeAlls => Interlocked.Read(ref _wakeAlls);

    /// <summary>Called by a producer after its publish store (and a full fence).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WakeIfWaiting()
    {
        if (Volatile.Read(ref _waiters.Value) != 0)
        {
            WakeAll();
        }
    }

    /// <summary>Wakes every sleeping consumer (they re-check their condition).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void WakeAll()
    {
        lock (_gate)
        {
            Interlocked.Increment(ref _wakeAlls);
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Sleeps until the cursor reaches <paramref name="sequence"/> or the barrier is alerted, then waits
    /// (spinning, yielding, sleeping) for upstream consumers. Returns the barrier's available sequence.
    /// </summary>
    public long WaitFor(long sequence, SequenceBarrier barrier)
    {
        if (barrier.CursorValue < sequence)
        {
            lock (_gate)
            {
                Interlocked.Increment(ref _waiters.Value);
                try
                {
                    while (barrier.CursorValue < sequence)
                    {
                        if (barrier.IsAlerted)
                        {
                            return barrier.AvailableSequence();
                        }

                        Monitor.Wait(_gate);
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref _waiters.Value);
                }
            }
        }

        // Upstream consumers publish no signal; they are usually close behind the cursor.
        long available;
        var spinner = default(SpinWait);
        while ((available = barrier.AvailableSequence()) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return available;
            }

            spinner.SpinOnce();
        }

        return available;
    }
}
