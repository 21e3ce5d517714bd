using System.Runtime.InteropServices;

namespace Engine.Native;

/// <summary>
/// Every native import of the engine, in one place. Linux libc only; callers check
/// <see cref="OperatingSystem.IsLinux"/> first and report instead of calling elsewhere.
/// </summary>
internal static unsafe partial class NativeMethods
{
    private const string LibC = "libc";

    /// <summary><c>int sched_setaffinity(pid_t pid, size_t cpusetsize, const cpu_set_t *mask)</c>; pid 0 is the calling thread.</summary>
    [LibraryImport(LibC, EntryPoint = "sched_setaffinity", SetLastError = true)]
    internal static partial int SchedSetAffinity(int pid, nuint cpuSetSize, byte* mask);

    /// <summary><c>int sched_getaffinity(pid_t pid, size_t cpusetsize, cpu_set_t *mask)</c>; pid 0 is the calling thread.</summary>
    [LibraryImport(LibC, EntryPoint = "sched_getaffinity", SetLastError = true)]
    internal static partial int SchedGetAffinity(int pid, nuint cpuSetSize, byte* mask);

    /// <summary><c>int sched_getcpu(void)</c>: the CPU the calling thread runs on right now.</summary>
    [LibraryImport(LibC, EntryPoint = "sched_getcpu")]
    internal static partial int SchedGetCpu();

    /// <summary><c>int prctl(int option, unsigned long arg2, ...)</c> (variadic in C; integer arguments only here).</summary>
    [LibraryImport(LibC, EntryPoint = "prctl", SetLastError = true)]
    internal static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}
