using System.Runtime.InteropServices;

namespace Engine.Native;

/// <summary>
/// The calling thread's timer slack (Linux <c>PR_SET_TIMERSLACK</c>): how much later than asked the
/// kernel may wake a sleeping thread so it can batch wake-ups. The default, 50 µs, makes every 1 ms
/// sleep end ~50 µs late; a thread that measures its own wake-up lateness (the hiccup meter) sets it
/// to 1 ns so that what it measures is the platform, not the slack.
/// </summary>
public static class TimerSlack
{
    private const int PrSetTimerSlack = 29;
    private const int PrGetTimerSlack = 30;

    /// <summary>Sets the calling thread's timer slack; returns the slack in effect afterwards (ns), or null where the OS has none or refused.</summary>
    public static long? SetCurrentThread(long nanoseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nanoseconds);
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        if (NativeMethods.Prctl(PrSetTimerSlack, (nuint)nanoseconds, 0, 0, 0) != 0)
        {
            _ = Marshal.GetLastPInvokeError();
            return null;
        }

        return CurrentThread();
    }

    /// <summary>The calling thread's timer slack in ns, or null where the OS has none.</summary>
    public static long? CurrentThread()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        int slack = NativeMethods.Prctl(PrGetTimerSlack, 0, 0, 0, 0);
        return slack < 0 ? null : slack;
    }
}
