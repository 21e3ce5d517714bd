using Engine.Native;

namespace Engine.Telemetry;

/// <summary>Pins a background thread (telemetry, hiccup meter, metrics endpoint) away from the hot-path cores.</summary>
internal static class BackgroundThreads
{
    /// <summary>Called first thing on the background thread: restricts it to <paramref name="set"/>'s CPUs, or leaves it (null result) when the set restricts nothing.</summary>
    public static AffinityResult? Apply(BackgroundCpuSet set) =>
        set.Restricts ? CpuAffinity.PinCurrentThread([.. set.Cpus]) : null;
}

/// <summary>
/// The thread of a telemetry component (interval cutter, hiccup meter, metrics endpoint): started once,
/// pinned to <see cref="Cpus"/> first thing on the thread, joined on stop. How the loop is told to
/// stop is the owner's (a flag, an event); this only starts and joins. Start and join from one
/// control thread; <see cref="Affinity"/> is written by the background thread, read it after <see cref="Join"/>.
/// </summary>
internal sealed class BackgroundThread(string name, ThreadPriority priority)
{
    private Thread? _thread;

    /// <summary>Where the thread may run; set before <see cref="Start"/>.</summary>
    public BackgroundCpuSet Cpus { get; set; } = BackgroundCpuSet.Unrestricted;

    /// <summary>What pinning achieved (null when <see cref="Cpus"/> restricts nothing, or before the thread ran).</summary>
    public AffinityResult? Affinity { get; private set; }

    /// <summary>Whether a thread was started and not yet joined.</summary>
    public bool Started => _thread is not null;

    /// <summary>Starts a background thread that pins itself, then runs <paramref name="loop"/>; does nothing when one is running.</summary>
    public void Start(Action loop)
    {
        if (_thread is not null)
        {
            return;
        }

        _thread = new Thread(() =>
        {
            Affinity = BackgroundThreads.Apply(Cpus);
            loop();
        })
        { IsBackground = true, Name = name, Priority = priority };
        _thread.Start();
    }

    /// <summary>Waits for the thread (after the owner told its loop to stop); a later <see cref="Start"/> starts a new one.</summary>
    public void Join()
    {
        _thread?.Join();
        _thread = null;
    }
}
