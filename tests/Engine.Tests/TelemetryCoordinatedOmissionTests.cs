using Engine.Events;
using Engine.Features;
using Engine.Native;
using Engine.Pipeline;
using Engine.Replay;
using Engine.Signals;
using Engine.Telemetry;
using FeedHandlers.Capture;
using FeedHandlers.Itch;
using HdrHistogram;

namespace Engine.Tests;

/// <summary>
/// A paced (open-loop) run whose feed thread is stalled once, on purpose, for 200 ms — what a VM
/// descheduling the feed thread does. Every tick due during the stall is sent late; because the
/// engine measures from each tick's intended send time, that lateness is in the recorded
/// percentiles. Measured from the actual send time (coordinated omission), it would vanish.
/// </summary>
[TestFixture]
public sealed class TelemetryCoordinatedOmissionTests
{
    private const double Rate = 20_000;           // ticks per second
    private const int Ticks = 24_000;             // 1.2 s of schedule
    private const int StallAt = 8_000;            // 0.4 s in
    private const long StallNs = 200_000_000;     // 200 ms
    private const long LateNs = 100_000_000;      // a sample this late can only come from the scripted stall

    [Test]
    public void AStallInAPacedRunShowsUpInTheRecordedPercentiles()
    {
        Tick[] ticks = ItchTicks.Decode(CaptureFile.ReadAll(Path.Combine(TestData.Samples, "sample.itch.gz")))[..Ticks];
        var source = new StallingPacedSource(ticks, Rate, StallAt, StallNs);
        var observed = new Observed(Ticks + 1);
        FeatureSpec spec = FeatureSpec.Load(Path.Combine(TestData.Samples, "demo.features.json"));
        ReplayReport report = ReplayRunner.Run(source, spec, spec.ModelPath!, new ObservingHandler(observed, source), new ReplayOptions { HiccupMeter = false });

        Assert.That(report.Run.Succeeded, Is.True);
        HistogramBase recorded = report.Histograms["tick_to_signal"];
        Assert.That(recorded.TotalCount, Is.EqualTo(report.Processor.Inferences));

        // The signals whose ticks were due in the first 100 ms of the stall were at least 100 ms late by schedule.
        long dueInStall = 0;
        for (int i = 0; i < observed.Count; i++)
        {
            long index = observed.Sequences[i] - 1;
            if (index >= StallAt && (index - StallAt) / Rate * 1e9 < StallNs - LateNs)
            {
                dueInStall++;
            }
        }

        long recordedLate = CountAtOrAbove(recorded, LateNs);
        Assert.That(dueInStall, Is.GreaterThan(300), "the stall covers hundreds of signals");
        Assert.That(recordedLate, Is.GreaterThanOrEqualTo(dueInStall), "every signal due in the stall's first 100 ms is recorded ≥ 100 ms late");
        double lateShare = (double)recordedLate / recorded.TotalCount;
        Assert.That(lateShare, Is.GreaterThan(0.01), "so the stall reaches down to p99");
        Assert.That(recorded.GetValueAtPercentile(99), Is.GreaterThanOrEqualTo(LateNs), "p99 tick-to-signal carries the stall");
        Assert.That(recorded.GetMaxValue(), Is.GreaterThanOrEqualTo(StallNs * 9 / 10));

        // The same signals timed from when each tick was actually sent: the stall all but disappears.
        long naiveLate = CountAtOrAbove(observed.FromActualSend, LateNs);
        // (Loose bound: on a loaded machine the stage thread may itself be starved for a while after the stall.)
        Assert.That(naiveLate, Is.LessThan(dueInStall / 2), "timed from the actual send, the stall is hidden (coordinated omission)");
    }

    private static long CountAtOrAbove(HistogramBase h, long value)
    {
        long n = 0;
        foreach (var v in h.RecordedValues())
        {
            if (v.ValueIteratedTo >= value)
            {
                n += v.CountAtValueIteratedTo;
            }
        }

        return n;
    }

    private sealed class Observed(int capacity)
    {
        public long[] Sequences { get; } = new long[capacity];

        public int Count { get; set; }

        public LongHistogram FromActualSend { get; } = new(LatencyTelemetry.HighestTrackableNs, 3);
    }

    private readonly struct ObservingHandler(Observed observed, StallingPacedSource source) : ISignalHandler
    {
        public void OnSignal(in Signal signal)
        {
            long now = MonotonicClock.NowNs();
            observed.Sequences[observed.Count++] = signal.Sequence;
            observed.FromActualSend.RecordValue(Math.Max(0, now - source.SentAt[signal.Sequence]));
        }
    }

    /// <summary>Open-loop pacing as the ITCH replay does it (receive timestamp = due time), with one scripted stall of the sending thread.</summary>
    private sealed class StallingPacedSource(Tick[] ticks, double rate, int stallAt, long stallNs) : ITickSource
    {
        public long[] SentAt { get; } = new long[ticks.Length + 1];

        public string Description => "scripted paced source with one stall";

        public FeedCounters Counters { get; } = new();

        public void Run(TickPublisher publisher, CancellationToken cancellationToken)
        {
            double intervalNs = 1e9 / rate;
            long start = MonotonicClock.NowNs();
            for (int i = 0; i < ticks.Length; i++)
            {
                long due = start + (long)(i * intervalNs);
                if (i == stallAt)
                {
                    MonotonicClock.SpinUntil(MonotonicClock.NowNs() + stallNs);
                }

                if (MonotonicClock.NowNs() < due)
                {
                    MonotonicClock.SpinUntil(due);
                }

                Counters.CountRead();
                if (!publisher.Claim(out long sequence))
                {
                    return;
                }

                ref Tick slot = ref publisher[sequence];
                slot = ticks[i];
                slot.Sequence = i + 1;
                slot.ReceiveTimestampNs = due; // the intended send time, not now
                SentAt[i + 1] = MonotonicClock.NowNs();
                publisher.Publish(sequence);
                Counters.CountPublished();
                Counters.CountProcessed((byte)'A');
            }
        }
    }
}
