using System.Runtime.CompilerServices;
using Engine.Native;
using HdrHistogram;

namespace Engine.Telemetry;

/// <summary>
/// The engine's latency telemetry: one <see cref="LatencyRecorder"/> (HdrHistogram, ns, 3 significant
/// digits, up to 10 s) per <see cref="LatencyStage"/>, per model (<see cref="ForModel"/>) and per extra
/// source (the <see cref="HiccupMeter"/>), a background thread that cuts an interval every
/// <see cref="Interval"/> and appends it to an .hlog, running totals for reports, GC jitter, and the
/// <see cref="Counters"/> registry.
/// </summary>
/// <remarks>
/// <para>Recording (<see cref="Record"/>, <see cref="LatencyRecorder.Record"/>) is wait-free and
/// allocation-free, for one writer thread per histogram: the recorder's writer-reader phaser swaps the
/// histogram under the writer, so the reader never blocks it.</para>
/// <para>The interval thread is a below-normal-priority background thread created by <see cref="Start"/>.
/// A thread inherits its creator's CPU mask: call <see cref="Start"/> from a thread that is not pinned
/// to a hot core. The thread reuses every buffer (allocating on it would feed the collections that
/// pause the hot threads); in steady state it allocates only the zlib stream object of each .hlog line.</para>
/// <para>Registration (<see cref="ForModel"/>, <see cref="Register"/>, <see cref="RingHandOff"/>) is a
/// start-up step. Readers (<see cref="Total(LatencyStage)"/>, <see cref="Summaries"/>, the metrics
/// endpoint) see what was recorded up to the last cut.</para>
/// </remarks>
public sealed class LatencyTelemetry : IDisposable
{
    /// <summary>Largest value tracked: 10 s in ns.</summary>
    public const long HighestTrackableNs = 10_000_000_000;

    /// <summary>Significant decimal digits kept.</summary>
    public const int SignificantDigits = 3;

    private readonly LatencyRecorder[] _stages;
    private readonly HlogWriter? _log;
    private readonly Lock _gate = new();
    private readonly ManualResetEventSlim _stop = new(false);
    private readonly GcJitterTracker _gc = new();
    private readonly Dictionary<string, ModelLatency> _models = new(StringComparer.Ordinal);
    private readonly BackgroundThread _thread = new("telemetry-hlog", ThreadPriority.BelowNormal);

    // Replaced (copy on write) under _gate by registration; read under _gate by cuts and readers.
    private LatencyRecorder[] _channels;
    private RingHandOffTimer? _ringHandOff;
    private long _lastCutMs;
    private long _intervals;

    /// <summary>Creates the stage recorders; when <paramref name="hlog"/> is given, intervals are appended to it (the stream is owned and closed).</summary>
    public LatencyTelemetry(Stream? hlog = null, TimeSpan? interval = null)
    {
        LatencyStage[] values = Enum.GetValues<LatencyStage>();
        _stages = new LatencyRecorder[values.Length];
        foreach (LatencyStage stage in LatencyStages.All)
        {
            _stages[(int)stage] = new LatencyRecorder(LatencyStages.Tag(stage), null);
        }

        _channels = [.. LatencyStages.All.Select(s => _stages[(int)s])];
        Interval = interval ?? TimeSpan.FromSeconds(1);
        if (Interval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(interval), Interval, "The interval must be positive.");
        }

        StartTime = DateTimeOffset.UtcNow;
        _lastCutMs = StartTime.ToUnixTimeMilliseconds();
        if (hlog is not null)
        {
            _log = new HlogWriter(hlog, StartTime, ((TelemetryHistogram)_stages[0].Interval).CountsLength);
            _log.Comment("[engine latency log: values in ns (Interval_Max in ms); tags are stages (" + string.Join(", ", LatencyStages.All.Select(LatencyStages.Tag)) + "), stage:model per model, and hiccup (the platform's own stalls)]");
            _log.Flush();
        }
    }

    /// <summary>Interval length of the .hlog.</summary>
    public TimeSpan Interval { get; }

    /// <summary>When recording started (the log's start and base time).</summary>
    public DateTimeOffset StartTime { get; }

    /// <summary>The counters exported beside the histograms (registration point for feeds and stages).</summary>
    public TelemetryCounters Counters { get; } = new();

    /// <summary>Values, over every histogram, that exceeded the tracked range and were recorded clamped.</summary>
    public long ClampedValues => Channels.Sum(r => r.ClampedValues);

    /// <summary>Every histogram: the stages in path order, then per-model and extra ones in registration order.</summary>
    public IReadOnlyList<LatencyRecorder> Channels
    {
        get
        {
            lock (_gate)
            {
                return _channels;
            }
        }
    }

    /// <summary>GC collections and pause time since <see cref="Start"/> (or construction), as of the last cut.</summary>
    public GcJitter Gc
    {
        get
        {
            lock (_gate)
            {
                return _gc.Current;
            }
        }
    }

    /// <summary>Intervals cut so far.</summary>
    public long Intervals => Interlocked.Read(ref _intervals);

    /// <summary>The platform hiccup histogram, when a <see cref="HiccupMeter"/> records into this telemetry.</summary>
    public LatencyRecorder? Hiccup { get; internal set; }

    /// <summary>The publish/ring-wait timer, when <see cref="RingHandOff"/> created one.</summary>
    public RingHandOffTimer? RingHandOffTimer => Volatile.Read(ref _ringHandOff);

    /// <summary>The histogram of <paramref name="stage"/> (all models merged). Record from one thread.</summary>
    public LatencyRecorder Stage(LatencyStage stage) => _stages[(int)stage];

    /// <summary>Records <paramref name="nanoseconds"/> for <paramref name="stage"/>. One writer thread per stage; wait-free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(LatencyStage stage, long nanoseconds) => _stages[(int)stage].Record(nanoseconds);

    /// <summary>
    /// The per-model histograms of <paramref name="model"/> (created on first call; the same object after).
    /// The name is reduced to <c>[A-Za-z0-9_.-]</c> for tags and labels. Start-up only.
    /// </summary>
    public ModelLatency ForModel(string model)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        string name = SanitizeName(model);
        lock (_gate)
        {
            if (_models.TryGetValue(name, out ModelLatency? existing))
            {
                return existing;
            }

            LatencyRecorder Child(LatencyStage stage)
            {
                var child = new LatencyRecorder(LatencyStages.Tag(stage), name);
                _stages[(int)stage].AddChild(child);
                _channels = [.. _channels, child];
                return child;
            }

            var latency = new ModelLatency(name, Child(LatencyStage.Features), Child(LatencyStage.Inference), Child(LatencyStage.Signal), Child(LatencyStage.TickToSignal));
            _models.Add(name, latency);
            return latency;
        }
    }

    /// <summary>Registers an extra histogram tagged <paramref name="tag"/> (e.g. <c>hiccup</c>, a harness's own). Start-up only.</summary>
    public LatencyRecorder Register(string tag)
    {
        string name = SanitizeName(tag);
        lock (_gate)
        {
            foreach (LatencyRecorder r in _channels)
            {
                if (r.Tag == name)
                {
                    throw new ArgumentException($"A histogram tagged '{name}' is already registered.", nameof(tag));
                }
            }

            var recorder = new LatencyRecorder(name, null);
            _channels = [.. _channels, recorder];
            return recorder;
        }
    }

    /// <summary>
    /// Creates (once) the timer of the ring hand-off for a ring of <paramref name="ringCapacity"/> slots:
    /// the producer records <see cref="LatencyStage.Publish"/>, the consumer <see cref="LatencyStage.RingWait"/>.
    /// Start-up only.
    /// </summary>
    public RingHandOffTimer RingHandOff(int ringCapacity)
    {
        lock (_gate)
        {
            if (_ringHandOff is { } existing)
            {
                return existing.Capacity == ringCapacity ? existing : throw new InvalidOperationException($"The ring hand-off timer was created for {existing.Capacity} slots, not {ringCapacity}.");
            }

            var timer = new RingHandOffTimer(ringCapacity, Stage(LatencyStage.Publish), Stage(LatencyStage.RingWait), Stage(LatencyStage.ExchangeToReceive));
            Volatile.Write(ref _ringHandOff, timer);
            return timer;
        }
    }

    /// <summary>
    /// Where the background thread may run (see <see cref="CpuAffinity.BackgroundCpus"/>): set before
    /// <see cref="Start"/>; the thread restricts itself to it when it starts. Default: unrestricted.
    /// </summary>
    public BackgroundCpuSet BackgroundCpus { get => _thread.Cpus; set => _thread.Cpus = value; }

    /// <summary>What pinning the background thread achieved (null when <see cref="BackgroundCpus"/> restricts nothing, or before the thread ran). Written by that thread; read it after <c>Stop</c>.</summary>
    public AffinityResult? BackgroundAffinity => _thread.Affinity;

    /// <summary>Starts the background interval thread (see the remarks on pinning).</summary>
    public void Start()
    {
        if (_thread.Started)
        {
            return;
        }

        lock (_gate)
        {
            // GC jitter counts from the start of recording, not from construction (model loading collects).
            _gc.Reset();
        }

        _thread.Start(IntervalLoop);
    }

    /// <summary>Stops the interval thread and cuts a last interval, so the totals hold every recorded value.</summary>
    public void Stop()
    {
        _stop.Set();
        _thread.Join();
        Cut();
        lock (_gate)
        {
            _log?.Flush();
        }
    }

    /// <summary>Every value recorded for <paramref name="stage"/> (all models) up to the last interval cut (a copy).</summary>
    public HistogramBase Total(LatencyStage stage)
    {
        lock (_gate)
        {
            return _stages[(int)stage].Total.Copy();
        }
    }

    /// <summary>Every value recorded in the histogram tagged <paramref name="tag"/> up to the last cut (a copy), or null when there is none.</summary>
    public HistogramBase? Total(string tag)
    {
        lock (_gate)
        {
            foreach (LatencyRecorder r in _channels)
            {
                if (r.Tag == tag)
                {
                    return r.Total.Copy();
                }
            }
        }

        return null;
    }

    /// <summary>Percentiles of every stage (all models merged) up to the last cut, in path order, empty stages included.</summary>
    public IReadOnlyList<LatencySummary> Summaries()
    {
        lock (_gate)
        {
            return [.. LatencyStages.All.Select(s => Summarize(_stages[(int)s]))];
        }
    }

    /// <summary>Percentiles of every histogram (stages, per model, extra) up to the last cut, with the per-interval maxima.</summary>
    public IReadOnlyList<LatencySummary> AllSummaries()
    {
        lock (_gate)
        {
            return [.. _channels.Select(Summarize)];
        }
    }

    /// <summary>Cuts an interval now: moves what the recorders hold into the totals and the log. Any thread; allocates nothing but the log's zlib stream.</summary>
    public void Cut()
    {
        lock (_gate)
        {
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            LatencyRecorder[] channels = _channels;
            for (int i = 0; i < channels.Length; i++)
            {
                channels[i].Swap();
            }

            for (int i = 0; i < channels.Length; i++)
            {
                channels[i].Complete(_lastCutMs, now);
                TelemetryHistogram interval = channels[i].Interval;
                if (_log is not null && interval.TotalCount > 0)
                {
                    _log.Append(interval);
                }
            }

            if (_gc.Sample() && _log is not null)
            {
                (int g0, int g1, int g2, TimeSpan pause) = _gc.LastInterval;
                _log.GcComment((_lastCutMs / 1000.0) - _log.BaseTimeSeconds, g0, g1, g2, pause.TotalMilliseconds);
            }

            _lastCutMs = now;
            Interlocked.Increment(ref _intervals);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_thread.Started)
        {
            Stop();
        }

        _log?.Dispose();
        _stop.Dispose();
    }

    /// <summary>Runs <paramref name="read"/> under the telemetry lock (the metrics thread reads intervals and totals with it held).</summary>
    internal T Read<T>(Func<IReadOnlyList<LatencyRecorder>, GcJitterTracker, T> read)
    {
        lock (_gate)
        {
            return read(_channels, _gc);
        }
    }

    private static LatencySummary Summarize(LatencyRecorder r) =>
        LatencySummary.From(r.Tag, r.Total) with
        {
            Stage = r.Stage,
            Model = r.Model,
            Intervals = r.IntervalMaxes.TotalCount,
            IntervalMaxP50 = r.IntervalMaxes.TotalCount == 0 ? 0 : r.IntervalMaxes.GetValueAtPercentile(50),
        };

    private static string SanitizeName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return string.Create(name.Length, name, static (span, source) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                char c = source[i];
                span[i] = char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' ? c : '_';
            }
        });
    }

    private void IntervalLoop()
    {
        while (!_stop.Wait(Interval))
        {
            Cut();
            lock (_gate)
            {
                _log?.Flush();
            }
        }
    }
}
