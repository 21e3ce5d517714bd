using System.Diagnostics;
using Engine.Cli;
using Engine.Native;

namespace Engine.Tests;

/// <summary>The latency doctor: each check against known system states, a fake system tree, and the CLI end to end.</summary>
[TestFixture]
public sealed class DoctorTests
{
    private static readonly int[] s_fourCpus = [0, 1, 2, 3];

    [Test]
    public void SmtSiblingsAmongStageCoresAreAHazard()
    {
        var smt = new Dictionary<int, IReadOnlyList<int>> { [0] = [0, 1], [1] = [0, 1], [2] = [2, 3], [3] = [2, 3] };
        DoctorFinding pair = LatencyDoctor.CheckSmt(smt, [0, 1]);
        Assert.That(pair.Status, Is.EqualTo(DoctorStatus.Hazard));
        Assert.That(pair.Meaning, Does.Contain("0 and 1"));

        DoctorFinding busySibling = LatencyDoctor.CheckSmt(smt, [0, 2]);
        Assert.That(busySibling.Status, Is.EqualTo(DoctorStatus.Hazard));
        Assert.That(busySibling.Meaning, Does.Contain("CPU 1"));

        Assert.That(LatencyDoctor.CheckSmt(smt, []).Status, Is.EqualTo(DoctorStatus.Hazard), "SMT on, no stage cores named");

        var noSmt = new Dictionary<int, IReadOnlyList<int>> { [0] = [0], [1] = [1] };
        Assert.That(LatencyDoctor.CheckSmt(noSmt, [0, 1]).Status, Is.EqualTo(DoctorStatus.Ok));
        Assert.That(LatencyDoctor.CheckSmt(new Dictionary<int, IReadOnlyList<int>>(), [0]).Status, Is.EqualTo(DoctorStatus.Info), "unknown topology says so");
    }

    [Test]
    public void IsolationAndTicklessComeFromSysfsOrTheKernelCommandLine()
    {
        Assert.That(LatencyDoctor.CheckIsolated("2-3", null, s_fourCpus, [2, 3]).Status, Is.EqualTo(DoctorStatus.Ok));
        Assert.That(LatencyDoctor.CheckIsolated(null, "domain,managed_irq,2-3", s_fourCpus, [2, 3]).Status, Is.EqualTo(DoctorStatus.Ok), "isolcpus flags are skipped");
        DoctorFinding notIsolated = LatencyDoctor.CheckIsolated("", null, s_fourCpus, [1, 2]);
        Assert.That(notIsolated.Status, Is.EqualTo(DoctorStatus.Hazard));
        Assert.That(notIsolated.Meaning, Does.Contain("stage core 1-2 not covered"));

        Assert.That(LatencyDoctor.CheckTickless(null, "2-3", s_fourCpus, [2, 3]).Status, Is.EqualTo(DoctorStatus.Ok));
        Assert.That(LatencyDoctor.CheckTickless(null, null, s_fourCpus, [2]).Status, Is.EqualTo(DoctorStatus.Hazard));
    }

    [Test]
    public void KernelArgumentsStopAtTheInitSeparator()
    {
        const string Cmdline = "quiet isolcpus=2-3 nohz_full=2-3 -- --init isolcpus=9";
        Assert.That(LatencyDoctor.KernelArgument(Cmdline, "isolcpus"), Is.EqualTo("2-3"));
        Assert.That(LatencyDoctor.KernelArgument(Cmdline, "nohz_full"), Is.EqualTo("2-3"));
        Assert.That(LatencyDoctor.KernelArgument("quiet -- isolcpus=9", "isolcpus"), Is.Null);
        Assert.That(LatencyDoctor.KernelArgument("isolcpusx=1", "isolcpus"), Is.Null);
    }

    [Test]
    public void GovernorClockSourceAndHugePagesAreJudged()
    {
        Assert.That(LatencyDoctor.CheckGovernor(new Dictionary<int, string> { [0] = "performance", [1] = "performance" }).Status, Is.EqualTo(DoctorStatus.Ok));
        DoctorFinding powersave = LatencyDoctor.CheckGovernor(new Dictionary<int, string> { [0] = "performance", [1] = "powersave" });
        Assert.That(powersave.Status, Is.EqualTo(DoctorStatus.Hazard));
        Assert.That(powersave.Observed, Does.Contain("powersave on 1"));
        Assert.That(LatencyDoctor.CheckGovernor(new Dictionary<int, string>()).Status, Is.EqualTo(DoctorStatus.Info));

        Assert.That(LatencyDoctor.CheckClockSource("tsc", "tsc kvm-clock").Status, Is.EqualTo(DoctorStatus.Ok));
        Assert.That(LatencyDoctor.CheckClockSource("hpet", "hpet acpi_pm").Status, Is.EqualTo(DoctorStatus.Hazard));
        Assert.That(LatencyDoctor.CheckClockSource(null, null).Status, Is.EqualTo(DoctorStatus.Info));
        Assert.That(LatencyDoctor.CheckClockReadCost(25).Status, Is.EqualTo(DoctorStatus.Ok));
        Assert.That(LatencyDoctor.CheckClockReadCost(1500).Status, Is.EqualTo(DoctorStatus.Hazard));

        Assert.That(LatencyDoctor.CheckTransparentHugePages("always [madvise] never").Status, Is.EqualTo(DoctorStatus.Ok));
        Assert.That(LatencyDoctor.CheckTransparentHugePages("[always] madvise never").Status, Is.EqualTo(DoctorStatus.Hazard));
    }

    [Test]
    public void MemoryLockLimitAndOutcomeSayWhetherLockingCanTakeEffect()
    {
        var small = new MemlockLimit(8UL << 20, 8UL << 20);
        DoctorFinding limited = LatencyDoctor.CheckMemlockLimit(small, capIpcLock: false);
        Assert.That(limited.Status, Is.EqualTo(DoctorStatus.Hazard));
        Assert.That(limited.Meaning, Does.Contain("ulimit -l"));
        Assert.That(LatencyDoctor.CheckMemlockLimit(small, capIpcLock: true).Status, Is.EqualTo(DoctorStatus.Ok));
        Assert.That(LatencyDoctor.CheckMemlockLimit(new MemlockLimit(ulong.MaxValue, ulong.MaxValue), capIpcLock: false).Status, Is.EqualTo(DoctorStatus.Ok));

        DoctorFinding failed = LatencyDoctor.CheckMemoryLock(new MemoryLockResult(false, 0, 0, "mlockall failed: ENOMEM"));
        Assert.That((failed.Status, failed.Observed, failed.Meaning), Is.EqualTo((DoctorStatus.Hazard, "did not take effect", "mlockall failed: ENOMEM")));
        Assert.That(LatencyDoctor.CheckMemoryLock(new MemoryLockResult(true, 0, 300_000, "locked")).Observed, Is.EqualTo("took effect"));
    }

    [Test]
    public void DoctorReadsAWellTunedFakeSystemAsHealthy()
    {
        using var tree = new FakeSystemTree();
        tree.Write("/sys/devices/system/cpu/online", "0-3");
        for (int cpu = 0; cpu < 4; cpu++)
        {
            tree.Write($"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list", cpu.ToString(System.Globalization.CultureInfo.InvariantCulture));
            tree.Write($"/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor", "performance\n");
        }

        tree.Write("/sys/devices/system/cpu/isolated", "2-3\n");
        tree.Write("/sys/devices/system/cpu/nohz_full", "2-3\n");
        tree.Write("/sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc\n");
        tree.Write("/sys/devices/system/clocksource/clocksource0/available_clocksource", "tsc hpet\n");
        tree.Write("/sys/kernel/mm/transparent_hugepage/enabled", "always madvise [never]\n");
        tree.Write("/proc/cmdline", "quiet isolcpus=2-3 nohz_full=2-3");
        tree.Write("/proc/self/status", "VmLck:\t0 kB\nCapEff:\t0000000000004000\n");

        IReadOnlyList<DoctorFinding> findings = LatencyDoctor.Run(new DoctorOptions { StageCores = [2, 3], ProbePinning = false, MeasureRoundTrip = false }, tree.Files);
        Dictionary<string, DoctorFinding> byCheck = findings.ToDictionary(f => f.Check);
        foreach (string check in new[] { "SMT siblings", "isolated cores (isolcpus)", "tickless cores (nohz_full)", "frequency governor", "clock source", "transparent huge pages", "memory lock limit" })
        {
            Assert.That(byCheck[check].Status, Is.EqualTo(DoctorStatus.Ok), $"{check}: {byCheck[check].Observed} — {byCheck[check].Meaning}");
        }

        Assert.That(byCheck["CPUs"].Observed, Does.StartWith("online 0-3"));
        Assert.That(byCheck["mlockall"].Observed, Is.EqualTo("not requested"));
        Assert.That(findings, Has.All.Matches<DoctorFinding>(f => f.Observed.Length > 0 && f.Meaning.Length > 0), "every finding says what it saw and what it means");
    }

    [Test]
    public void DoctorOnAnUntunedFakeSystemNamesEachHazard()
    {
        using var tree = new FakeSystemTree();
        tree.Write("/sys/devices/system/cpu/online", "0-3");
        tree.Write("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list", "0-1");
        tree.Write("/sys/devices/system/cpu/cpu1/topology/thread_siblings_list", "0-1");
        tree.Write("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "powersave");
        tree.Write("/sys/devices/system/clocksource/clocksource0/current_clocksource", "hpet");
        tree.Write("/sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never");

        IReadOnlyList<DoctorFinding> findings = LatencyDoctor.Run(new DoctorOptions { StageCores = [0, 1], ProbePinning = false, MeasureRoundTrip = false }, tree.Files);
        string[] hazards = [.. findings.Where(f => f.Status == DoctorStatus.Hazard).Select(f => f.Check)];
        Assert.That(hazards, Is.SupersetOf(new[] { "SMT siblings", "isolated cores (isolcpus)", "tickless cores (nohz_full)", "frequency governor", "clock source", "transparent huge pages" }));
    }

    [Test]
    public void DoctorCommandRejectsAMalformedCoreList() =>
        Assert.That(Commands.Doctor("1-x", lockMemory: false, roundTrip: false), Is.EqualTo(2));

    [Test]
    public void DoctorCommandLocksMemoryInItsOwnProcessAndSaysWhetherItTookEffect()
    {
        // mlockall locks the whole process: run it in a child, never in the test host.
        string exe = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "Engine.Cli.exe" : "Engine.Cli");
        if (!File.Exists(exe))
        {
            Assert.Ignore($"{exe} not built next to the tests");
        }

        var start = new ProcessStartInfo(exe, ["doctor", "--cores", "0", "--mlockall", "--no-round-trip"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string errors = process.StandardError.ReadToEnd();
        Assert.That(process.WaitForExit(60_000), Is.True);
        Assert.That(process.ExitCode, Is.Zero, output + errors);
        foreach (string check in new[] { "SMT siblings", "isolated cores", "tickless cores", "frequency governor", "clock source", "memory lock limit", "transparent huge pages", "pin to CPU 0" })
        {
            Assert.That(output, Does.Contain(check));
        }

        Assert.That(output, Does.Match("mlockall +│ +(ok|hazard) +│ +(took effect|did not take effect)"), output);
        Assert.That(output, Does.Contain("hazard(s)"));
    }
}
