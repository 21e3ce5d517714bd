using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Engine.Native;
using Engine.Pipeline;
using Engine.Telemetry;
using HdrHistogram;

namespace Engine.LatencyHarness.Scenarios;

/// <summary>
/// The engine's ring next to <c>System.Threading.Channels</c> bounded channels, 64-byte events, in alternating
/// rounds: throughput flat out (SPSC and MPSC with 2 producers; ring busy-spin and yielding; Channels with the
/// consumer spinning on <c>TryRead</c> and awaiting <c>ReadAsync</c>) with the average batch size of each, and the
/// one-way hop latency at one event per µs (producer timestamp to consumer read, HdrHistogram). Each round starts
/// with the core-to-core round trip of one padded cache line; ratios are per round, and their medians are taken
/// over the rounds that started fast (round trip &lt; 200 ns), or over all rounds when none did. The round trip is
/// measured again just before the hop phase, and the hop runs are classified by that one. Both sides of every run
/// count their stalls (gaps &gt; 20 µs between clock reads), and the repo's <see cref="HiccupMeter"/> runs beside each
/// phase so the tails can be read against the platform's own stalls.
/// </summary>
public static class RingScenario
{
    private const int Capacity = 1 << 14;
    private const long IntervalNs = 1_000;
    private const long StallNs = 20_000;
    private const double FastRoundTripNs = 200;
    private const long HistogramMax = 10_000_000_000;

    // Flat out, each side reads the clock once per this many events (the ring moves ~10 ns per event, Channels ~100 ns),
    // so a read costs each peer a few percent and the gap between reads stays far below the 20 µs stall threshold.
    private const long RingStride = 64;
    private const long ChannelStride = 8;

    // Producers per run: SPSC, then MPSC with 2 producers.
    private static readonly int[] s_shapes = [1, 2];

    private enum Peer
    {
        RingBusySpin,
        RingYielding,
        ChannelTryRead,
        ChannelReadAsync,
    }

    private sealed record Settings(int Rounds, long ThroughputEvents, double ThroughputSeconds, int LatencyEvents, TimeSpan HiccupWindow);

    public static ScenarioResult Run(bool quick)
    {
        Settings settings = quick ? new Settings(5, 2_000_000, 0.25, 20_000, TimeSpan.FromSeconds(0.2)) : new Settings(9, 20_000_000, 2.0, 300_000, TimeSpan.FromSeconds(1));
        bool twoCpus = Environment.ProcessorCount >= 2;
        var placement = new Placement(twoCpus ? 0 : null, twoCpus ? 1 : null);
        string loadBefore = LoadAverage();
        WarmThreadPool();

        Peer[] peers = [Peer.RingBusySpin, Peer.ChannelTryRead, Peer.RingYielding, Peer.ChannelReadAsync];
        var throughput = new Dictionary<(Peer, int), List<ThroughputResult>>();
        var latency = new Dictionary<Peer, List<LatencyResult>>();
        foreach (Peer peer in peers)
        {
            throughput[(peer, 1)] = [];
            throughput[(peer, 2)] = [];
            latency[peer] = [];
        }

        // Warm-up: every variant twice, small, so the measured rounds run tier-1 code.
        for (int i = 0; i < 2; i++)
        {
            foreach (Peer peer in peers)
            {
                Throughput(peer, 1, 200_000, 1, placement);
                Throughput(peer, 2, 200_000, 1, placement);
                Latency(peer, 2_000, placement);
            }
        }

        var roundTrips = new List<RoundTrips>();
        var hiccups = new List<(HistogramBase Throughput, HistogramBase Hop)>();
        for (int round = 0; round < settings.Rounds; round++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            RoundTripResult start = RoundTrip(placement);
            foreach (int producers in s_shapes)
            {
                foreach (Peer peer in peers)
                {
                    throughput[(peer, producers)].Add(Throughput(peer, producers, settings.ThroughputEvents, settings.ThroughputSeconds, placement));
                }
            }

            HistogramBase throughputHiccups = MeasureHiccups(settings.HiccupWindow);

            // The VM can flip state mid-round: the hop runs are classified by the round trip just before them.
            RoundTripResult beforeHop = RoundTrip(placement);
            foreach (Peer peer in peers)
            {
                latency[peer].Add(Latency(peer, settings.LatencyEvents, placement));
            }

            HistogramBase hopHiccups = MeasureHiccups(settings.HiccupWindow);

            roundTrips.Add(new RoundTrips(start, beforeHop, RoundTrip(placement)));
            hiccups.Add((throughputHiccups, hopHiccups));
        }

        return Report(settings, placement, throughput, latency, roundTrips, hiccups, loadBefore);
    }

    private static ScenarioResult Report(Settings settings, Placement placement, Dictionary<(Peer, int), List<ThroughputResult>> throughput, Dictionary<Peer, List<LatencyResult>> latency, List<RoundTrips> roundTrips, List<(HistogramBase Throughput, HistogramBase Hop)> hiccups, string loadBefore)
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        Peer[] order = [Peer.RingBusySpin, Peer.RingYielding, Peer.ChannelTryRead, Peer.ChannelReadAsync];
        int[] fast = [.. Enumerable.Range(0, roundTrips.Count).Where(r => IsFast(roundTrips[r].Start))];
        int[] used = fast.Length > 0 ? fast : [.. Enumerable.Range(0, roundTrips.Count)];
        int[] fastHop = [.. Enumerable.Range(0, roundTrips.Count).Where(r => IsFast(roundTrips[r].BeforeHop))];
        int[] usedHop = fastHop.Length > 0 ? fastHop : [.. Enumerable.Range(0, roundTrips.Count)];
        var notes = new List<string>
        {
            string.Create(ic, $"{settings.Rounds} alternating rounds; each: core-to-core round trip, then throughput SPSC and MPSC (ring busy-spin, Channels TryRead, ring yielding, Channels ReadAsync; up to {settings.ThroughputEvents:N0} events or {settings.ThroughputSeconds} s each), then the round trip again, then hop latency at 1 event/µs ({settings.LatencyEvents:N0} events each), then the round trip a third time"),
            fast.Length > 0
                ? $"throughput: medians over the {fast.Length} of {roundTrips.Count} rounds that started fast (round trip < {FastRoundTripNs} ns): rounds {string.Join(',', fast.Select(r => r + 1))}"
                : $"throughput: no round started fast (round trip < {FastRoundTripNs} ns): medians over all {roundTrips.Count} rounds",
            fastHop.Length > 0
                ? $"hop: medians and merged histograms over the {fastHop.Length} of {roundTrips.Count} rounds whose round trip just before the hop phase was fast (< {FastRoundTripNs} ns): rounds {string.Join(',', fastHop.Select(r => r + 1))}"
                : $"hop: no round was fast just before its hop phase (round trip < {FastRoundTripNs} ns): medians and histograms over all {roundTrips.Count} rounds",
            "round trips (ns, round start → before hop phase → round end): " + string.Join("; ", roundTrips.Select((r, i) => string.Create(ic, $"{i + 1}: {Ns(r.Start)}→{Ns(r.BeforeHop)}→{Ns(r.End)}"))),
            $"threads: {placement.Describe()}; {PlacementSeen(throughput, latency)}",
            "peers: ring = RingPipeline<64-byte struct> (1 stage, BusySpin or Yielding wait; producers Next/write/Publish one event at a time); Channels = Channel.CreateBounded(capacity 16,384, SingleReader = true, SingleWriter = (1 producer), FullMode = Wait), producers spin on TryWrite (SpinWait, as the ring's producers do when full); consumer spinning on TryRead on a pinned thread, or awaiting ReadAsync (continuations on thread-pool threads)",
            "bytes_per_op = process-wide GC.GetTotalAllocatedBytes over the run (any thread, runtime included) per event; the ring's zero-allocation ratio counts its own producer and consumer threads (GC.GetAllocatedBytesForCurrentThread); a bounded channel grows its queue buffer as it fills, which is most of its allocation",
            "avg batch = events per consumer wake: ring = events per endOfBatch; Channels TryRead = runs of successful TryRead between empty polls; ReadAsync = runs of ReadAsync calls that completed synchronously",
            string.Create(ic, $"stalls = gaps > {StallNs / 1000} µs between one side's clock reads: producers read the clock while pacing (hop) or every {RingStride} (ring) / {ChannelStride} (Channels) events flat out, consumers on every event (hop) or every {RingStride} / {ChannelStride} events (throughput). A gap includes waiting on the other side (a full ring, an empty one), so one side's stall can show in both"),
            string.Create(ic, $"hiccup rows: the repo's HiccupMeter (a 1 ms sleeper on an unpinned normal-priority thread; its value is how much later than its best wake-up it woke) runs alone for {settings.HiccupWindow.TotalSeconds:F1} s right after each round's throughput phase and after its hop phase: beside the runs it would preempt a spinning thread on these 2 vCPUs and become part of the tails it explains"),
            "per-run lists below: one entry per round, in round order; GC = collections gen0/1/2 during the run; alloc = bytes process-wide (own = by the run's producer and consumer threads, n/a when the consumer runs on pool threads)",
            "throughput rows: p50..max are 0 (not latency runs); ops_per_s is the median over the rounds used; latency rows: producer timestamp (after pacing, before claim/TryWrite) to consumer read, merged over the rounds used",
            $"load average before: {loadBefore}; after: {LoadAverage()}",
        };

        var rows = new List<Row>();
        foreach (int producers in s_shapes)
        {
            foreach (Peer peer in order)
            {
                List<ThroughputResult> runs = throughput[(peer, producers)];
                ThroughputResult[] usedRuns = [.. used.Select(r => runs[r])];
                long events = usedRuns.Sum(r => r.Events);
                double batch = (double)events / usedRuns.Sum(r => r.Batches);
                rows.Add(new Row(string.Create(ic, $"throughput {Name(peer, producers)} (avg batch {batch:F1})"), 0, 0, 0, 0, 0, 0, events, Median(usedRuns.Select(r => r.EventsPerSecond)), (double)runs.Sum(r => r.AllocatedBytes) / runs.Sum(r => r.Events)));
                notes.Add(string.Create(ic, $"{Name(peer, producers)} throughput per round (M events/s): {string.Join(", ", runs.Select(r => (r.EventsPerSecond / 1e6).ToString("F1", ic)))}; per run: {string.Join("; ", runs.Select(r => PerRun(r.Gc0, r.Gc1, r.Gc2, r.AllocatedBytes, r.OwnThreadsAllocated, r.ProducerStalls, r.ConsumerStalls)))}"));
            }
        }

        foreach (Peer peer in order)
        {
            List<LatencyResult> runs = latency[peer];
            var merged = new LongHistogram(HistogramMax, 3);
            foreach (int r in usedHop)
            {
                merged.Add(runs[r].Histogram);
            }

            double batch = (double)runs.Sum(r => r.Events) / runs.Sum(r => r.Batches);
            rows.Add(Row.From(string.Create(ic, $"hop {Name(peer, 1)} (avg batch {batch:F2})"), merged, Median(usedHop.Select(r => runs[r].EventsPerSecond)), (double)runs.Sum(r => r.AllocatedBytes) / runs.Sum(r => r.Events)));
            notes.Add(string.Create(ic, $"{Name(peer, 1)} hop per round p50/p99 (ns): {string.Join(", ", runs.Select(r => $"{r.Histogram.GetValueAtPercentile(50)}/{r.Histogram.GetValueAtPercentile(99)}"))}; late sends {runs.Sum(r => r.LateSends):N0}; per run: {string.Join("; ", runs.Select(r => PerRun(r.Gc0, r.Gc1, r.Gc2, r.AllocatedBytes, r.OwnThreadsAllocated, r.ProducerStalls, r.ConsumerStalls)))}"));
        }

        rows.Add(Row.From("hiccup right after the throughput runs (platform: 1 ms sleeper's extra delay)", Merge(used.Select(r => hiccups[r].Throughput)), 0, 0));
        rows.Add(Row.From("hiccup right after the hop runs (platform: 1 ms sleeper's extra delay)", Merge(usedHop.Select(r => hiccups[r].Hop)), 0, 0));
        notes.Add("hiccup per round p99/max (µs), throughput phase | hop phase: " + string.Join("; ", hiccups.Select((h, i) => string.Create(ic, $"{i + 1}: {h.Throughput.GetValueAtPercentile(99) / 1e3:F0}/{h.Throughput.GetMaxValue() / 1e3:F0} | {h.Hop.GetValueAtPercentile(99) / 1e3:F0}/{h.Hop.GetMaxValue() / 1e3:F0}"))));

        var rt = new LongHistogram(HistogramMax, 3);
        var rtHop = new LongHistogram(HistogramMax, 3);
        foreach (RoundTrips r in roundTrips)
        {
            if (r.Start.Measured)
            {
                rt.RecordValue((long)r.Start.MedianNs);
            }

            if (r.BeforeHop.Measured)
            {
                rtHop.RecordValue((long)r.BeforeHop.MedianNs);
            }
        }

        rows.Add(Row.From("core-to-core round trip, one padded cache line (per round start)", rt, 0, 0));
        rows.Add(Row.From("core-to-core round trip, one padded cache line (per round, before the hop phase)", rtHop, 0, 0));

        double TputRatio(Peer a, Peer b, int producers) => Median(used.Select(r => throughput[(a, producers)][r].EventsPerSecond / throughput[(b, producers)][r].EventsPerSecond));
        double HopRatio(Peer a, Peer b, double percentile) => Median(usedHop.Select(r => (double)latency[a][r].Histogram.GetValueAtPercentile(percentile) / latency[b][r].Histogram.GetValueAtPercentile(percentile)));
        const string Reported = "none (reported)";
        IEnumerable<ThroughputResult> ringThroughput = throughput.Where(kv => IsRing(kv.Key.Item1)).SelectMany(kv => kv.Value);
        IEnumerable<LatencyResult> ringLatency = latency.Where(kv => IsRing(kv.Key)).SelectMany(kv => kv.Value);
        var ratios = new List<Ratio>();

        // Every ring variant against every Channels peer: the issue's targets are SPSC busy-spin throughput >= 5x and
        // hop p50 <= 0.6x / p99 <= 0.5x, each against the TryRead spin loop; every other comparison is reported.
        foreach (int producers in s_shapes)
        {
            string shape = producers == 1 ? "SPSC" : $"MPSC ({producers} producers)";
            foreach (Peer ring in new[] { Peer.RingBusySpin, Peer.RingYielding })
            {
                foreach (Peer channel in new[] { Peer.ChannelTryRead, Peer.ChannelReadAsync })
                {
                    string target = producers == 1 && ring == Peer.RingBusySpin && channel == Peer.ChannelTryRead ? ">= 5" : Reported;
                    ratios.Add(new($"throughput {shape}: {RatioName(ring)} / {RatioName(channel)}", TputRatio(ring, channel, producers), target));
                }
            }
        }

        foreach (Peer ring in new[] { Peer.RingBusySpin, Peer.RingYielding })
        {
            foreach (Peer channel in new[] { Peer.ChannelTryRead, Peer.ChannelReadAsync })
            {
                bool targeted = ring == Peer.RingBusySpin && channel == Peer.ChannelTryRead;
                ratios.Add(new($"hop p50: {RatioName(ring)} / {RatioName(channel)}", HopRatio(ring, channel, 50), targeted ? "<= 0.6" : Reported));
                ratios.Add(new($"hop p99: {RatioName(ring)} / {RatioName(channel)}", HopRatio(ring, channel, 99), targeted ? "<= 0.5" : Reported));
            }
        }

        ratios.AddRange(
        [
            new("hop p50: ring busy-spin / half the core-to-core round trip before the hop phase (1 = the hardware floor)", Median(usedHop.Where(r => roundTrips[r].BeforeHop.Measured).Select(r => latency[Peer.RingBusySpin][r].Histogram.GetValueAtPercentile(50) / (roundTrips[r].BeforeHop.MedianNs / 2))), Reported),
            new(fast.Length > 0 ? "throughput rounds used: started fast (round trip < 200 ns)" : "throughput rounds used: none started fast, all rounds", used.Length, ">= 5 alternating rounds; fast ones when any"),
            new(fastHop.Length > 0 ? "hop rounds used: fast just before the hop phase (round trip < 200 ns)" : "hop rounds used: none fast before the hop phase, all rounds", usedHop.Length, ">= 5 alternating rounds; fast ones when any"),
            new("ring bytes allocated after start by its producer and consumer threads (all ring runs)", ringThroughput.Sum(r => r.OwnThreadsAllocated) + ringLatency.Sum(r => r.OwnThreadsAllocated), "== 0"),
            new("ring GC collections during runs (all generations)", ringThroughput.Sum(r => r.Gc0 + r.Gc1 + r.Gc2) + ringLatency.Sum(r => r.Gc0 + r.Gc1 + r.Gc2), "== 0"),
            new("ring runs with a GC collection or an own-thread allocation (of all ring runs)", ringThroughput.Count(r => r.Gc0 + r.Gc1 + r.Gc2 > 0 || r.OwnThreadsAllocated != 0) + ringLatency.Count(r => r.Gc0 + r.Gc1 + r.Gc2 > 0 || r.OwnThreadsAllocated != 0), "== 0 (every run)"),
            new("ring stalls > 20 µs, producer + consumer side (all ring runs)", ringThroughput.Sum(r => r.ProducerStalls.Count + r.ConsumerStalls.Count) + ringLatency.Sum(r => r.ProducerStalls.Count + r.ConsumerStalls.Count), Reported),
        ]);

        return new ScenarioResult("ring", Machine.Describe(), rows, ratios, notes);
    }

    private static string RatioName(Peer peer) => peer switch
    {
        Peer.RingBusySpin => "ring busy-spin",
        Peer.RingYielding => "ring yielding",
        Peer.ChannelTryRead => "Channels TryRead spin loop",
        _ => "Channels ReadAsync",
    };

    private static string PerRun(int gc0, int gc1, int gc2, long allocated, long own, Stalls producer, Stalls consumer) => string.Create(
        CultureInfo.InvariantCulture,
        $"GC {gc0}/{gc1}/{gc2}, alloc {allocated:N0} B (own {(own < 0 ? "n/a" : own.ToString("N0", CultureInfo.InvariantCulture))}), stalls producer {producer.Describe()} consumer {consumer.Describe()}");

    private static bool IsFast(RoundTripResult r) => r.Measured && r.MedianNs < FastRoundTripNs;

    private static RoundTripResult RoundTrip(Placement placement) => CoreToCore.MeasureRoundTrip(placement.Producer, placement.Consumer, batches: 100, timeLimit: TimeSpan.FromSeconds(0.5));

    /// <summary>Runs the hiccup meter alone for <paramref name="window"/>; returns what it saw.</summary>
    /// <remarks>
    /// Not beside the measured runs: both vCPUs are held by spinning threads there, so every wake-up of the meter
    /// preempts the producer or the consumer and lands in the very tails it is meant to explain (measured: the
    /// busy-spin hop p99 went from ~1.7 µs to ~0.3 ms with the meter running). Right after each phase, alone,
    /// it samples the platform's stalls in the same round.
    /// </remarks>
    private static HistogramBase MeasureHiccups(TimeSpan window)
    {
        // Created and started from the main (unpinned) thread, so the meter's thread inherits no pinned CPU mask.
        using var telemetry = new LatencyTelemetry();
        using (var meter = new HiccupMeter(telemetry))
        {
            meter.Start();
            Thread.Sleep(window);
        }

        telemetry.Cut();
        return telemetry.Total(HiccupMeter.Tag) ?? new LongHistogram(HistogramMax, 3);
    }

    private static LongHistogram Merge(IEnumerable<HistogramBase> histograms)
    {
        var merged = new LongHistogram(HistogramMax, 3);
        foreach (HistogramBase h in histograms)
        {
            merged.Add(h);
        }

        return merged;
    }

    private static ThroughputResult Throughput(Peer peer, int producers, long events, double seconds, Placement placement) => peer switch
    {
        Peer.RingBusySpin => RingThroughput(default(BusySpinWaitStrategy), producers, events, seconds, placement),
        Peer.RingYielding => RingThroughput(default(YieldingWaitStrategy), producers, events, seconds, placement),
        Peer.ChannelTryRead => ChannelThroughput(async: false, producers, events, seconds, placement),
        _ => ChannelThroughput(async: true, producers, events, seconds, placement),
    };

    private static LatencyResult Latency(Peer peer, int events, Placement placement) => peer switch
    {
        Peer.RingBusySpin => RingLatency(default(BusySpinWaitStrategy), events, placement),
        Peer.RingYielding => RingLatency(default(YieldingWaitStrategy), events, placement),
        Peer.ChannelTryRead => ChannelLatency(async: false, events, placement),
        _ => ChannelLatency(async: true, events, placement),
    };

    // ---- throughput ---------------------------------------------------------------------------------

    private static ThroughputResult RingThroughput<TWait>(TWait wait, int producers, long events, double seconds, Placement placement)
        where TWait : struct, IWaitStrategy
    {
        var run = new Trial(producers);
        using var pipeline = new RingPipeline<Event64>(Capacity, producers == 1 ? ProducerMode.Single : ProducerMode.Multi);
        Stage<CountingHandler> stage = pipeline.AddStage(() => new CountingHandler(run), wait, new StageOptions { Name = "ring-consumer", Core = placement.Consumer });
        pipeline.Start();
        run.ConsumerAffinity = stage.Affinity;
        ThroughputResult result = producers == 1
            ? run.Throughput(p => run.AddProducerStalls(RingFlatOut(new SingleClaimer(pipeline.SingleProducer), pipeline.Ring, p, events, run)), seconds, placement)
            : run.Throughput(p => run.AddProducerStalls(RingFlatOut(new MultiClaimer(pipeline.MultiProducer), pipeline.Ring, p, events / producers, run)), seconds, placement);
        pipeline.DrainAndStop(TimeSpan.FromSeconds(10));
        return result;
    }

    private static ThroughputResult ChannelThroughput(bool async, int producers, long events, double seconds, Placement placement)
    {
        var run = new Trial(producers);
        Channel<Event64> channel = NewChannel(producers);
        Action? stop = StartChannelConsumer(channel.Reader, run, async, placement, latency: false);
        ThroughputResult result = run.Throughput(p => run.AddProducerStalls(ChannelFlatOut(channel.Writer, p, events / producers, run)), seconds, placement);
        stop?.Invoke();
        return result;
    }

    private static Stalls RingFlatOut<TClaim>(TClaim claim, RingBuffer<Event64> ring, int producer, long events, Trial run)
        where TClaim : struct, IClaimer
    {
        long deadline = run.DeadlineNs;
        var stalls = default(Stalls);
        for (long i = 0; i < events; i++)
        {
            bool last = i == events - 1;
            if (i % RingStride == 0)
            {
                long now = MonotonicClock.NowNs();
                stalls.Observe(now);
                last |= now > deadline;
            }

            long s = claim.Next();
            ring[s].Fill(producer, i, 0, last);
            claim.Publish(s);
            if (last)
            {
                break;
            }
        }

        return stalls;
    }

    private static Stalls ChannelFlatOut(ChannelWriter<Event64> writer, int producer, long events, Trial run)
    {
        long deadline = run.DeadlineNs;
        var e = default(Event64);
        var stalls = default(Stalls);
        for (long i = 0; i < events; i++)
        {
            bool last = i == events - 1;
            if (i % ChannelStride == 0)
            {
                long now = MonotonicClock.NowNs();
                stalls.Observe(now);
                last |= now > deadline;
            }

            e.Fill(producer, i, 0, last);
            var spinner = default(SpinWait);
            while (!writer.TryWrite(e))
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }

            if (last)
            {
                break;
            }
        }

        return stalls;
    }

    // ---- latency ------------------------------------------------------------------------------------

    private static LatencyResult RingLatency<TWait>(TWait wait, int events, Placement placement)
        where TWait : struct, IWaitStrategy
    {
        var run = new Trial(1) { Histogram = new LongHistogram(HistogramMax, 3) };
        using var pipeline = new RingPipeline<Event64>(Capacity, ProducerMode.Single);
        Stage<CountingHandler> stage = pipeline.AddStage(() => new CountingHandler(run), wait, new StageOptions { Name = "ring-consumer", Core = placement.Consumer });
        pipeline.Start();
        run.ConsumerAffinity = stage.Affinity;
        var claim = new SingleClaimer(pipeline.SingleProducer);
        LatencyResult result = run.Latency(events, placement, (i, sent, last) =>
        {
            long s = claim.Next();
            pipeline.Ring[s].Fill(0, i, sent, last);
            claim.Publish(s);
        });
        pipeline.DrainAndStop(TimeSpan.FromSeconds(10));
        return result;
    }

    private static LatencyResult ChannelLatency(bool async, int events, Placement placement)
    {
        var run = new Trial(1) { Histogram = new LongHistogram(HistogramMax, 3) };
        Channel<Event64> channel = NewChannel(1);
        Action? stop = StartChannelConsumer(channel.Reader, run, async, placement, latency: true);
        ChannelWriter<Event64> writer = channel.Writer;
        var e = default(Event64);
        LatencyResult result = run.Latency(events, placement, (i, sent, last) =>
        {
            e.Fill(0, i, sent, last);
            var spinner = default(SpinWait);
            while (!writer.TryWrite(e))
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        });
        stop?.Invoke();
        return result;
    }

    // ---- Channels consumers -------------------------------------------------------------------------

    private static Channel<Event64> NewChannel(int producers) => Channel.CreateBounded<Event64>(new BoundedChannelOptions(Capacity)
    {
        SingleReader = true,
        SingleWriter = producers == 1,
        FullMode = BoundedChannelFullMode.Wait,
        AllowSynchronousContinuations = false,
    });

    /// <summary>Starts the consumer; returns what to call after the run to release its thread (null when it ends by itself).</summary>
    private static Action? StartChannelConsumer(ChannelReader<Event64> reader, Trial run, bool async, Placement placement, bool latency)
    {
        if (async)
        {
            // Started from this unpinned thread: its continuations run on (pre-created, unpinned) pool threads.
            Task consumer = Task.Run(() => ReadAsyncConsumer(reader, run, latency));
            return () => consumer.Wait();
        }

        var thread = new Thread(() =>
        {
            if (placement.Consumer is int cpu)
            {
                run.ConsumerAffinity = CpuAffinity.PinCurrentThread(cpu);
            }

            TryReadConsumer(reader, run, latency);
        })
        { IsBackground = true, Name = "channel-consumer" };
        thread.Start();
        return thread.Join;
    }

    private static void TryReadConsumer(ChannelReader<Event64> reader, Trial run, bool latency)
    {
        var counter = new ConsumerCounter(run, latency, ChannelStride);
        bool inRun = false;
        while (true)
        {
            if (reader.TryRead(out Event64 e))
            {
                inRun = true;
                if (counter.Consume(ref e))
                {
                    break;
                }
            }
            else if (inRun)
            {
                counter.EndBatch();
                inRun = false;
            }
        }
    }

    private static async Task ReadAsyncConsumer(ChannelReader<Event64> reader, Trial run, bool latency)
    {
        // Continuations hop between pool threads: no one thread's allocation counter covers the consumer.
        var counter = new ConsumerCounter(run, latency, ChannelStride, ownThread: false);
        bool inRun = false;
        while (true)
        {
            ValueTask<Event64> pending = reader.ReadAsync();
            if (!pending.IsCompleted && inRun)
            {
                counter.EndBatch();
                inRun = false;
            }

            Event64 e = await pending.ConfigureAwait(false);
            inRun = true;
            if (counter.Consume(ref e))
            {
                return;
            }
        }
    }

    // ---- shared pieces ------------------------------------------------------------------------------

    private static void WarmThreadPool()
    {
        // Pool threads are created now, by this unpinned thread, so none inherits a pinned producer's CPU mask later.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 4), io);
        Task[] spinners = [.. Enumerable.Range(0, 4).Select(_ => Task.Run(() => Thread.Sleep(20)))];
        Task.WaitAll(spinners);
    }

    private static string Name(Peer peer, int producers)
    {
        string shape = producers == 1 ? "SPSC" : $"MPSC ({producers} producers)";
        return peer switch
        {
            Peer.RingBusySpin => $"ring {shape} busy-spin",
            Peer.RingYielding => $"ring {shape} yielding",
            Peer.ChannelTryRead => $"Channels {shape} TryRead spin",
            _ => $"Channels {shape} ReadAsync",
        };
    }

    private static bool IsRing(Peer peer) => peer is Peer.RingBusySpin or Peer.RingYielding;

    private static string OwnThreads(IEnumerable<long> allocated)
    {
        long[] values = [.. allocated];
        return values.Any(v => v < 0) ? "n/a (consumer on pool threads)" : string.Create(CultureInfo.InvariantCulture, $"{values.Sum():N0} bytes");
    }

    private static string Ns(RoundTripResult r) => r.Measured ? r.MedianNs.ToString("F0", CultureInfo.InvariantCulture) : "n/a";

    private static string PlacementSeen(Dictionary<(Peer, int), List<ThroughputResult>> throughput, Dictionary<Peer, List<LatencyResult>> latency)
    {
        var parts = new List<string>();
        foreach (Peer peer in new[] { Peer.RingBusySpin, Peer.RingYielding, Peer.ChannelTryRead, Peer.ChannelReadAsync })
        {
            long consumer = throughput[(peer, 1)].Aggregate(0L, (m, r) => m | r.ConsumerCpus) | throughput[(peer, 2)].Aggregate(0L, (m, r) => m | r.ConsumerCpus) | latency[peer].Aggregate(0L, (m, r) => m | r.ConsumerCpus);
            long producer = throughput[(peer, 1)].Aggregate(0L, (m, r) => m | r.ProducerCpus) | throughput[(peer, 2)].Aggregate(0L, (m, r) => m | r.ProducerCpus) | latency[peer].Aggregate(0L, (m, r) => m | r.ProducerCpus);
            parts.Add($"{Name(peer, 1).Replace(" SPSC", string.Empty, StringComparison.Ordinal)}: producers seen on CPU {Cpus(producer)}, consumer on CPU {Cpus(consumer)}");
        }

        return "CPUs observed (sched_getcpu): " + string.Join("; ", parts);

        static string Cpus(long mask) => mask == 0 ? "?" : CpuList.Format(Enumerable.Range(0, 64).Where(c => (mask & (1L << c)) != 0));
    }

    // Rounds whose ratio is not finite (a peer that measured nothing) are left out.
    private static double Median(IEnumerable<double> values) => Stats.Median(values.Where(double.IsFinite));

    private static string LoadAverage() => SystemFiles.Live.Read("/proc/loadavg") is { } text ? string.Join(' ', text.Split(' ').Take(3)) : "unknown";

    private sealed record Placement(int? Producer, int? Consumer)
    {
        public string Describe() => Producer is int p && Consumer is int c
            ? $"each producer pinned to CPU {p} (MPSC: both producers share CPU {p}, a 2-CPU machine has no third), consumer pinned to CPU {c} (ring stage thread and the TryRead thread); the ReadAsync consumer runs on thread-pool threads (unpinned, created before any pinning)"
            : "one CPU: nothing pinned";
    }

    /// <summary>64 bytes, one cache line: what a tick weighs.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 64)]
    private struct Event64
    {
        public long Sequence;
        public long SentNs;
        public int Producer;
        public int Last;
        public long P0;
        public long P1;
        public long P2;
        public long P3;
        public long P4;

        public void Fill(int producer, long sequence, long sentNs, bool last)
        {
            Sequence = sequence;
            SentNs = sentNs;
            Producer = producer;
            Last = last ? 1 : 0;
            P0 = sequence;
            P1 = sequence + 1;
            P2 = sequence + 2;
            P3 = sequence + 3;
            P4 = sequence + 4;
        }
    }

    private interface IClaimer
    {
        long Next();

        void Publish(long sequence);
    }

    private readonly struct SingleClaimer(SingleProducerSequencer sequencer) : IClaimer
    {
        public long Next() => sequencer.Next();

        public void Publish(long sequence) => sequencer.Publish(sequence);
    }

    private readonly struct MultiClaimer(MultiProducerSequencer sequencer) : IClaimer
    {
        public long Next() => sequencer.Next();

        public void Publish(long sequence) => sequencer.Publish(sequence);
    }

    /// <summary>The ring consumer: counts (throughput) or records the hop (latency).</summary>
    private struct CountingHandler(Trial run) : IEventHandler<Event64>
    {
        private ConsumerCounter _counter = new(run, run.Histogram is not null, RingStride);

        public readonly void OnStart()
        {
        }

        public void OnEvent(ref Event64 data, long sequence, bool endOfBatch)
        {
            _counter.Consume(ref data);
            if (endOfBatch)
            {
                _counter.EndBatch();
            }
        }

        public readonly void OnShutdown()
        {
        }
    }

    /// <summary>Consumer-side counting shared by every peer, so each does the same work per event.</summary>
    private struct ConsumerCounter(Trial run, bool latency, long stride, bool ownThread = true)
    {
        private Stalls _stalls;
        private long _allocatedMark;
        private long _events;
        private long _batches;
        private long _checksum;
        private int _ends;

        /// <summary>Counts one event; true when it was the last producer's last event.</summary>
        public bool Consume(ref Event64 e)
        {
            if (latency)
            {
                long now = MonotonicClock.NowNs();
                _stalls.Observe(now);
                run.Histogram!.RecordValue(Math.Min(now - e.SentNs, HistogramMax));
            }
            else if (_events % stride == 0)
            {
                _stalls.Observe(MonotonicClock.NowNs());
            }

            _checksum += e.P4 - e.P0;
            if ((_events++ & 0xFFFF) == 0)
            {
                run.ConsumerCpus |= CpuBit();
                if (_events == 1 && ownThread)
                {
                    _allocatedMark = GC.GetAllocatedBytesForCurrentThread();
                }
            }

            if (e.Last != 0 && ++_ends == run.Producers)
            {
                run.Finish(_events, _batches + 1, _checksum, ownThread ? GC.GetAllocatedBytesForCurrentThread() - _allocatedMark : -1, _stalls);
                return true;
            }

            return false;
        }

        public void EndBatch() => _batches++;
    }

    private static long CpuBit()
    {
        int cpu = CpuAffinity.CurrentCpu();
        return cpu is >= 0 and < 64 ? 1L << cpu : 0;
    }

    /// <summary>One measured trial: gates the producers' start, collects what the consumer saw.</summary>
    private sealed class Trial(int producers)
    {
        private volatile bool _go;
        private volatile bool _done;

        public int Producers { get; } = producers;

        public LongHistogram? Histogram { get; init; }

        public long DeadlineNs { get; private set; } = long.MaxValue;

        public AffinityResult? ConsumerAffinity { get; set; }

        public long ConsumerCpus { get; set; }

        public long ProducerCpus;

        private long _startNs;
        private long _consumerAllocated;
        private long _producersAllocated;
        private long _endNs;
        private long _events;
        private long _batches;
        private Stalls _consumerStalls;
        private Stalls _producerStalls;
        private readonly Lock _producerStallsGate = new();

        public void Finish(long events, long batches, long checksum, long consumerAllocated, Stalls consumerStalls)
        {
            _endNs = MonotonicClock.NowNs();
            _consumerStalls = consumerStalls;
            _consumerAllocated = consumerAllocated;
            _events = events;
            _batches = checksum == 4 * events ? batches : throw new InvalidOperationException("payload check failed");
            _done = true;
        }

        /// <summary>Merges one producer thread's stalls (called once per producer, at its end).</summary>
        public void AddProducerStalls(Stalls stalls)
        {
            lock (_producerStallsGate)
            {
                _producerStalls.Merge(stalls);
            }
        }

        public ThroughputResult Throughput(Action<int> produce, double seconds, Placement placement)
        {
            Thread[] threads = [.. Enumerable.Range(0, Producers).Select(p => Producer(() => produce(p), placement))];
            Measure measure = Go(threads, (long)(seconds * 1e9));
            return new ThroughputResult(_events, _batches, _events / ((_endNs - _startNs) / 1e9), measure.Allocated, OwnThreadsAllocated, measure.Gc0, measure.Gc1, measure.Gc2, ConsumerCpus, ProducerCpus, _producerStalls, _consumerStalls);
        }

        public LatencyResult Latency(int events, Placement placement, Action<long, long, bool> send)
        {
            long late = 0;
            Thread producer = Producer(() =>
            {
                var stalls = default(Stalls);
                long start = MonotonicClock.NowNs() + 10_000;
                stalls.Observe(MonotonicClock.NowNs());
                for (long i = 0; i < events; i++)
                {
                    long due = start + (i * IntervalNs);
                    long now;
                    while ((now = MonotonicClock.NowNs()) < due)
                    {
                        stalls.Observe(now);
                    }

                    stalls.Observe(now);
                    if (now - due > IntervalNs)
                    {
                        late++;
                    }

                    send(i, now, i == events - 1);
                }

                AddProducerStalls(stalls);
            }, placement);
            Measure measure = Go([producer], long.MaxValue);
            return new LatencyResult(Histogram!, _events, _batches, _events / ((_endNs - _startNs) / 1e9), late, measure.Allocated, OwnThreadsAllocated, measure.Gc0, measure.Gc1, measure.Gc2, ConsumerCpus, ProducerCpus, _producerStalls, _consumerStalls);
        }

        // Producer threads plus the consumer thread, from the start signal to the last event; -1 when the consumer has no thread of its own.
        private long OwnThreadsAllocated => _consumerAllocated < 0 ? -1 : _consumerAllocated + Interlocked.Read(ref _producersAllocated);

        private Thread Producer(Action body, Placement placement) => new(() =>
        {
            if (placement.Producer is int cpu)
            {
                CpuAffinity.PinCurrentThread(cpu);
            }

            while (!_go)
            {
            }

            long mark = GC.GetAllocatedBytesForCurrentThread();
            body();
            Interlocked.Add(ref _producersAllocated, GC.GetAllocatedBytesForCurrentThread() - mark);
            long bit = CpuBit();
            long seen;
            do
            {
                seen = Volatile.Read(ref ProducerCpus);
            }
            while (Interlocked.CompareExchange(ref ProducerCpus, seen | bit, seen) != seen);
        })
        { IsBackground = true, Name = "bench-producer" };

        private Measure Go(Thread[] producers, long durationNs)
        {
            foreach (Thread t in producers)
            {
                t.Start();
            }

            Thread.Sleep(5);
            int gc0 = GC.CollectionCount(0), gc1 = GC.CollectionCount(1), gc2 = GC.CollectionCount(2);
            long allocated = GC.GetTotalAllocatedBytes(precise: true);
            _startNs = MonotonicClock.NowNs();
            DeadlineNs = durationNs == long.MaxValue ? long.MaxValue : _startNs + durationNs;
            _go = true;
            foreach (Thread t in producers)
            {
                t.Join();
            }

            while (!_done)
            {
                Thread.Sleep(1);
            }

            return new Measure(GC.GetTotalAllocatedBytes(precise: true) - allocated, GC.CollectionCount(0) - gc0, GC.CollectionCount(1) - gc1, GC.CollectionCount(2) - gc2);
        }
    }

    private readonly record struct Measure(long Allocated, int Gc0, int Gc1, int Gc2);

    private readonly record struct RoundTrips(RoundTripResult Start, RoundTripResult BeforeHop, RoundTripResult End);

    /// <summary>Gaps longer than <see cref="StallNs"/> between one thread's successive clock reads.</summary>
    private struct Stalls
    {
        private long _previous;

        public long Count { get; private set; }

        public long LongestNs { get; private set; }

        public long TotalNs { get; private set; }

        public void Observe(long now)
        {
            long gap = now - _previous;
            if (_previous != 0 && gap > StallNs)
            {
                Count++;
                TotalNs += gap;
                LongestNs = Math.Max(LongestNs, gap);
            }

            _previous = now;
        }

        public void Merge(Stalls other)
        {
            Count += other.Count;
            TotalNs += other.TotalNs;
            LongestNs = Math.Max(LongestNs, other.LongestNs);
        }

        public readonly string Describe() => Count == 0
            ? "0"
            : string.Create(CultureInfo.InvariantCulture, $"{Count} (longest {LongestNs / 1e3:F0} µs, {TotalNs / 1e6:F2} ms in all)");
    }

    private sealed record ThroughputResult(long Events, long Batches, double EventsPerSecond, long AllocatedBytes, long OwnThreadsAllocated, int Gc0, int Gc1, int Gc2, long ConsumerCpus, long ProducerCpus, Stalls ProducerStalls, Stalls ConsumerStalls);

    private sealed record LatencyResult(LongHistogram Histogram, long Events, long Batches, double EventsPerSecond, long LateSends, long AllocatedBytes, long OwnThreadsAllocated, int Gc0, int Gc1, int Gc2, long ConsumerCpus, long ProducerCpus, Stalls ProducerStalls, Stalls ConsumerStalls);
}
