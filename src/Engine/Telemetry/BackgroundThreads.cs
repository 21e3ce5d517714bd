using Engine.Native;

namespace Engine.Telemetry;

/// <summary>Pins a background thread (telemetry, hiccup meter, metrics endpoint) away from the hot-path cores.</summary>
internal static class BackgroundThreads
{
    /// <summary>Called first thing on the background thread: restricts it to <paramref name="set"/>'s CPUs, or leaves it (null result) when the set restricts nothing.</summary>
    public static AffinityResult? Apply(BackgroundCpuSet set) =>
        set.Restricts ? CpuAffinity.PinCurrentThread([.. set.Cpus]) : null;
}
