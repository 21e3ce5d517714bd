using System.Runtime.CompilerServices;

namespace Engine.Pipeline;

/// <summary>
/// How a consumer waits for a sequence to be published. Implemented by structs and passed as a
/// generic argument so the JIT inlines the wait loop into the processor.
/// </summary>
public interface IWaitStrategy
{
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

/// <summary>Spins a little, then yields the core to other ready threads between checks.</summary>
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

/// <summary>Spins, then yields, then sleeps 1 ms between checks: for consumers off the critical path.</summary>
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
