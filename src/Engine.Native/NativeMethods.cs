using System.Runtime.InteropServices;

namespace Engine.Native;

/// <summary>
/// Every native import of the engine, in one place. Linux libc only; callers check
/// <see cref="OperatingSystem.IsLinux"/> first and report instead of calling elsewhere.
/// </summary>
internal static unsafe partial class NativeMethods
{
    private const string LibC = "libc";

    /// <summary><c>MCL_CURRENT</c>: lock every page mapped now (Linux x86-64 and arm64 value).</summary>
    internal const int MclCurrent = 1;

    /// <summary><c>MCL_FUTURE</c>: lock every page mapped from now on.</summary>
    internal const int MclFuture = 2;

    /// <summary><c>RLIMIT_MEMLOCK</c> (Linux x86-64 and arm64 value).</summary>
    internal const int RlimitMemlock = 8;

    /// <summary><c>RLIM_INFINITY</c> on 64-bit Linux.</summary>
    internal const ulong RlimInfinity = ulong.MaxValue;

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
    /// <summary><c>int mlockall(int flags)</c>: lock the process's pages in RAM.</summary>
    [LibraryImport(LibC, EntryPoint = "mlockall", SetLastError = true)]
    internal static partial int MLockAll(int flags);

    /// <summary><c>int getrlimit(int resource, struct rlimit *rlim)</c>.</summary>
    [LibraryImport(LibC, EntryPoint = "getrlimit", SetLastError = true)]
    internal static partial int GetRLimit(int resource, RLimit* limit);

    /// <summary>glibc's maths library, where the C99 floating-point environment functions live.</summary>
    private const string LibM = "libm.so.6";

    /// <summary><c>int fegetenv(fenv_t *envp)</c>: stores the x87 environment and (x86-64) MXCSR.</summary>
    [LibraryImport(LibM, EntryPoint = "fegetenv")]
    internal static partial int FeGetEnv(FEnvX64* env);

    /// <summary><c>int fesetenv(const fenv_t *envp)</c>: on x86-64 glibc and musl it loads <c>__mxcsr</c> whole, FTZ and DAZ included.</summary>
    [LibraryImport(LibM, EntryPoint = "fesetenv")]
    internal static partial int FeSetEnv(FEnvX64* env);

    /// <summary><c>fenv_t</c> on x86-64 Linux (32 bytes): the 28-byte x87 environment, then <c>__mxcsr</c>.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 32)]
    internal struct FEnvX64
    {
        public fixed uint X87[7];
        public uint Mxcsr;
    }

    /// <summary><c>struct rlimit</c> on 64-bit Linux: two <c>rlim_t</c> (unsigned long).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }
}
