using System.Runtime.CompilerServices;

namespace Engine.Pipeline;

/// <summary>
/// How a consumer waits for a sequence. Implemented by structs and passed as a generic argument so the
/// JIT inlines the wait loop into the processor.
/// </summary>
public interface IWaitStrategy
{
    /// <summary>
    /// True when producers must wake this strategy's waiters (a blocking strategy). The processor then
    /// enables the sequencer's signal at construction, and every publish pays a fence.
    /// </summary>
    static virtual bool RequiresPublisherSignal => false;

    /// <summary>
    /// Waits until <paramref name="barrier"/> reports <paramref name="sequence"/> available and returns the
    /// highest available sequence, or returns a value below <paramref name="sequence"/> when the barrier is alerted.
    /// </summary>
    long WaitFor(long sequence, SequenceBarrier barrier);
}

/// <summary>Spins on the cursor: lowest latency, burns its core. For stages on dedicated cores.</summary>
public readonly struct BusySpinWaitStrategy : IWaitStrategy
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long WaitFor(long sequence, SequenceBarrier barrier)
    {
        long available;
        while ((available = barrier.AvailableSequence()) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return available;
            }
        }

        return available;
    }
}

/// <summary>Spins 100 times, then yields the core to other ready threads between checks: near busy-spin latency when the core is free, polite when it is not.</summary>
public readonly struct YieldingWaitStrategy : IWaitStrategy
{
    private const int SpinTries = 100;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long WaitFor(long sequence, SequenceBarrier barrier)
    {
        long available;
        int counter = SpinTries;
        while ((available = barrier.AvailableSequence()) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return available;
            }

            if (counter > 0)
            {
                counter--;
            }
            else
            {
                Thread.Yield();
            }
        }

        return available;
    }
}

/// <summary>Spin-then-sleep back-off: spins 200 times, yields 100 times, then sleeps 1 ms between checks. For consumers off the critical path.</summary>
public readonly struct SleepingWaitStrategy : IWaitStrategy
{
    private const int SpinTries = 200;
    private const int YieldTries = 100;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long WaitFor(long sequence, SequenceBarrier barrier)
    {
        long available;
        int counter = SpinTries + YieldTries;
        while ((available = barrier.AvailableSequence()) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return available;
            }

            if (counter > YieldTries)
            {
                counter--;
            }
            else if (counter > 0)
            {
                counter--;
                Thread.Yield();
            }
            else
            {
                Thread.Sleep(1);
            }
        }

        return available;
    }
}

/// <summary>
/// Sleeps on a monitor until a producer publishes: no CPU while idle, a few µs to wake. For consumers
/// off the critical path (journal, prediction log, telemetry flush). Producers pay a fence per publish
/// while such a consumer is attached, and take a lock only when it is actually asleep.
/// </summary>
public readonly struct BlockingWaitStrategy : IWaitStrategy
{
    /// <inheritdoc />
    public static bool RequiresPublisherSignal => true;

    /// <inheritdoc />
    public long WaitFor(long sequence, SequenceBarrier barrier)
    {
        ArgumentNullException.ThrowIfNull(barrier);
        return barrier.Sequencer.Signal.WaitFor(sequence, barrier);
    }
}
