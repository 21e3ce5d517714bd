using System.Globalization;
using System.Runtime.InteropServices;

namespace Engine.Native;

/// <summary>What a request to change the calling thread's denormal handling achieved.</summary>
/// <param name="Applied">True when the thread now does what was asked (read back from the register).</param>
/// <param name="Flushing">True when the thread now flushes denormals to zero (FTZ and DAZ both set); false when not or unknown.</param>
/// <param name="MxcsrBefore">MXCSR before the call (x86-64 Linux), else null.</param>
/// <param name="MxcsrAfter">MXCSR after the call (x86-64 Linux), else null.</param>
/// <param name="Detail">What happened, in one line for a report.</param>
public sealed record DenormalModeResult(bool Applied, bool Flushing, uint? MxcsrBefore, uint? MxcsrAfter, string Detail);

/// <summary>
/// Flushes denormal floats to zero on the calling thread (x86-64: MXCSR's FTZ, bit 15, and DAZ, bit 6), so
/// a kernel that meets a denormal does not take the 100-cycle microcode assist. The setting is per thread
/// and covers everything that thread computes: managed kernels and ONNX Runtime runs made on it (with one
/// intra-op thread, ONNX Runtime computes on the caller's thread).
/// </summary>
/// <remarks>
/// .NET has no managed way to set MXCSR; this goes through libm's <c>fegetenv</c>/<c>fesetenv</c>, which on
/// x86-64 glibc (and musl) store and load MXCSR whole. Cold path (two libm calls, well under a microsecond):
/// call once on the thread that will run the model, before its first run. Threads created afterwards by this
/// thread inherit the mode. Elsewhere (other OS or architecture, no libm) the result says it did not apply.
/// </remarks>
public static unsafe class DenormalMode
{
    /// <summary>MXCSR flush-to-zero: denormal results become zero.</summary>
    public const uint FlushToZeroBit = 0x8000;

    /// <summary>MXCSR denormals-are-zero: denormal inputs are read as zero.</summary>
    public const uint DenormalsAreZeroBit = 0x0040;

    private const uint Both = FlushToZeroBit | DenormalsAreZeroBit;

    /// <summary>
    /// Sets (<paramref name="flush"/> true) or clears FTZ and DAZ on the calling thread only, and reads the
    /// register back. Never throws for a platform that cannot do it: the result says so.
    /// </summary>
    public static DenormalModeResult SetOnCurrentThread(bool flush = true)
    {
        string asked = flush ? "flush denormals to zero" : "keep denormals";
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return new DenormalModeResult(false, false, null, null, $"{asked}: not supported on {RuntimeInformation.OSDescription} {RuntimeInformation.ProcessArchitecture} (x86-64 Linux only); the thread's mode is unchanged");
        }

        try
        {
            NativeMethods.FEnvX64 env;
            if (NativeMethods.FeGetEnv(&env) != 0)
            {
                return new DenormalModeResult(false, false, null, null, $"{asked}: fegetenv failed; the thread's mode is unchanged");
            }

            uint before = env.Mxcsr;
            env.Mxcsr = flush ? before | Both : before & ~Both;
            int rc = NativeMethods.FeSetEnv(&env);
            uint after = ReadMxcsr();
            bool flushing = (after & Both) == Both;
            bool applied = rc == 0 && (flush ? flushing : (after & Both) == 0);
            string detail = string.Create(CultureInfo.InvariantCulture, $"{asked}: {(applied ? "applied" : "NOT applied")} on this thread (MXCSR 0x{before:X4} -> 0x{after:X4})");
            return new DenormalModeResult(applied, flushing, before, after, detail);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return new DenormalModeResult(false, false, null, null, $"{asked}: libm's fegetenv/fesetenv not found ({ex.Message}); the thread's mode is unchanged");
        }
    }

    /// <summary>True when the calling thread flushes denormals (FTZ and DAZ set); null when it cannot be read here. Cold path.</summary>
    public static bool? IsFlushingOnCurrentThread()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return null;
        }

        try
        {
            return (ReadMxcsr() & Both) == Both;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    private static uint ReadMxcsr()
    {
        NativeMethods.FEnvX64 env;
        return NativeMethods.FeGetEnv(&env) == 0 ? env.Mxcsr : 0;
    }
}
