using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Engine.Native;

/// <summary>
/// The engine's one clock for latency: monotonic nanoseconds (CLOCK_MONOTONIC on Linux, through
/// <see cref="Stopwatch.GetTimestamp"/>). Comparable across threads of one process, meaningless
/// across processes or machines. About 20 ns per read on the VMs measured here (vDSO).
/// </summary>
public static class MonotonicClock
{
    private static readonly long s_frequency = Stopwatch.Frequency;

    // Folded by the JIT: on Linux the frequency is 1 GHz and NowNs is a plain read.
    private static readonly bool s_isNanoseconds = Stopwatch.Frequency == 1_000_000_000;

    private static readonly double s_nsPerTick = 1e9 / Stopwatch.Frequency;

    /// <summary>Ticks per second of the underlying timestamp.</summary>
    public static long Frequency => s_frequency;

    /// <summary>Now, in nanoseconds since an arbitrary fixed point. Wait-free, allocation-free, any thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long NowNs()
    {
        long t = Stopwatch.GetTimestamp();
        return s_isNanoseconds ? t : (long)(t * s_nsPerTick);
    }

    /// <summary>Spins (no sleep, no yield) until <see cref="NowNs"/> reaches <paramref name="deadlineNs"/>; returns the time read.</summary>
    /// <remarks>For open-loop pacing on a dedicated core. Burns the core while waiting, by design.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long SpinUntil(long deadlineNs)
    {
        long now;
        while ((now = NowNs()) < deadlineNs)
        {
            Thread.SpinWait(1);
        }

        return now;
    }
}
