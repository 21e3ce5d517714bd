using Engine.Native;

namespace Engine.Telemetry;

/// <summary>
/// The platform's own latency, measured as jHiccup does: an otherwise idle thread sleeps for
/// <see cref="Resolution"/> again and again and records how much later than the shortest sleep it
/// observed it woke up, into its own histogram (tag <c>hiccup</c>) beside the stages. Whatever
/// stalls it — the hypervisor, the kernel, a GC, another process — stalls a hot thread the same
/// way, so every tail percentile of the pipeline can be read against the hiccups of the same interval.
/// </summary>
/// <remarks>
/// <para>The meter thread sets its Linux timer slack to 1 ns (<see cref="TimerSlack"/>), so sleeps
/// end when asked and the measured lateness is the platform's, not the kernel's timer batching.</para>
/// <para>Sleeping, not spinning: on a 2-core machine whose two cores are taken by spinning feed and
/// stage threads, a spinning meter would steal a core from them. A 1 ms sleep costs a wake-up (a few µs
/// of CPU) per millisecond. A stall longer than the resolution is recorded with HdrHistogram's
/// expected-interval correction (the samples the meter could not take while stalled), as jHiccup does.</para>
/// <para>The thread is a normal-priority background thread (a below-normal one would measure its own
/// low priority): start the meter from a thread that is not pinned to a hot core. Recording allocates nothing.</para>
/// </remarks>
public sealed class HiccupMeter : IDisposable
{
    /// <summary>The .hlog tag and metrics stage of the hiccup histogram.</summary>
    public const string Tag = "hiccup";

    private readonly LatencyRecorder _recorder;
    private readonly BackgroundThread _thread = new("hiccup-meter", ThreadPriority.Normal);
    private volatile bool _stopping;

    /// <summary>Registers the <c>hiccup</c> histogram in <paramref name="telemetry"/>. Default resolution 1 ms.</summary>
    public HiccupMeter(LatencyTelemetry telemetry, TimeSpan? resolution = null)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        Resolution = resolution ?? TimeSpan.FromMilliseconds(1);
        if (Resolution <= TimeSpan.Zero || Resolution > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(resolution), Resolution, "The hiccup meter's resolution must be in (0, 1 s].");
        }

        _recorder = telemetry.Register(Tag);
        telemetry.Hiccup = _recorder;
    }

    /// <summary>How long each sleep asks for.</summary>
    public TimeSpan Resolution { get; }

    /// <summary>The hiccup histogram.</summary>
    public LatencyRecorder Recorder => _recorder;

    /// <summary>Wake-ups measured.</summary>
    public long Samples { get; private set; }

    /// <summary>The shortest sleep observed, ns: the baseline that lateness is measured from.</summary>
    public long ShortestSleepNs { get; private set; }

    /// <summary>The meter thread's timer slack once running (ns; Linux), null where the OS has none or refused to set it.</summary>
    public long? TimerSlackNs { get; private set; }

    /// <summary>
    /// Where the background thread may run (see <see cref="CpuAffinity.BackgroundCpus"/>): set before
    /// <see cref="Start"/>; the thread restricts itself to it when it starts. Default: unrestricted.
    /// </summary>
    public BackgroundCpuSet BackgroundCpus { get => _thread.Cpus; set => _thread.Cpus = value; }

    /// <summary>What pinning the background thread achieved (null when <see cref="BackgroundCpus"/> restricts nothing, or before the thread ran). Written by that thread; read it after <c>Stop</c>.</summary>
    public AffinityResult? BackgroundAffinity => _thread.Affinity;

    /// <summary>Starts the meter thread.</summary>
    public void Start() => _thread.Start(Run);

    /// <summary>Stops the meter (within one resolution).</summary>
    public void Stop()
    {
        _stopping = true;
        _thread.Join();
    }

    /// <inheritdoc />
    public void Dispose() => Stop();

    private void Run()
    {
        // Without this every sleep ends up to the default 50 µs slack late, and lateness measured from the
        // shortest sleep would be the slack (p50 ~55 µs), not the platform.
        TimerSlackNs = TimerSlack.SetCurrentThread(1);
        long resolutionNs = (long)Resolution.TotalNanoseconds;
        long shortest = long.MaxValue;
        long samples = 0;
        while (!_stopping)
        {
            long before = MonotonicClock.NowNs();
            Thread.Sleep(Resolution);
            long slept = MonotonicClock.NowNs() - before;
            if (slept < shortest)
            {
                shortest = slept;
                ShortestSleepNs = shortest;
            }

            // Lateness beyond the best wake-up seen: the sleep's own overhead (timer slack, wake-up) is not a hiccup.
            _recorder.RecordWithExpectedInterval(slept - shortest, resolutionNs);
            Samples = ++samples;
        }
    }
}
