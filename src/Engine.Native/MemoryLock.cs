using System.Globalization;
using System.Runtime.InteropServices;

namespace Engine.Native;

/// <summary>What a request to lock the process's memory achieved.</summary>
/// <param name="Applied">True when <c>mlockall</c> succeeded and the kernel now reports locked memory.</param>
/// <param name="LockedKilobytesBefore">VmLck before the call (null when unknown).</param>
/// <param name="LockedKilobytesAfter">VmLck after the call (null when unknown).</param>
/// <param name="Detail">What happened, with the errno when it failed.</param>
public sealed record MemoryLockResult(bool Applied, long? LockedKilobytesBefore, long? LockedKilobytesAfter, string Detail);

/// <summary>The memory-lock limit of the process, in bytes; <see cref="ulong.MaxValue"/> is unlimited.</summary>
/// <param name="Soft">The limit enforced now.</param>
/// <param name="Hard">The ceiling the soft limit may be raised to.</param>
public readonly record struct MemlockLimit(ulong Soft, ulong Hard)
{
    /// <summary>True when the soft limit is <c>unlimited</c>.</summary>
    public bool IsUnlimited => Soft == NativeMethods.RlimInfinity;

    /// <summary>A limit in the form <c>ulimit -l</c> prints (KiB, or unlimited).</summary>
    public static string Describe(ulong bytes) =>
        bytes == NativeMethods.RlimInfinity ? "unlimited" : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024:N0} KiB");
}

/// <summary>
/// Keeps the process's pages in RAM (<c>mlockall</c>) so a page fault or swap-in never lands on the hot
/// path, and reports what took effect. Cold path: call once at start-up, before the stages start.
/// </summary>
public static unsafe class MemoryLock
{
    // CAP_IPC_LOCK lifts the RLIMIT_MEMLOCK ceiling for mlockall.
    private const int CapIpcLock = 14;

    /// <summary>
    /// Locks every page mapped now and (when <paramref name="includeFuture"/>) every page mapped later.
    /// Never throws for an OS refusal: the result says whether it took effect and why not.
    /// </summary>
    /// <remarks>With future pages locked, every later allocation is faulted in at once (a larger resident set).</remarks>
    public static MemoryLockResult LockAll(bool includeFuture = true)
    {
        long? before = LockedKilobytes(SystemFiles.Live);
        if (!OperatingSystem.IsLinux())
        {
            return new MemoryLockResult(false, before, before, "not supported on this OS: memory not locked");
        }

        int flags = NativeMethods.MclCurrent | (includeFuture ? NativeMethods.MclFuture : 0);
        int rc = NativeMethods.MLockAll(flags);
        int errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
        long? after = LockedKilobytes(SystemFiles.Live);
        if (rc != 0)
        {
            string why = errno switch
            {
                12 => "ENOMEM: the memlock limit is below the process's size (raise `ulimit -l` or grant CAP_IPC_LOCK)",
                1 => "EPERM: not permitted (needs CAP_IPC_LOCK or a memlock limit)",
                11 => "EAGAIN: some pages could not be locked",
                _ => $"errno {errno}",
            };
            return new MemoryLockResult(false, before, after, $"mlockall failed: {why}");
        }

        bool locked = after is null or > 0;
        long? residentKb = Kilobytes(SystemFiles.Live.ReadField("/proc/self/status", "VmRSS"));
        string resident = residentKb is long rss ? string.Create(CultureInfo.InvariantCulture, $", {rss / 1024.0:N1} MiB resident (VmRSS)") : string.Empty;
        string detail = after is long kb
            ? string.Create(CultureInfo.InvariantCulture, $"mlockall({(includeFuture ? "MCL_CURRENT|MCL_FUTURE" : "MCL_CURRENT")}) succeeded: {kb / 1024.0:N1} MiB of mappings locked (VmLck, reserved address space included){resident}")
            : "mlockall succeeded; VmLck not readable to confirm";
        return new MemoryLockResult(locked, before, after, locked ? detail : "mlockall returned success but VmLck reports 0 kB locked");
    }

    /// <summary>The process's <c>RLIMIT_MEMLOCK</c>, or null when the OS cannot tell.</summary>
    public static MemlockLimit? Limit()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        NativeMethods.RLimit limit;
        return NativeMethods.GetRLimit(NativeMethods.RlimitMemlock, &limit) == 0 ? new MemlockLimit(limit.Current, limit.Maximum) : null;
    }

    /// <summary>Locked memory of this process (<c>VmLck</c> of <c>/proc/self/status</c>), in KiB; null when unknown.</summary>
    public static long? LockedKilobytes(SystemFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        return Kilobytes(files.ReadField("/proc/self/status", "VmLck"));
    }

    /// <summary>Whether the process holds CAP_IPC_LOCK (bit 14 of <c>CapEff</c>); null when unknown.</summary>
    public static bool? HasIpcLockCapability(SystemFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        string? capEff = files.ReadField("/proc/self/status", "CapEff");
        return capEff is not null && ulong.TryParse(capEff, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong caps)
            ? (caps & (1UL << CapIpcLock)) != 0
            : null;
    }

    // "2048 kB" → 2048.
    private static long? Kilobytes(string? value)
    {
        string[]? parts = value?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts is { Length: > 0 } && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long kb) ? kb : null;
    }
}
