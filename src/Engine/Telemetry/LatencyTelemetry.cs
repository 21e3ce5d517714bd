using System.Runtime.CompilerServices;
using HdrHistogram;

namespace Engine.Telemetry;

/// <summary>
/// One HdrHistogram <see cref="Recorder"/> per <see cref="LatencyStage"/> (ns, 3 significant digits,
/// up to 10 s), a background thread that cuts an interval every <see cref="Interval"/> and appends it
/// to an .hlog, and running totals for the end-of-run table.
/// </summary>
/// <remarks>
/// <see cref="Record"/> is wait-free and allocation-free: one writer thread per stage (the stage
/// thread), swapped against the reader by the recorder's writer-reader phaser, so the reader never
/// blocks the writer. Values above <see cref="HighestTrackableNs"/> are clamped to it (and counted),
/// never thrown. The interval thread is a normal-priority background thread: do not pin it to a hot core.
/// </remarks>
public sealed class LatencyTelemetry : IDisposable
{
    /// <summary>Largest value tracked: 10 s in ns.</summary>
    public const long HighestTrackableNs = 10_000_000_000;

    /// <summary>Significant decimal digits kept.</summary>
    public const int SignificantDigits = 3;

    private readonly Recorder[] _recorders;
    private readonly HistogramBase[] _recycle;
    private readonly LongHistogram[] _totals;
    private readonly HlogWriter? _log;
    private readonly Lock _gate = new();
    private readonly ManualResetEventSlim _stop = new(false);
    private Thread? _thread;
    private long _lastCutMs;
    private long _clamped;

    /// <summary>Creates recorders; when <paramref name="hlog"/> is given, intervals are appended to it (the stream is owned and closed).</summary>
    public LatencyTelemetry(Stream? hlog = null, TimeSpan? interval = null)
    {
        int n = LatencyStages.All.Count;
        _recorders = new Recorder[n];
        _recycle = new HistogramBase[n];
        _totals = new LongHistogram[n];
        for (int i = 0; i < n; i++)
        {
            _recorders[i] = new Recorder(1, HighestTrackableNs, SignificantDigits, (id, low, high, digits) => new TelemetryHistogram(id, low, high, digits));
            _totals[i] = new LongHistogram(HighestTrackableNs, SignificantDigits);

            // Take one (empty) interval now so every later cut recycles instead of allocating.
            _recycle[i] = _recorders[i].GetIntervalHistogram();
        }

        Interval = interval ?? TimeSpan.FromSeconds(1);
        StartTime = DateTimeOffset.UtcNow;
        _lastCutMs = StartTime.ToUnixTimeMilliseconds();
        if (hlog is not null)
        {
            _log = new HlogWriter(hlog, StartTime, ((TelemetryHistogram)_recycle[0]).CountsLength);
            _log.Comment("[engine latency log: values in ns; tags " + string.Join(", ", LatencyStages.All.Select(LatencyStages.Tag)) + "]");
            _log.Flush();
        }
    }

    /// <summary>Interval length of the .hlog.</summary>
    public TimeSpan Interval { get; }

    /// <summary>When recording started (the log's start and base time).</summary>
    public DateTimeOffset StartTime { get; }

    /// <summary>Values that exceeded <see cref="HighestTrackableNs"/> and were recorded as it.</summary>
    public long ClampedValues => Interlocked.Read(ref _clamped);

    /// <summary>Records <paramref name="nanoseconds"/> for <paramref name="stage"/>. One writer thread per stage; wait-free.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(LatencyStage stage, long nanoseconds)
    {
        if ((ulong)nanoseconds > HighestTrackableNs)
        {
            nanoseconds = Clamp(nanoseconds);
        }

        _recorders[(int)stage].RecordValue(nanoseconds);
    }

    /// <summary>Starts the background interval thread (only useful with an .hlog).</summary>
    public void Start()
    {
        if (_log is null || _thread is not null)
        {
            return;
        }

        _thread = new Thread(IntervalLoop) { IsBackground = true, Name = "telemetry-hlog", Priority = ThreadPriority.BelowNormal };
        _thread.Start();
    }

    /// <summary>Stops the interval thread and cuts a last interval, so the totals hold every recorded value.</summary>
    public void Stop()
    {
        _stop.Set();
        _thread?.Join();
        _thread = null;
        Cut();
        _log?.Flush();
    }

    /// <summary>Every value recorded for <paramref name="stage"/> up to the last interval cut (a copy).</summary>
    public HistogramBase Total(LatencyStage stage)
    {
        lock (_gate)
        {
            return _totals[(int)stage].Copy();
        }
    }

    /// <summary>Percentiles of every stage up to the last cut.</summary>
    public IReadOnlyList<LatencySummary> Summaries() =>
        [.. LatencyStages.All.Select(s => LatencySummary.From(LatencyStages.Tag(s), Total(s)))];

    /// <summary>Cuts an interval now: moves what the recorders hold into the totals and the log.</summary>
    public void Cut()
    {
        lock (_gate)
        {
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (int i = 0; i < _recorders.Length; i++)
            {
                HistogramBase interval = _recorders[i].GetIntervalHistogram(_recycle[i]);
                // Our own wall-clock bounds: the recorder stamps local time.
                interval.StartTimeStamp = _lastCutMs;
                interval.EndTimeStamp = Math.Max(now, _lastCutMs + 1);
                interval.Tag = LatencyStages.Tag((LatencyStage)i);
                _totals[i].Add(interval);
                if (_log is not null && interval.TotalCount > 0)
                {
                    _log.Append((TelemetryHistogram)interval);
                }

                _recycle[i] = interval;
            }

            _lastCutMs = now;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_thread is not null)
        {
            Stop();
        }

        _log?.Dispose();
        _stop.Dispose();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long Clamp(long nanoseconds)
    {
        Interlocked.Increment(ref _clamped);
        return nanoseconds < 0 ? 0 : HighestTrackableNs;
    }

    private void IntervalLoop()
    {
        while (!_stop.Wait(Interval))
        {
            Cut();
            _log!.Flush();
        }
    }
}
