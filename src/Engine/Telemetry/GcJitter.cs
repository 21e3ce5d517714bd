namespace Engine.Telemetry;

/// <summary>
/// Garbage collections seen by the process while telemetry ran: counts per generation, total pause
/// time (<see cref="GC.GetTotalPauseDuration"/>), and the worst single interval's pause. Sampled at
/// every interval cut on the telemetry thread; a GC pauses every managed thread, hot ones included,
/// so each one is a latency event to read tails against.
/// </summary>
/// <param name="Gen0">Gen-0 collections.</param>
/// <param name="Gen1">Gen-1 collections.</param>
/// <param name="Gen2">Gen-2 collections.</param>
/// <param name="TotalPause">Time the runtime paused threads for GC.</param>
/// <param name="MaxIntervalPause">The largest GC pause total within one interval.</param>
/// <param name="IntervalsWithGc">Intervals in which at least one collection happened.</param>
public readonly record struct GcJitter(int Gen0, int Gen1, int Gen2, TimeSpan TotalPause, TimeSpan MaxIntervalPause, int IntervalsWithGc)
{
    /// <summary>All collections.</summary>
    public int Collections => Gen0 + Gen1 + Gen2;
}

/// <summary>Tracks GC counts and pause time from a baseline, interval by interval. Telemetry thread (under its lock).</summary>
internal sealed class GcJitterTracker
{
    private readonly int[] _base = new int[3];
    private readonly int[] _last = new int[3];
    private TimeSpan _basePause;
    private TimeSpan _lastPause;
    private TimeSpan _maxIntervalPause;
    private int _intervalsWithGc;

    public GcJitterTracker() => Reset();

    /// <summary>Collections and pause of the last sampled interval.</summary>
    public (int Gen0, int Gen1, int Gen2, TimeSpan Pause) LastInterval { get; private set; }

    public void Reset()
    {
        for (int g = 0; g < 3; g++)
        {
            _base[g] = _last[g] = GC.CollectionCount(g);
        }

        _basePause = _lastPause = GC.GetTotalPauseDuration();
        _maxIntervalPause = TimeSpan.Zero;
        _intervalsWithGc = 0;
        LastInterval = default;
    }

    /// <summary>Samples now; returns whether any collection happened since the last sample. Allocates nothing.</summary>
    public bool Sample()
    {
        int g0 = GC.CollectionCount(0), g1 = GC.CollectionCount(1), g2 = GC.CollectionCount(2);
        TimeSpan pause = GC.GetTotalPauseDuration();
        LastInterval = (g0 - _last[0], g1 - _last[1], g2 - _last[2], pause - _lastPause);
        _last[0] = g0;
        _last[1] = g1;
        _last[2] = g2;
        _lastPause = pause;
        bool any = LastInterval.Gen0 + LastInterval.Gen1 + LastInterval.Gen2 > 0;
        if (any)
        {
            _intervalsWithGc++;
            if (LastInterval.Pause > _maxIntervalPause)
            {
                _maxIntervalPause = LastInterval.Pause;
            }
        }

        return any;
    }

    public GcJitter Current => new(_last[0] - _base[0], _last[1] - _base[1], _last[2] - _base[2], _lastPause - _basePause, _maxIntervalPause, _intervalsWithGc);
}
