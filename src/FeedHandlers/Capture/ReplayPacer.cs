using System.Runtime.CompilerServices;
using Engine.Native;
using FeedHandlers.Itch;

namespace FeedHandlers.Capture;

/// <summary>What a paced replay source reports about its own timeliness.</summary>
public interface IPacedSource
{
    /// <summary>Items (messages or datagrams) offered after their due time: the producer fell behind.</summary>
    long LateMessages { get; }

    /// <summary>Gaps of more than <see cref="ReplayPacer.StallThresholdNs"/> between consecutive items of a paced run in which the producer did not run.</summary>
    long ProducerStalls { get; }

    /// <summary>The longest such gap, ns.</summary>
    long LongestProducerStallNs { get; }
}

/// <summary>
/// Open-loop pacing shared by the replay sources: item i is due at start + i / rate, and its receive
/// timestamp is that due time, not the time it was actually offered, so a stall (a full ring, a
/// descheduled thread) shows up as the latency it caused (no coordinated omission). Unpaced, the
/// receive timestamp is the time of the call. A mutable struct kept in a field of its source; one thread.
/// </summary>
public struct ReplayPacer
{
    /// <summary>Threshold for <see cref="ProducerStalls"/>: 50 µs.</summary>
    public const long StallThresholdNs = 50_000;

    private readonly bool _paced;
    private readonly double _intervalNs;
    private long _start;
    private long _previous;
    private long _index;

    /// <summary>A pacer for <paramref name="pacing"/>; the clock starts at the first <see cref="Next"/>.</summary>
    public ReplayPacer(ReplayPacing pacing)
    {
        _paced = pacing.IsPaced;
        _intervalNs = _paced ? 1e9 / pacing.MessagesPerSecond : 0;
        _start = -1;
    }

    /// <summary>Items sent after their due time.</summary>
    public long LateMessages { get; private set; }

    /// <summary>Producer stalls longer than <see cref="StallThresholdNs"/>.</summary>
    public long ProducerStalls { get; private set; }

    /// <summary>The longest producer stall, ns.</summary>
    public long LongestProducerStallNs { get; private set; }

    /// <summary>Waits (spinning) until the next item is due and returns its receive timestamp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Next()
    {
        if (!_paced)
        {
            return MonotonicClock.NowNs();
        }

        if (_start < 0)
        {
            _start = MonotonicClock.NowNs();
            _previous = _start;
        }

        _index++;
        long due = _start + (long)(_index * _intervalNs);
        long now = MonotonicClock.NowNs();
        if (now > due)
        {
            LateMessages++;
            if (now - _previous > StallThresholdNs)
            {
                CountStall(now - _previous);
            }
        }
        else
        {
            now = MonotonicClock.SpinUntil(due);
        }

        _previous = now;
        return due;
    }

    private void CountStall(long gapNs)
    {
        ProducerStalls++;
        LongestProducerStallNs = Math.Max(LongestProducerStallNs, gapNs);
    }
}
