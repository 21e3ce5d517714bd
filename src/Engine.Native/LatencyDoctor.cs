using System.Globalization;

namespace Engine.Native;

/// <summary>How a doctor finding reads.</summary>
public enum DoctorStatus
{
    /// <summary>Set up for low latency.</summary>
    Ok,

    /// <summary>Something that will show up as latency (jitter, stalls, slower hand-offs).</summary>
    Hazard,

    /// <summary>A fact worth knowing; neither good nor bad by itself.</summary>
    Info,
}

/// <summary>One line of the doctor's report.</summary>
/// <param name="Check">What was looked at.</param>
/// <param name="Status">How it reads.</param>
/// <param name="Observed">What the system reported (the raw value).</param>
/// <param name="Meaning">What it means for latency, and what to do about it.</param>
public sealed record DoctorFinding(string Check, DoctorStatus Status, string Observed, string Meaning);

/// <summary>What the doctor is asked to check.</summary>
public sealed record DoctorOptions
{
    /// <summary>CPUs the critical stages will be pinned to; empty: judge every online CPU.</summary>
    public IReadOnlyList<int> StageCores { get; init; } = [];

    /// <summary>Call <c>mlockall</c> and report whether it took effect (locks this process's memory).</summary>
    public bool LockMemory { get; init; }

    /// <summary>Pin a probe thread to each stage core and report what the kernel granted.</summary>
    public bool ProbePinning { get; init; } = true;

    /// <summary>Measure the cache-line round trip between the first two stage cores (or the first two online CPUs).</summary>
    public bool MeasureRoundTrip { get; init; } = true;
}

/// <summary>
/// The start-up report of latency hazards (<c>engine doctor</c>): SMT siblings, isolated and tickless
/// cores, the frequency governor, the clock source and its read cost, transparent huge pages, the
/// memory-lock limit, and optionally <c>mlockall</c> and pinning probes, each saying whether it took effect.
/// </summary>
/// <remarks>Cold path; reads <c>/proc</c> and <c>/sys</c> through <see cref="SystemFiles"/>. Never throws for what the system lacks: it says so.</remarks>
public static class LatencyDoctor
{
    private const string CpuRoot = "/sys/devices/system/cpu";

    /// <summary>Runs every check on the live system.</summary>
    public static IReadOnlyList<DoctorFinding> Run(DoctorOptions options) => Run(options, SystemFiles.Live);

    /// <summary>Runs every check against <paramref name="files"/> (live probes such as pinning still act on this process).</summary>
    public static IReadOnlyList<DoctorFinding> Run(DoctorOptions options, SystemFiles files)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(files);
        IReadOnlyList<int> online = OnlineCpus(files);
        string cmdline = files.Read("/proc/cmdline") ?? string.Empty;
        var findings = new List<DoctorFinding>
        {
            CheckCpus(online, CpuAffinity.CurrentThreadCpus()),
            CheckSmt(SmtSiblings(files, online), options.StageCores),
            CheckIsolated(files.Read($"{CpuRoot}/isolated"), KernelArgument(cmdline, "isolcpus"), online, options.StageCores),
            CheckTickless(files.Read($"{CpuRoot}/nohz_full"), KernelArgument(cmdline, "nohz_full"), online, options.StageCores),
            CheckGovernor(Governors(files, online)),
            CheckClockSource(files.Read("/sys/devices/system/clocksource/clocksource0/current_clocksource"), files.Read("/sys/devices/system/clocksource/clocksource0/available_clocksource")),
            CheckClockReadCost(MeasureClockReadNs()),
            CheckTransparentHugePages(files.Read("/sys/kernel/mm/transparent_hugepage/enabled")),
            CheckMemlockLimit(MemoryLock.Limit(), MemoryLock.HasIpcLockCapability(files)),
        };

        findings.Add(options.LockMemory
            ? CheckMemoryLock(MemoryLock.LockAll())
            : new DoctorFinding("mlockall", DoctorStatus.Info, "not requested", "pass --mlockall to lock this process's memory and see whether it takes effect"));

        if (options.ProbePinning)
        {
            foreach (int core in options.StageCores)
            {
                findings.Add(CheckPinning(ProbePin(core)));
            }
        }

        if (options.MeasureRoundTrip)
        {
            IReadOnlyList<int> pair = options.StageCores.Count >= 2 ? options.StageCores : online;
            findings.Add(pair.Count >= 2
                ? CheckRoundTrip(CoreToCore.MeasureRoundTrip(pair[0], pair[1], batches: 300, timeLimit: TimeSpan.FromSeconds(1)))
                : new DoctorFinding("core-to-core round trip", DoctorStatus.Info, "one CPU", "no second CPU to hand off to"));
        }

        return findings;
    }

    /// <summary>Online CPUs and the CPUs this thread may use.</summary>
    public static DoctorFinding CheckCpus(IReadOnlyList<int> online, IReadOnlyList<int> allowed)
    {
        ArgumentNullException.ThrowIfNull(online);
        ArgumentNullException.ThrowIfNull(allowed);
        string observed = $"online {CpuList.Format(online)}; this process may use {CpuList.Format(allowed)}";
        return online.Count <= 2
            ? new DoctorFinding("CPUs", DoctorStatus.Hazard, observed, "two busy-spinning threads (feed and stage) take every CPU: the kernel, timers and every other thread preempt them; expect millisecond stalls in the tail")
            : new DoctorFinding("CPUs", DoctorStatus.Info, observed, "leave one CPU for the OS beside the pinned stages");
    }

    /// <summary>SMT siblings among the stage cores (or among all online CPUs).</summary>
    public static DoctorFinding CheckSmt(IReadOnlyDictionary<int, IReadOnlyList<int>> siblings, IReadOnlyList<int> stageCores)
    {
        ArgumentNullException.ThrowIfNull(siblings);
        ArgumentNullException.ThrowIfNull(stageCores);
        if (siblings.Count == 0)
        {
            return new DoctorFinding("SMT siblings", DoctorStatus.Info, "topology not readable", "cannot tell whether CPUs share a physical core");
        }

        var shared = siblings.Where(kv => kv.Value.Count > 1).ToList();
        string observed = shared.Count == 0
            ? "every online CPU is its own core (thread_siblings_list)"
            : string.Join("; ", shared.Select(kv => kv.Value).DistinctBy(CpuList.Format).Select(s => $"{{{CpuList.Format(s)}}}"));
        if (stageCores.Count == 0)
        {
            return shared.Count == 0
                ? new DoctorFinding("SMT siblings", DoctorStatus.Ok, observed, "no hyperthread pairs visible (a VM cannot see whether its vCPUs share a host core)")
                : new DoctorFinding("SMT siblings", DoctorStatus.Hazard, observed, "SMT is on: pin critical stages so no two share a core, and keep their siblings idle");
        }

        foreach (int a in stageCores)
        {
            if (!siblings.TryGetValue(a, out IReadOnlyList<int>? ofA))
            {
                continue;
            }

            foreach (int b in stageCores)
            {
                if (a < b && ofA.Contains(b))
                {
                    return new DoctorFinding("SMT siblings", DoctorStatus.Hazard, observed, $"stage cores {a} and {b} are hyperthreads of one physical core: they share execution units and L1/L2; pin critical stages to different cores");
                }
            }

            int[] busy = [.. ofA.Where(s => s != a && !stageCores.Contains(s))];
            if (busy.Length > 0)
            {
                return new DoctorFinding("SMT siblings", DoctorStatus.Hazard, observed, $"stage core {a} shares its physical core with CPU {CpuList.Format(busy)}: keep that sibling idle (isolate it or take it offline)");
            }
        }

        return new DoctorFinding("SMT siblings", DoctorStatus.Ok, observed, "no stage core shares a physical core with another CPU");
    }

    /// <summary>Whether the stage cores are isolated from the scheduler (<c>isolcpus</c>).</summary>
    public static DoctorFinding CheckIsolated(string? sysIsolated, string? cmdlineIsolcpus, IReadOnlyList<int> online, IReadOnlyList<int> stageCores)
    {
        ArgumentNullException.ThrowIfNull(online);
        ArgumentNullException.ThrowIfNull(stageCores);
        IReadOnlyList<int> isolated = ParseFlaggedList(sysIsolated) ?? ParseFlaggedList(cmdlineIsolcpus) ?? [];
        string observed = $"isolated: {(isolated.Count == 0 ? "none" : CpuList.Format(isolated))} (/sys/devices/system/cpu/isolated{(cmdlineIsolcpus is null ? string.Empty : $", isolcpus={cmdlineIsolcpus}")})";
        return Judge("isolated cores (isolcpus)", observed, isolated, online, stageCores,
            "the scheduler may run other threads and kernel work on the stage cores: boot with isolcpus=<stage cores> (and pin the stages there)");
    }

    /// <summary>Whether the stage cores run without the periodic scheduler tick (<c>nohz_full</c>).</summary>
    public static DoctorFinding CheckTickless(string? sysNohzFull, string? cmdlineNohzFull, IReadOnlyList<int> online, IReadOnlyList<int> stageCores)
    {
        ArgumentNullException.ThrowIfNull(online);
        ArgumentNullException.ThrowIfNull(stageCores);
        IReadOnlyList<int> tickless = ParseFlaggedList(sysNohzFull) ?? ParseFlaggedList(cmdlineNohzFull) ?? [];
        string observed = $"nohz_full: {(tickless.Count == 0 ? "none" : CpuList.Format(tickless))}";
        return Judge("tickless cores (nohz_full)", observed, tickless, online, stageCores,
            "the timer tick interrupts the stage cores (every 1-4 ms, a few µs each): boot with nohz_full=<stage cores> rcu_nocbs=<stage cores>");
    }

    /// <summary>The CPU frequency governor of each online CPU.</summary>
    public static DoctorFinding CheckGovernor(IReadOnlyDictionary<int, string> governors)
    {
        ArgumentNullException.ThrowIfNull(governors);
        if (governors.Count == 0)
        {
            return new DoctorFinding("frequency governor", DoctorStatus.Info, "no cpufreq interface", "typical of a VM: the frequency is the hypervisor's to choose, and invisible here");
        }

        string observed = string.Join(", ", governors.GroupBy(g => g.Value, StringComparer.Ordinal).Select(g => $"{g.Key} on {CpuList.Format(g.Select(x => x.Key))}"));
        return governors.Values.All(g => g == "performance")
            ? new DoctorFinding("frequency governor", DoctorStatus.Ok, observed, "cores stay at full frequency")
            : new DoctorFinding("frequency governor", DoctorStatus.Hazard, observed, "a core that idles down takes tens of µs to ramp back up: set the governor to performance (cpupower frequency-set -g performance)");
    }

    /// <summary>The kernel clock source (what <c>Stopwatch</c> and every latency stamp read).</summary>
    public static DoctorFinding CheckClockSource(string? current, string? available)
    {
        string observed = $"{current ?? "unknown"} (available: {available ?? "unknown"})";
        return current switch
        {
            null => new DoctorFinding("clock source", DoctorStatus.Info, observed, "clock source not readable"),
            "tsc" => new DoctorFinding("clock source", DoctorStatus.Ok, observed, "timestamps are read from the TSC in user space (vDSO), tens of ns per read"),
            _ => new DoctorFinding("clock source", DoctorStatus.Hazard, observed, $"'{current}' is slower to read than tsc (hpet and acpi_pm need a system call, µs per read; kvm-clock adds work per read): use clocksource=tsc if the TSC is stable"),
        };
    }

    /// <summary>What one read of <see cref="MonotonicClock.NowNs"/> costs here.</summary>
    public static DoctorFinding CheckClockReadCost(double nanosecondsPerRead)
    {
        string observed = string.Create(CultureInfo.InvariantCulture, $"{nanosecondsPerRead:F1} ns per MonotonicClock.NowNs()");
        return nanosecondsPerRead <= 100
            ? new DoctorFinding("clock read cost", DoctorStatus.Ok, observed, "cheap enough to stamp every hand-off")
            : new DoctorFinding("clock read cost", DoctorStatus.Hazard, observed, "every stamp on the hot path costs this much: check the clock source");
    }

    /// <summary>Transparent huge pages (khugepaged compaction can stall a thread).</summary>
    public static DoctorFinding CheckTransparentHugePages(string? enabled)
    {
        string? mode = enabled is null ? null : Bracketed(enabled);
        return mode switch
        {
            null => new DoctorFinding("transparent huge pages", DoctorStatus.Info, "not readable", "cannot tell"),
            "always" => new DoctorFinding("transparent huge pages", DoctorStatus.Hazard, enabled!, "khugepaged may compact and collapse pages under a running thread (stalls of ms): set it to madvise or never"),
            _ => new DoctorFinding("transparent huge pages", DoctorStatus.Ok, enabled!, "huge pages only where asked for"),
        };
    }

    /// <summary>Whether <c>mlockall</c> can lock a process of this size.</summary>
    public static DoctorFinding CheckMemlockLimit(MemlockLimit? limit, bool? capIpcLock)
    {
        string observed = limit is MemlockLimit l
            ? $"RLIMIT_MEMLOCK soft {MemlockLimit.Describe(l.Soft)}, hard {MemlockLimit.Describe(l.Hard)}; CAP_IPC_LOCK {(capIpcLock switch { true => "held", false => "not held", _ => "unknown" })}"
            : "limit unknown";
        if (capIpcLock == true)
        {
            return new DoctorFinding("memory lock limit", DoctorStatus.Ok, observed, "CAP_IPC_LOCK: mlockall is not bound by the limit");
        }

        if (limit is MemlockLimit m && (m.IsUnlimited || m.Soft >= 4UL << 30))
        {
            return new DoctorFinding("memory lock limit", DoctorStatus.Ok, observed, "large enough to lock the whole process");
        }

        return new DoctorFinding("memory lock limit", DoctorStatus.Hazard, observed, "a .NET process maps hundreds of MiB: mlockall will fail, so a page fault or swap-in can land on the hot path; raise it (ulimit -l unlimited, LimitMEMLOCK=infinity) or grant CAP_IPC_LOCK");
    }

    /// <summary>The outcome of an <c>mlockall</c> request.</summary>
    public static DoctorFinding CheckMemoryLock(MemoryLockResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new DoctorFinding("mlockall", result.Applied ? DoctorStatus.Ok : DoctorStatus.Hazard, result.Applied ? "took effect" : "did not take effect", result.Detail);
    }

    /// <summary>The outcome of pinning a probe thread to a stage core.</summary>
    public static DoctorFinding CheckPinning(AffinityResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new DoctorFinding($"pin to CPU {CpuList.Format(result.Requested)}", result.Applied ? DoctorStatus.Ok : DoctorStatus.Hazard, result.Applied ? "took effect" : "did not take effect", result.ToString());
    }

    /// <summary>The measured core-to-core round trip: the floor under every hop between stages.</summary>
    public static DoctorFinding CheckRoundTrip(RoundTripResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!result.Measured)
        {
            return new DoctorFinding("core-to-core round trip", DoctorStatus.Info, "not measured", result.Detail);
        }

        string observed = result.ToString();
        return result.MedianNs < 200
            ? new DoctorFinding("core-to-core round trip", DoctorStatus.Info, observed, "one-way hand-off floor is about half of this")
            : new DoctorFinding("core-to-core round trip", DoctorStatus.Hazard, observed, "slow cache-line transfer (over 200 ns): the cores are far apart or the VM is in a slow state; every hop pays half of it");
    }

    /// <summary>The value of <c>name=</c> on the kernel command line, or null.</summary>
    public static string? KernelArgument(string cmdline, string name)
    {
        ArgumentNullException.ThrowIfNull(cmdline);
        foreach (string arg in cmdline.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (arg == "--")
            {
                break;
            }

            if (arg.StartsWith(name, StringComparison.Ordinal) && arg.Length > name.Length && arg[name.Length] == '=')
            {
                return arg[(name.Length + 1)..];
            }
        }

        return null;
    }

    /// <summary>Parses a CPU list that may carry leading flags (<c>isolcpus=domain,managed_irq,2-5</c>); null when absent or malformed.</summary>
    public static IReadOnlyList<int>? ParseFlaggedList(string? text)
    {
        if (text is null)
        {
            return null;
        }

        string list = string.Join(',', text.Split(',').Where(p => p.Length == 0 || char.IsDigit(p[0])));
        return CpuList.TryParse(list, out IReadOnlyList<int> cpus) ? cpus : null;
    }

    /// <summary>Each online CPU's SMT siblings (itself included), from sysfs; empty when unreadable.</summary>
    public static IReadOnlyDictionary<int, IReadOnlyList<int>> SmtSiblings(SystemFiles files, IReadOnlyList<int> online)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(online);
        var result = new SortedDictionary<int, IReadOnlyList<int>>();
        foreach (int cpu in online)
        {
            if (CpuList.TryParse(files.Read($"{CpuRoot}/cpu{cpu}/topology/thread_siblings_list"), out IReadOnlyList<int> siblings) && siblings.Count > 0)
            {
                result[cpu] = siblings;
            }
        }

        return result;
    }

    /// <summary>Online CPUs from sysfs; falls back to 0..ProcessorCount-1.</summary>
    public static IReadOnlyList<int> OnlineCpus(SystemFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        return CpuList.TryParse(files.Read($"{CpuRoot}/online"), out IReadOnlyList<int> online) && online.Count > 0
            ? online
            : [.. Enumerable.Range(0, Environment.ProcessorCount)];
    }

    private static Dictionary<int, string> Governors(SystemFiles files, IReadOnlyList<int> online)
    {
        var result = new Dictionary<int, string>();
        foreach (int cpu in online)
        {
            if (files.Read($"{CpuRoot}/cpu{cpu}/cpufreq/scaling_governor") is { Length: > 0 } governor)
            {
                result[cpu] = governor;
            }
        }

        return result;
    }

    private static DoctorFinding Judge(string check, string observed, IReadOnlyList<int> set, IReadOnlyList<int> online, IReadOnlyList<int> stageCores, string hazard)
    {
        IReadOnlyList<int> cores = stageCores.Count > 0 ? stageCores : online;
        int[] missing = [.. cores.Where(c => !set.Contains(c))];
        if (missing.Length == 0)
        {
            return new DoctorFinding(check, DoctorStatus.Ok, observed, $"CPU {CpuList.Format(cores)} covered");
        }

        string whose = stageCores.Count > 0 ? "stage core" : "CPU";
        return new DoctorFinding(check, DoctorStatus.Hazard, observed, $"{whose} {CpuList.Format(missing)} not covered: {hazard}");
    }

    private static string? Bracketed(string text)
    {
        int open = text.IndexOf('[', StringComparison.Ordinal);
        int close = text.IndexOf(']', StringComparison.Ordinal);
        return open >= 0 && close > open ? text[(open + 1)..close] : text.Trim();
    }

    private static AffinityResult ProbePin(int core)
    {
        AffinityResult? result = null;
        var probe = new Thread(() => result = CpuAffinity.PinCurrentThread(core)) { IsBackground = true, Name = "doctor-pin-probe" };
        probe.Start();
        probe.Join();
        return result!;
    }

    private static double MeasureClockReadNs()
    {
        const int Reads = 1_000_000;
        long sink = 0;
        for (int i = 0; i < 10_000; i++)
        {
            sink += MonotonicClock.NowNs();
        }

        long start = MonotonicClock.NowNs();
        for (int i = 0; i < Reads; i++)
        {
            sink += MonotonicClock.NowNs();
        }

        double ns = (MonotonicClock.NowNs() - start) / (double)Reads;
        GC.KeepAlive(sink);
        return ns;
    }
}
