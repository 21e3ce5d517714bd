using System.Globalization;
using Engine.Book;
using Engine.Events;
using Engine.Native;
using FeedHandlers.Capture;
using FeedHandlers.Itch;
using HdrHistogram;

namespace Engine.LatencyHarness.Scenarios;

/// <summary>
/// ITCH 5.0 parse + normalize on one core, messages/s: the engine (BinaryFILE framing over the bytes,
/// validation, in-place normalization into a preallocated tick) against
/// <see cref="BinaryReaderItchParser"/> (a straightforward BinaryReader parser into message objects),
/// same input (the bundled capture), same run, alternating rounds (engine, peer, engine + book, ...);
/// ratios are medians of per-round ratios. A third variant adds the engine's book (MarketBooks, a fresh
/// one per pass: its set-up allocation is in bytes/op) to the engine's parse. Both parsers' ticks are
/// checked equal before anything is timed.
/// </summary>
/// <remarks>
/// Rows: percentiles are per-message cost, ns, from batches of <see cref="Batch"/> messages (a clock read
/// per batch, so timing does not dominate); ops/s is messages per second over whole rounds; bytes/op is
/// allocation per message on the measuring thread.
/// </remarks>
public static class FeedsParseScenario
{
    public const int Batch = 1024;

    public const int Slots = 1 << 16;

    public static ScenarioPart Measure(bool quick)
    {
        int rounds = quick ? 3 : 15;
        int passes = quick ? 2 : 8;
        byte[] capture = CaptureFile.ReadAll(Path.Combine(Paths.Samples, "sample.itch.gz"));
        int tickCount = ItchTicks.Decode(capture).Length;
        // Both parsers write their ticks into the same 65,536 slots (the default ring's size), as the
        // feed thread writes into ring slots.
        var ticks = new Tick[Slots];
        CheckSameTicks(capture);

        var variants = new (string Name, Func<byte[], Tick[], LongHistogram, long> Pass)[]
        {
            ("ITCH parse + normalize: engine (frame, validate, normalize in place)", EnginePass),
            ("ITCH parse + normalize: BinaryReader peer (message objects)", PeerPass),
            ("ITCH parse + book: engine parse + MarketBooks.Apply", EngineBookPass),
        };
        var totals = variants.Select(_ => new LongHistogram(1_000_000_000, 3)).ToArray();
        var seconds = new double[variants.Length];
        var bytes = new long[variants.Length];
        var messages = new long[variants.Length];
        var rates = variants.Select(_ => new List<double>()).ToArray();

        // Warm-up: every variant through its tiers (and on-stack replacement) before measuring.
        for (int w = 0; w < 3; w++)
        {
            foreach ((_, Func<byte[], Tick[], LongHistogram, long> pass) in variants)
            {
                pass(capture, ticks, new LongHistogram(1_000_000_000, 3));
            }
        }

        for (int round = 0; round < rounds; round++)
        {
            for (int v = 0; v < variants.Length; v++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var h = new LongHistogram(1_000_000_000, 3);
                long before = GC.GetAllocatedBytesForCurrentThread();
                long start = MonotonicClock.NowNs();
                long n = 0;
                for (int p = 0; p < passes; p++)
                {
                    n += variants[v].Pass(capture, ticks, h);
                }

                double elapsed = (MonotonicClock.NowNs() - start) / 1e9;
                bytes[v] += GC.GetAllocatedBytesForCurrentThread() - before;
                seconds[v] += elapsed;
                messages[v] += n;
                rates[v].Add(n / elapsed);
                totals[v].Add(h);
            }
        }

        var rows = new List<Row>();
        for (int v = 0; v < variants.Length; v++)
        {
            rows.Add(Row.From(variants[v].Name, totals[v], messages[v] / seconds[v], (double)bytes[v] / messages[v]));
        }

        var perRound = rates[0].Zip(rates[1], (e, p) => e / p).ToList();
        var ratios = new List<Ratio>
        {
            new("ITCH parse + normalize msgs/s: engine / BinaryReader peer", Stats.Median(perRound), ">= 10"),
            new("ITCH parse + book msgs/s: engine / BinaryReader peer parse only", Stats.Median(rates[2].Zip(rates[1], (e, p) => e / p).ToList()), "(reported)"),
        };
        var notes = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"input: the bundled capture, {tickCount:N0} ticks from {CountMessages(capture):N0} messages ({capture.Length:N0} bytes) in memory; {rounds} alternating rounds × {passes} passes per variant, one thread"),
            string.Create(CultureInfo.InvariantCulture, $"parse + normalize ratio per round: {string.Join(" ", perRound.Select(x => x.ToString("F1", CultureInfo.InvariantCulture)))}"),
            "percentiles: ns per message from batches of 1,024 messages; bytes/op: allocated per message",
        };
        return new ScenarioPart(rows, ratios, notes);
    }

    // The engine's feed-thread work per message, minus the ring: frame, validate, normalize into a slot.
    private static long EnginePass(byte[] capture, Tick[] ticks, LongHistogram histogram)
    {
        var frames = new BinaryFileFrameReader(capture);
        long index = 0;
        int produced = 0;
        long batchStart = MonotonicClock.NowNs();
        while (frames.Next(out ReadOnlySpan<byte> m) != FrameStatus.End)
        {
            index++;
            if (ItchNormalizer.Classify(m, out _) == ItchDisposition.Tick)
            {
                ref Tick tick = ref ticks[produced++ & (ticks.Length - 1)];
                ItchNormalizer.NormalizeTick(m, ref tick, frames.Remaining);
                tick.Sequence = index;
            }

            if ((index & (Batch - 1)) == 0)
            {
                batchStart = RecordBatch(histogram, batchStart);
            }
        }

        return index;
    }

    private static long PeerPass(byte[] capture, Tick[] ticks, LongHistogram histogram)
    {
        using var parser = new BinaryReaderItchParser(capture);
        var tick = default(Tick);
        long index = 0;
        int produced = 0;
        long batchStart = MonotonicClock.NowNs();
        while (true)
        {
            bool made = parser.Next(ref tick, out bool end);
            if (end)
            {
                break;
            }

            index++;
            if (made)
            {
                ticks[produced++ & (ticks.Length - 1)] = tick;
            }

            if ((index & (Batch - 1)) == 0)
            {
                batchStart = RecordBatch(histogram, batchStart);
            }
        }

        return index;
    }

    private static long EngineBookPass(byte[] capture, Tick[] ticks, LongHistogram histogram)
    {
        var books = new MarketBooks(expectedLiveOrders: 1 << 16, expectedInstruments: 64);
        var frames = new BinaryFileFrameReader(capture);
        var tick = default(Tick);
        long index = 0;
        long batchStart = MonotonicClock.NowNs();
        while (frames.Next(out ReadOnlySpan<byte> m) != FrameStatus.End)
        {
            index++;
            if (ItchNormalizer.Classify(m, out _) == ItchDisposition.Tick)
            {
                ItchNormalizer.NormalizeTick(m, ref tick, frames.Remaining);
                tick.Sequence = index;
                books.Apply(in tick, out _);
            }

            if ((index & (Batch - 1)) == 0)
            {
                batchStart = RecordBatch(histogram, batchStart);
            }
        }

        GC.KeepAlive(ticks);
        return index;
    }

    private static long RecordBatch(LongHistogram histogram, long batchStart)
    {
        long now = MonotonicClock.NowNs();
        histogram.RecordValue(Math.Max(1, (now - batchStart) / Batch));
        return now;
    }

    // The comparison is only fair if both produce the same ticks.
    private static void CheckSameTicks(byte[] capture)
    {
        Tick[] engine = ItchTicks.Decode(capture);
        var peer = new List<Tick>(engine.Length);
        using var parser = new BinaryReaderItchParser(capture);
        var tick = default(Tick);
        while (true)
        {
            bool made = parser.Next(ref tick, out bool end);
            if (end)
            {
                break;
            }

            if (made)
            {
                peer.Add(tick);
            }
        }

        for (int i = 0; i < Math.Max(engine.Length, peer.Count); i++)
        {
            if (i >= engine.Length || i >= peer.Count || !engine[i].Equals(peer[i]))
            {
                throw new InvalidOperationException($"The BinaryReader peer disagrees with the engine at tick {i} ({peer.Count:N0} vs {engine.Length:N0} ticks).");
            }
        }
    }

    private static long CountMessages(byte[] capture)
    {
        var frames = new BinaryFileFrameReader(capture);
        long n = 0;
        while (frames.Next(out _) != FrameStatus.End)
        {
            n++;
        }

        return n;
    }
}
