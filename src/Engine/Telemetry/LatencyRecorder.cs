using System.Runtime.CompilerServices;
using HdrHistogram;

namespace Engine.Telemetry;

/// <summary>
/// One latency histogram: an HdrHistogram <see cref="Recorder"/> (ns, 3 significant digits, up to
/// 10 s) that one thread records into, and what the telemetry thread made of it: the last interval,
/// the running total, the distribution of per-interval maxima. Tag <c>stage</c> or <c>stage:model</c>.
/// </summary>
/// <remarks>
/// <para><see cref="Record"/> is wait-free and allocation-free, for ONE writer thread: the recorder's
/// writer-reader phaser swaps the active histogram under the writer, so the telemetry thread never
/// blocks it. Values outside [0, <see cref="LatencyTelemetry.HighestTrackableNs"/>] are clamped and
/// counted (<see cref="ClampedValues"/>), never thrown.</para>
/// <para>A stage histogram with per-model children (<see cref="LatencyTelemetry.ForModel"/>) reports, per
/// interval, what was recorded into it directly plus everything its children recorded.</para>
/// <para>Created by <see cref="LatencyTelemetry"/>, which owns it; everything except the recording
/// methods is read on the telemetry or metrics thread under the telemetry's lock.</para>
/// </remarks>
public sealed class LatencyRecorder
{
    private readonly Recorder _recorder;
    private readonly List<LatencyRecorder> _children = [];
    private HistogramBase _recycle;
    private TelemetryHistogram _leaf;
    private readonly TelemetryHistogram _merged;
    private readonly TelemetryHistogram _total;
    private readonly TelemetryHistogram _intervalMaxes;
    private readonly long[] _lastInterval = new long[LatencySnapshot.Length];

    // Incremented by the writer thread (rare, out of line); read by any thread.
    private long _clamped;

    internal LatencyRecorder(string stage, string? model)
    {
        Stage = stage;
        Model = model;
        Tag = LatencyStages.Tag(stage, model);
        _recorder = new Recorder(1, LatencyTelemetry.HighestTrackableNs, LatencyTelemetry.SignificantDigits, (id, low, high, digits) => new TelemetryHistogram(id, low, high, digits));

        // Take one (empty) interval now so every later cut recycles instead of allocating.
        _recycle = _recorder.GetIntervalHistogram();
        _leaf = (TelemetryHistogram)_recycle;
        _merged = new TelemetryHistogram(0, 1, LatencyTelemetry.HighestTrackableNs, LatencyTelemetry.SignificantDigits);
        _total = new TelemetryHistogram(0, 1, LatencyTelemetry.HighestTrackableNs, LatencyTelemetry.SignificantDigits);
        _intervalMaxes = new TelemetryHistogram(0, 1, LatencyTelemetry.HighestTrackableNs, LatencyTelemetry.SignificantDigits);
        Interval = _leaf;
    }

    /// <summary>The .hlog tag: <see cref="Stage"/>, or <c>stage:model</c>.</summary>
    public string Tag { get; }

    /// <summary>Stage name (e.g. <c>inference</c>, <c>hiccup</c>).</summary>
    public string Stage { get; }

    /// <summary>Model name for a per-model histogram; null for a stage's own.</summary>
    public string? Model { get; }

    /// <summary>Values that fell outside the tracked range and were recorded clamped.</summary>
    public long ClampedValues => Interlocked.Read(ref _clamped);

    /// <summary>Records one latency, ns. One writer thread; wait-free; allocates nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(long nanoseconds)
    {
        if ((ulong)nanoseconds > LatencyTelemetry.HighestTrackableNs)
        {
            nanoseconds = Clamp(nanoseconds);
        }

        _recorder.RecordValue(nanoseconds);
    }

    /// <summary>
    /// Records one latency and, when it exceeds <paramref name="expectedIntervalNs"/>, the samples a
    /// sampler with that period would have taken during it (<c>value − k·interval</c>): HdrHistogram's
    /// correction for samplers that could not sample while stalled (the hiccup meter). Not for paced
    /// load, which records from the intended send time instead. One writer thread; wait-free.
    /// </summary>
    public void RecordWithExpectedInterval(long nanoseconds, long expectedIntervalNs)
    {
        if ((ulong)nanoseconds > LatencyTelemetry.HighestTrackableNs)
        {
            nanoseconds = Clamp(nanoseconds);
        }

        _recorder.RecordValueWithExpectedInterval(nanoseconds, expectedIntervalNs);
    }

    /// <summary>The last interval cut (merged with the children's for a stage); valid until the next cut. Telemetry lock held.</summary>
    internal TelemetryHistogram Interval { get; private set; }

    /// <summary>Every interval so far, merged. Telemetry lock held.</summary>
    internal TelemetryHistogram Total => _total;

    /// <summary>One value per non-empty interval: its maximum. Telemetry lock held.</summary>
    internal TelemetryHistogram IntervalMaxes => _intervalMaxes;

    /// <summary>Percentiles of the last interval (see <see cref="LatencySnapshot"/>). Telemetry lock held.</summary>
    internal ReadOnlySpan<long> LastInterval => _lastInterval;

    internal IReadOnlyList<LatencyRecorder> Children => _children;

    internal void AddChild(LatencyRecorder child) => _children.Add(child);

    /// <summary>First half of a cut: takes what the writer recorded since the last cut. Telemetry thread.</summary>
    internal void Swap()
    {
        _leaf = (TelemetryHistogram)_recorder.GetIntervalHistogram(_recycle);
        _recycle = _leaf;
    }

    /// <summary>Second half of a cut (after every recorder swapped): merges children, updates totals and the snapshot. Allocates nothing.</summary>
    internal void Complete(long startMs, long endMs)
    {
        TelemetryHistogram interval = _leaf;
        if (_children.Count > 0)
        {
            _merged.Reset();
            _merged.Add(_leaf);
            for (int i = 0; i < _children.Count; i++)
            {
                _merged.Add(_children[i]._leaf);
            }

            interval = _merged;
        }

        interval.StartTimeStamp = startMs;
        interval.EndTimeStamp = Math.Max(endMs, startMs + 1);
        interval.Tag = Tag;
        Interval = interval;
        _total.Add(interval);
        if (interval.TotalCount > 0)
        {
            _intervalMaxes.RecordValue(interval.MaxValue());
        }

        LatencySnapshot.Fill(interval, _lastInterval);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long Clamp(long nanoseconds)
    {
        Interlocked.Increment(ref _clamped);
        return nanoseconds < 0 ? 0 : LatencyTelemetry.HighestTrackableNs;
    }
}

/// <summary>The fixed set of numbers kept for the last interval of each histogram (metrics gauges).</summary>
internal static class LatencySnapshot
{
    /// <summary>Percentiles kept, in order, followed by max and count.</summary>
    public static ReadOnlySpan<double> Percentiles => [50, 90, 99, 99.9, 99.99];

    public const int Length = 7;
    public const int MaxIndex = 5;
    public const int CountIndex = 6;

    public static void Fill(TelemetryHistogram histogram, Span<long> into)
    {
        if (histogram.TotalCount == 0)
        {
            into.Clear();
            return;
        }

        ReadOnlySpan<double> percentiles = Percentiles;
        for (int i = 0; i < percentiles.Length; i++)
        {
            into[i] = histogram.GetValueAtPercentile(percentiles[i]);
        }

        into[MaxIndex] = histogram.MaxValue();
        into[CountIndex] = histogram.TotalCount;
    }
}
