using System.Runtime.InteropServices;

namespace Engine.Native;

/// <summary>What a request to pin a thread actually achieved.</summary>
/// <param name="Requested">The CPUs asked for.</param>
/// <param name="Granted">The CPUs the kernel reports for the thread afterwards (empty when unknown).</param>
/// <param name="Applied">True when the call succeeded and <paramref name="Granted"/> equals <paramref name="Requested"/>.</param>
/// <param name="Detail">Why it did not apply, or a short confirmation.</param>
public sealed record AffinityResult(IReadOnlyList<int> Requested, IReadOnlyList<int> Granted, bool Applied, string Detail)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"requested [{string.Join(',', Requested)}], granted [{string.Join(',', Granted)}]: {Detail}";
}

/// <summary>Where background threads (telemetry, hiccup meter, metrics endpoint) may run, and why.</summary>
/// <param name="Cpus">The CPUs to restrict them to; empty to leave them unpinned.</param>
/// <param name="Detail">Why, in words (which CPUs the hot path holds).</param>
public sealed record BackgroundCpuSet(IReadOnlyList<int> Cpus, string Detail)
{
    /// <summary>True when the background threads are to be restricted to <see cref="Cpus"/>.</summary>
    public bool Restricts => Cpus.Count > 0;

    /// <summary>No restriction: nothing on the hot path is pinned.</summary>
    public static BackgroundCpuSet Unrestricted { get; } = new([], "no hot-path core pinned: background threads left unpinned");

    /// <inheritdoc />
    public override string ToString() => Detail;
}

/// <summary>
/// Thread-to-CPU pinning through <c>sched_setaffinity</c>. Each call reports what the kernel
/// granted; nothing fails silently. Cold path: call once when a stage thread starts.
/// </summary>
/// <remarks>
/// A thread created by a pinned thread inherits its mask (so do thread-pool workers): create
/// threads before pinning, or pin each one explicitly.
/// </remarks>
public static unsafe class CpuAffinity
{
    // cpu_set_t is 1024 bits in glibc; larger masks are accepted by the kernel.
    private const int MaskBytes = 128;

    /// <summary>Pins the calling thread to <paramref name="cpus"/> and reports the CPU set granted.</summary>
    public static AffinityResult PinCurrentThread(params int[] cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        if (cpus.Length == 0)
        {
            throw new ArgumentException("At least one CPU is required.", nameof(cpus));
        }

        if (!OperatingSystem.IsLinux())
        {
            return new AffinityResult(cpus, [], false, "not supported on this OS: thread left unpinned");
        }

        byte* mask = stackalloc byte[MaskBytes];
        new Span<byte>(mask, MaskBytes).Clear();
        foreach (int cpu in cpus)
        {
            if ((uint)cpu >= MaskBytes * 8)
            {
                return new AffinityResult(cpus, CurrentThreadCpus(), false, $"CPU {cpu} is outside the supported range 0..{(MaskBytes * 8) - 1}");
            }

            mask[cpu >> 3] |= (byte)(1 << (cpu & 7));
        }

        int rc = NativeMethods.SchedSetAffinity(0, MaskBytes, mask);
        int errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
        IReadOnlyList<int> granted = CurrentThreadCpus();
        if (rc != 0)
        {
            return new AffinityResult(cpus, granted, false, $"sched_setaffinity failed (errno {errno}): thread left on [{string.Join(',', granted)}]");
        }

        bool same = granted.Count == cpus.Distinct().Count() && cpus.All(granted.Contains);
        return new AffinityResult(cpus, granted, same, same ? "pinned" : "kernel granted a different set");
    }

    /// <summary>
    /// The CPUs background threads should use when the hot path pins <paramref name="pinned"/> out of
    /// <paramref name="available"/>: every available CPU that is not pinned. When nothing is pinned,
    /// or every available CPU is (background threads then have nowhere else to go and are left
    /// unpinned, sharing those cores), the set is empty and the detail says why. Pure; any thread.
    /// </summary>
    public static BackgroundCpuSet BackgroundCpus(IReadOnlyList<int> available, IReadOnlyList<int> pinned)
    {
        ArgumentNullException.ThrowIfNull(available);
        ArgumentNullException.ThrowIfNull(pinned);
        if (pinned.Count == 0)
        {
            return BackgroundCpuSet.Unrestricted;
        }

        string hot = string.Join(',', pinned.Distinct().Order());
        if (available.Count == 0)
        {
            return new BackgroundCpuSet([], $"hot path pinned to [{hot}], but this OS does not report the CPUs available: background threads left unpinned");
        }

        int[] rest = [.. available.Distinct().Where(c => !pinned.Contains(c)).Order()];
        return rest.Length == 0
            ? new BackgroundCpuSet([], $"every available CPU [{string.Join(',', available.Distinct().Order())}] is pinned to the hot path ([{hot}]): background threads left unpinned, sharing those cores")
            : new BackgroundCpuSet(rest, $"restricted to [{string.Join(',', rest)}], away from the hot-path cores [{hot}]");
    }

    /// <summary>The CPUs the calling thread may run on (empty when the OS cannot tell).</summary>
    public static IReadOnlyList<int> CurrentThreadCpus()
    {
        if (!OperatingSystem.IsLinux())
        {
            return [];
        }

        byte* mask = stackalloc byte[MaskBytes];
        if (NativeMethods.SchedGetAffinity(0, MaskBytes, mask) != 0)
        {
            return [];
        }

        var cpus = new List<int>();
        for (int i = 0; i < MaskBytes * 8; i++)
        {
            if ((mask[i >> 3] & (1 << (i & 7))) != 0)
            {
                cpus.Add(i);
            }
        }

        return cpus;
    }

    /// <summary>The CPU the calling thread is running on now, or -1 when the OS cannot tell.</summary>
    public static int CurrentCpu() => OperatingSystem.IsLinux() ? NativeMethods.SchedGetCpu() : -1;
}
