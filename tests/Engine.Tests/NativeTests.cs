using System.Globalization;
using Engine.Native;

namespace Engine.Tests;

/// <summary>The OS-facing leaves of Engine.Native: CPU lists, pinning, memory-lock reports, the core-to-core probe.</summary>
[TestFixture]
public sealed class NativeTests
{
    [TestCase("0-3,8,10-11", new[] { 0, 1, 2, 3, 8, 10, 11 })]
    [TestCase("5", new[] { 5 })]
    [TestCase(" 1 , 3-4 ", new[] { 1, 3, 4 })]
    [TestCase("", new int[0])]
    public void CpuListParsesTheKernelSyntax(string text, int[] expected)
    {
        Assert.That(CpuList.TryParse(text, out IReadOnlyList<int> cpus), Is.True);
        Assert.That(cpus, Is.EqualTo(expected));
        Assert.That(CpuList.TryParse(CpuList.Format(cpus), out IReadOnlyList<int> again) && again.SequenceEqual(cpus), Is.True, "format round-trips");
    }

    [TestCase("3-1")]
    [TestCase("a")]
    [TestCase("1-")]
    [TestCase("-2")]
    public void CpuListRejectsMalformedText(string text) =>
        Assert.That(CpuList.TryParse(text, out _), Is.False);

    [Test]
    public void BackgroundThreadsGetTheCpusTheHotPathDoesNotPin()
    {
        BackgroundCpuSet rest = CpuAffinity.BackgroundCpus([0, 1, 2, 3], [1, 2]);
        Assert.That(rest.Cpus, Is.EqualTo(new[] { 0, 3 }));
        Assert.That(rest.Restricts, Is.True);
        Assert.That(rest.Detail, Is.EqualTo("restricted to [0,3], away from the hot-path cores [1,2]"));

        Assert.That(CpuAffinity.BackgroundCpus([0, 1, 2, 3], []), Is.SameAs(BackgroundCpuSet.Unrestricted), "nothing pinned: nothing to avoid");
        Assert.That(CpuAffinity.BackgroundCpus([0, 1, 2, 3], [2, 2]).Cpus, Is.EqualTo(new[] { 0, 1, 3 }), "producer and stage on one core");
        Assert.That(CpuAffinity.BackgroundCpus([4, 5], [0]).Cpus, Is.EqualTo(new[] { 4, 5 }), "a pinned CPU outside the mask takes nothing away");

        BackgroundCpuSet none = CpuAffinity.BackgroundCpus([0, 1], [1, 0]);
        Assert.That(none.Restricts, Is.False, "only the pinned CPUs exist: left unpinned");
        Assert.That(none.Detail, Does.Contain("every available CPU [0,1] is pinned to the hot path ([0,1])"));
        Assert.That(CpuAffinity.BackgroundCpus([], [0]).Detail, Does.Contain("does not report the CPUs available"));
    }

    [Test]
    public void TelemetryThreadRestrictsItselfToItsBackgroundCpus()
    {
        IReadOnlyList<int> mine = CpuAffinity.CurrentThreadCpus();
        if (mine.Count == 0)
        {
            Assert.Ignore("This OS does not report thread affinity.");
        }

        var set = new BackgroundCpuSet([mine[^1]], "test");
        using var telemetry = new Engine.Telemetry.LatencyTelemetry(null, TimeSpan.FromMilliseconds(10)) { BackgroundCpus = set };
        telemetry.Start();
        telemetry.Stop();
        Assert.That(telemetry.BackgroundAffinity, Is.Not.Null);
        Assert.That(telemetry.BackgroundAffinity!.Granted, Is.EqualTo(new[] { mine[^1] }), telemetry.BackgroundAffinity.ToString());
        Assert.That(CpuAffinity.CurrentThreadCpus(), Is.EqualTo(mine), "the caller's own mask is untouched");
    }

    [Test]
    public void CpuListFormatsRangesCompactly() =>
        Assert.That(CpuList.Format([11, 0, 2, 1, 3, 8, 10]), Is.EqualTo("0-3,8,10-11"));

    [Test]
    public void FlushingDenormalsOnAThreadMakesADenormalProductZeroThereOnly()
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            Assert.That(DenormalMode.SetOnCurrentThread().Applied, Is.False, "elsewhere it says it did not apply");
            Assert.Ignore("FTZ/DAZ are set on x86-64 Linux only");
        }

        float kept = -1, flushed = -1, cleared = -1, otherThread = -1;
        DenormalModeResult? on = null, off = null, first = null;
        bool? flushingAfterOn = null;
        var t = new Thread(() =>
        {
            first = DenormalMode.SetOnCurrentThread(false);
            kept = DenormalProduct();
            on = DenormalMode.SetOnCurrentThread();
            flushingAfterOn = DenormalMode.IsFlushingOnCurrentThread();
            flushed = DenormalProduct();
            var child = new Thread(() =>
            {
                // Cleared on the child only: the parent's mode must not change.
                DenormalMode.SetOnCurrentThread(false);
                otherThread = DenormalProduct();
            });
            child.Start();
            child.Join();
            flushed = Bits(flushed) != 0 ? flushed : DenormalProduct();
            off = DenormalMode.SetOnCurrentThread(false);
            cleared = DenormalProduct();
        });
        t.Start();
        t.Join();

        // Compared as bits: the test runner's thread may flush denormals itself (a model loaded on it earlier),
        // and then a float comparison there would read a denormal as zero.
        Assert.That(Bits(kept), Is.Not.Zero, $"without FTZ/DAZ, 1e-38 * 0.01 is a denormal ({first!.Detail})");
        Assert.That(on!.Applied && on.Flushing, Is.True, on.Detail);
        Assert.That(on.MxcsrAfter & (DenormalMode.FlushToZeroBit | DenormalMode.DenormalsAreZeroBit), Is.EqualTo(DenormalMode.FlushToZeroBit | DenormalMode.DenormalsAreZeroBit));
        Assert.That(flushingAfterOn, Is.True);
        Assert.That(Bits(flushed), Is.Zero, "with FTZ/DAZ the product is zero");
        Assert.That(Bits(otherThread), Is.Not.Zero, "another thread's mode is its own");
        Assert.That(off!.Applied && !off.Flushing, Is.True, off.Detail);
        Assert.That(Bits(cleared), Is.Not.Zero);
    }

    // Operands parsed at run time and a product not inlined: the JIT folds constants (even static readonly
    // array elements) and converts float literals while compiling, under the MXCSR of the thread compiling
    // (a flushing thread turns a denormal literal into 0), so only this is computed under the caller's mode.
    internal static float DenormalProduct() => Multiply(Tiny(), float.Parse("0.01", CultureInfo.InvariantCulture));

    /// <summary>1e-38, itself denormal in float32, parsed at run time (see <see cref="DenormalProduct"/>).</summary>
    internal static float Tiny() => float.Parse("1e-38", CultureInfo.InvariantCulture);

    /// <summary>A float's bits: an integer test of zero that the calling thread's DAZ cannot change.</summary>
    internal static uint Bits(float value) => BitConverter.SingleToUInt32Bits(value);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static float Multiply(float a, float b) => a * b;

    [Test]
    public void PinningANewThreadReportsTheCpuSetGranted()
    {
        AffinityResult? pinned = null, impossible = null;
        IReadOnlyList<int>? after = null;
        var t = new Thread(() =>
        {
            pinned = CpuAffinity.PinCurrentThread(0);
            after = CpuAffinity.CurrentThreadCpus();
            impossible = CpuAffinity.PinCurrentThread(100_000);
        });
        t.Start();
        t.Join();

        if (!OperatingSystem.IsLinux())
        {
            Assert.That(pinned!.Applied, Is.False);
            Assert.That(pinned.Detail, Does.Contain("not supported"));
            return;
        }

        Assert.That(pinned!.Applied, Is.True, pinned.ToString());
        Assert.That(pinned.Granted, Is.EqualTo(new[] { 0 }));
        Assert.That(after, Is.EqualTo(new[] { 0 }));
        Assert.That(impossible!.Applied, Is.False, "an impossible request is reported, not assumed");
        Assert.That(impossible.Detail, Does.Contain("outside"));
        Assert.That(CpuAffinity.CurrentThreadCpus(), Has.Count.EqualTo(Environment.ProcessorCount), "the test thread itself was never pinned");
    }

    [Test]
    public void LockedMemoryAndCapabilityAreReadFromProcStatus()
    {
        using var tree = new FakeSystemTree();
        tree.Write("/proc/self/status", "Name:\ttest\nVmLck:\t    2048 kB\nCapEff:\t0000000000004000\n");
        Assert.That(MemoryLock.LockedKilobytes(tree.Files), Is.EqualTo(2048));
        Assert.That(MemoryLock.HasIpcLockCapability(tree.Files), Is.True, "bit 14 is CAP_IPC_LOCK");

        tree.Write("/proc/self/status", "VmLck:\t0 kB\nCapEff:\t00000000a80425fb\n");
        Assert.That(MemoryLock.LockedKilobytes(tree.Files), Is.Zero);
        Assert.That(MemoryLock.HasIpcLockCapability(tree.Files), Is.False);

        using var empty = new FakeSystemTree();
        Assert.That(MemoryLock.LockedKilobytes(empty.Files), Is.Null, "unknown, not zero");
        Assert.That(MemoryLock.HasIpcLockCapability(empty.Files), Is.Null);
    }

    [Test]
    public void MemlockLimitIsReportedOnLinux()
    {
        MemlockLimit? limit = MemoryLock.Limit();
        if (!OperatingSystem.IsLinux())
        {
            Assert.That(limit, Is.Null);
            return;
        }

        Assert.That(limit, Is.Not.Null);
        Assert.That(limit!.Value.Soft, Is.LessThanOrEqualTo(limit.Value.Hard));
        Assert.That(MemlockLimit.Describe(ulong.MaxValue), Is.EqualTo("unlimited"));
        Assert.That(MemlockLimit.Describe(8UL << 20), Is.EqualTo("8,192 KiB"));
    }

    [Test]
    public void CoreToCoreRoundTripIsMeasuredBetweenTwoPinnedThreads()
    {
        if (Environment.ProcessorCount < 2)
        {
            RoundTripResult single = CoreToCore.MeasureRoundTrip(0, 0, batches: 10);
            Assert.That(single.Measured, Is.False);
            Assert.That(single.Detail, Does.Contain("one CPU"));
            return;
        }

        RoundTripResult r = CoreToCore.MeasureRoundTrip(0, 1, batches: 50, roundTripsPerBatch: 50, timeLimit: TimeSpan.FromSeconds(20));
        Assert.That(r.Detail, Is.EqualTo("measured"));
        Assert.That(r.Measured, Is.True);
        Assert.That(r.Batches, Is.InRange(1, 50));
        Assert.That(double.IsFinite(r.MedianNs) && r.MedianNs > 0 && r.MinNs <= r.MedianNs, Is.True, r.ToString());
        if (OperatingSystem.IsLinux())
        {
            Assert.That(r.First!.Applied && r.Second!.Applied, Is.True, $"{r.First} / {r.Second}");
            Assert.That((r.FirstCpuSeen, r.SecondCpuSeen), Is.EqualTo((0, 1)));
        }
    }
}

/// <summary>A throw-away folder laid out like <c>/</c>, for checks that read <c>/proc</c> and <c>/sys</c>.</summary>
internal sealed class FakeSystemTree : IDisposable
{
    public FakeSystemTree()
    {
        Root = Path.Combine(Path.GetTempPath(), "engine-fake-root-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        Files = new SystemFiles(Root);
    }

    public string Root { get; }

    public SystemFiles Files { get; }

    public void Write(string path, string text)
    {
        string full = Path.Combine(Root, path.TrimStart('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
