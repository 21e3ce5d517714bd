using Engine.Events;
using FeedHandlers.Itch;

namespace Engine.Cli.Sample;

/// <summary>Parameters of the bundled sample capture.</summary>
public sealed record SampleOptions
{
    /// <summary>PRNG seed: the same seed gives the same bytes.</summary>
    public ulong Seed { get; init; } = 20_261_129;

    /// <summary>Order-flow events to simulate (each is one or more messages).</summary>
    public int OrderEvents { get; init; } = 250_000;

    /// <summary>Mean event-time gap between events, across all instruments, in microseconds.</summary>
    public double MeanGapMicroseconds { get; init; } = 150;
}

/// <summary>
/// A deterministic ITCH 5.0 generator for the bundled sample (NASDAQ's data may not be
/// redistributed). It simulates a handful of instruments whose books follow a drifting fair value:
/// passive adds near the touch (some attributed), partial cancels, deletes, replaces, marketable
/// orders that execute the resting queue in time priority (E, some C), non-displayed trades (P),
/// and the session's reference data, crosses and system events. Every message is consistent with
/// the book it implies: no execution of an unknown order, no crossed book.
/// </summary>
public static class ItchSampleGenerator
{
    private const long Tick = 100;               // $0.01 in ITCH Price(4) units
    private const long OpenNs = 34_200_000_000_000; // 09:30:00

    private static readonly (string Symbol, double Price, double Weight)[] s_instruments =
    [
        ("ACME", 42.17, 0.32),
        ("BOLT", 118.40, 0.24),
        ("CRUX", 17.83, 0.20),
        ("DYNA", 251.06, 0.14),
        ("EPIC", 8.52, 0.10),
    ];

    /// <summary>The instruments' symbols, by stock locate (1-based).</summary>
    public static IReadOnlyList<string> Symbols { get; } = [.. s_instruments.Select(i => i.Symbol)];

    /// <summary>Generates the capture in BinaryFILE framing.</summary>
    public static byte[] Generate(SampleOptions? options = null)
    {
        options ??= new SampleOptions();
        var rng = new SplitMix64(options.Seed);
        var w = new ItchWriter(options.OrderEvents * 40);
        var sims = new Sim[s_instruments.Length];
        long t = OpenNs - 3_600_000_000_000; // 08:30
        ulong nextOrderId = 1_000_000;
        ulong nextMatch = 1;

        w.SystemEvent(t, 'O');
        t += 1_000_000;
        w.SystemEvent(t, 'S');
        for (int i = 0; i < sims.Length; i++)
        {
            (string symbol, double price, _) = s_instruments[i];
            var sim = new Sim((ushort)(i + 1), symbol, Math.Round(price * 10_000 / Tick));
            sims[i] = sim;
            t += 1000;
            w.StockDirectory(sim.Locate, t, symbol, 100);
            t += 1000;
            w.StockTradingAction(sim.Locate, t, symbol, 'T');
            t += 1000;
            w.RegShoRestriction(sim.Locate, t, symbol, '0');
            t += 1000;
            w.MarketParticipantPosition(sim.Locate, t, "GSCO", symbol, primary: true, 'N', 'A');
        }

        // Pre-open: seed each book with a few levels a side.
        t = OpenNs - 1_000_000_000;
        foreach (Sim sim in sims)
        {
            for (int k = 0; k < 30; k++)
            {
                t += 10_000;
                AddPassive(sim, k % 2 == 0 ? Side.Buy : Side.Sell, rng, w, t, ref nextOrderId);
            }
        }

        t = OpenNs;
        w.SystemEvent(t, 'Q');
        double[] cumulative = CumulativeWeights();
        ulong brokenCandidate = 0;
        for (int e = 0; e < options.OrderEvents; e++)
        {
            t += Math.Max(1, (long)rng.Exponential(options.MeanGapMicroseconds * 1000));
            Sim sim = sims[Pick(cumulative, rng.NextDouble())];
            // The fair value drifts about 1.5 ticks per second of event time per instrument.
            sim.Fair += rng.Gaussian() * 0.06;

            double u = rng.NextDouble();
            if (sim.Live.Count < 24 || u < 0.45)
            {
                AddPassive(sim, ChooseSide(sim, rng), rng, w, t, ref nextOrderId);
            }
            else if (u < 0.75)
            {
                ulong id = sim.RandomLive(rng);
                sim.Remove(id);
                w.OrderDelete(sim.Locate, t, id);
            }
            else if (u < 0.79)
            {
                ulong id = sim.RandomLive(rng);
                Order o = sim.Orders[id];
                if (o.Shares > 100)
                {
                    uint cut = (uint)(100 * (1 + rng.Next((int)(o.Shares / 100) - 1 + 1)));
                    cut = Math.Min(cut, o.Shares - 1);
                    sim.Reduce(id, cut);
                    w.OrderCancel(sim.Locate, t, id, cut);
                }
                else
                {
                    sim.Remove(id);
                    w.OrderDelete(sim.Locate, t, id);
                }
            }
            else if (u < 0.86)
            {
                Replace(sim, rng, w, t, ref nextOrderId);
            }
            else if (u < 0.97)
            {
                ulong first = Marketable(sim, rng, w, t, ref nextMatch);
                if (brokenCandidate == 0 && first != 0 && e > options.OrderEvents / 2)
                {
                    brokenCandidate = first;
                }
            }
            else
            {
                HiddenTrade(sim, rng, w, t, ref nextMatch);
            }

            if (e % 50_000 == 25_000)
            {
                t += 1000;
                w.RetailInterest(sim.Locate, t, sim.Symbol, rng.Chance(0.5) ? 'B' : 'S');
            }
        }

        if (brokenCandidate != 0)
        {
            t += 1000;
            w.BrokenTrade(sims[0].Locate, t, brokenCandidate);
        }

        // Closing: imbalance indicators, the closing cross, end of session.
        t += 1_000_000;
        foreach (Sim sim in sims)
        {
            long mid = sim.MidPrice4();
            t += 1000;
            w.NetOrderImbalance(sim.Locate, t, 10_000, 500, 'B', sim.Symbol, Engine(mid), Engine(mid), Engine(mid), 'C');
        }

        t += 1_000_000;
        w.SystemEvent(t, 'M');
        foreach (Sim sim in sims)
        {
            t += 1000;
            w.CrossTrade(sim.Locate, t, 25_000, sim.Symbol, Engine(sim.MidPrice4()), nextMatch++, 'C');
        }

        t += 1_000_000;
        w.SystemEvent(t, 'E');
        t += 1_000_000;
        w.SystemEvent(t, 'C');
        return w.ToArray();
    }

    private static long Engine(long price4) => price4 * ItchSpec.Price4ToEngine;

    private static double[] CumulativeWeights()
    {
        double total = s_instruments.Sum(i => i.Weight);
        var c = new double[s_instruments.Length];
        double sum = 0;
        for (int i = 0; i < c.Length; i++)
        {
            sum += s_instruments[i].Weight / total;
            c[i] = sum;
        }

        return c;
    }

    private static int Pick(double[] cumulative, double u)
    {
        for (int i = 0; i < cumulative.Length; i++)
        {
            if (u < cumulative[i])
            {
                return i;
            }
        }

        return cumulative.Length - 1;
    }

    private static Side ChooseSide(Sim sim, SplitMix64 rng)
    {
        int bids = sim.Bids.Count;
        int asks = sim.Asks.Count;
        if (bids < 3)
        {
            return Side.Buy;
        }

        if (asks < 3)
        {
            return Side.Sell;
        }

        return rng.Chance(0.5) ? Side.Buy : Side.Sell;
    }

    private static uint Shares(SplitMix64 rng) => rng.Chance(0.08) ? (uint)(1 + rng.Next(99)) : (uint)(100 * (1 + Math.Min(rng.Geometric(0.35), 30)));

    private static void AddPassive(Sim sim, Side side, SplitMix64 rng, ItchWriter w, long t, ref ulong nextOrderId)
    {
        long price = PassivePrice(sim, side, rng.Geometric(0.3));
        ulong id = nextOrderId++;
        uint shares = Shares(rng);
        sim.Add(id, side, price, shares);
        w.AddOrder(sim.Locate, t, id, side, shares, sim.Symbol, Engine(price), rng.Chance(0.1) ? "GSCO" : null);
    }

    // A price on `side` at `depth` ticks behind the fair value, never crossing the other side.
    private static long PassivePrice(Sim sim, Side side, int depth)
    {
        if (side == Side.Buy)
        {
            long price = ((long)Math.Floor(sim.Fair - 0.5) - depth) * Tick;
            long bestAsk = sim.BestAsk();
            if (bestAsk > 0 && price >= bestAsk)
            {
                price = bestAsk - Tick;
            }

            return Math.Max(Tick, price);
        }
        else
        {
            long price = ((long)Math.Ceiling(sim.Fair + 0.5) + depth) * Tick;
            long bestBid = sim.BestBid();
            if (bestBid > 0 && price <= bestBid)
            {
                price = bestBid + Tick;
            }

            return price;
        }
    }

    private static void Replace(Sim sim, SplitMix64 rng, ItchWriter w, long t, ref ulong nextOrderId)
    {
        ulong id = sim.RandomLive(rng);
        Order o = sim.Orders[id];
        sim.Remove(id);
        long price = o.Price + ((rng.Next(5) - 2) * Tick);
        if (o.Side == Side.Buy)
        {
            long bestAsk = sim.BestAsk();
            if (bestAsk > 0 && price >= bestAsk)
            {
                price = bestAsk - Tick;
            }
        }
        else
        {
            long bestBid = sim.BestBid();
            if (bestBid > 0 && price <= bestBid)
            {
                price = bestBid + Tick;
            }
        }

        price = Math.Max(Tick, price);
        ulong newId = nextOrderId++;
        uint shares = Shares(rng);
        sim.Add(newId, o.Side, price, shares);
        w.OrderReplace(sim.Locate, t, id, newId, shares, Engine(price));
    }

    // A marketable order sweeps the opposite side in price-time priority. Returns its first match number.
    private static ulong Marketable(Sim sim, SplitMix64 rng, ItchWriter w, long t, ref ulong nextMatch)
    {
        // Aggressors lean toward the fair value: buy when it is above the mid.
        long mid = sim.MidPrice4();
        double pBuy = mid == 0 ? 0.5 : Math.Clamp(0.5 + ((sim.Fair * Tick) - mid) / (4.0 * Tick), 0.15, 0.85);
        bool buy = rng.Chance(pBuy);
        SortedDictionary<long, List<ulong>> book = buy ? sim.Asks : sim.Bids;
        long remaining = 100L * (1 + Math.Min(rng.Geometric(0.45), 20));
        ulong first = 0;
        while (remaining > 0 && book.Count > 1)
        {
            long level = buy ? book.Keys.First() : book.Keys.Last();
            ulong id = book[level][0];
            Order o = sim.Orders[id];
            uint fill = (uint)Math.Min(remaining, o.Shares);
            ulong match = nextMatch++;
            if (first == 0)
            {
                first = match;
            }

            if (rng.Chance(0.04))
            {
                w.OrderExecutedWithPrice(sim.Locate, t, id, fill, match, printable: true, Engine(o.Price));
            }
            else
            {
                w.OrderExecuted(sim.Locate, t, id, fill, match);
            }

            if (fill == o.Shares)
            {
                sim.Remove(id);
            }
            else
            {
                sim.Reduce(id, fill);
            }

            remaining -= fill;
            t += 1;
        }

        return first;
    }

    private static void HiddenTrade(Sim sim, SplitMix64 rng, ItchWriter w, long t, ref ulong nextMatch)
    {
        long bid = sim.BestBid();
        long ask = sim.BestAsk();
        if (bid == 0 || ask == 0)
        {
            return;
        }

        long price = ask - bid > Tick ? bid + Tick : (rng.Chance(0.5) ? bid : ask);
        w.Trade(sim.Locate, t, 0, rng.Chance(0.5) ? Side.Buy : Side.Sell, (uint)(100 * (1 + rng.Next(3))), sim.Symbol, Engine(price), nextMatch++);
    }

    private readonly record struct Order(Side Side, long Price, uint Shares);

    private sealed class Sim(ushort locate, string symbol, double fairTicks)
    {
        private readonly Dictionary<ulong, int> _liveIndex = [];

        public ushort Locate { get; } = locate;

        public string Symbol { get; } = symbol;

        public double Fair { get; set; } = fairTicks;

        public Dictionary<ulong, Order> Orders { get; } = [];

        public List<ulong> Live { get; } = [];

        public SortedDictionary<long, List<ulong>> Bids { get; } = [];

        public SortedDictionary<long, List<ulong>> Asks { get; } = [];

        public long BestBid() => Bids.Count == 0 ? 0 : Bids.Keys.Last();

        public long BestAsk() => Asks.Count == 0 ? 0 : Asks.Keys.First();

        public long MidPrice4()
        {
            long bid = BestBid();
            long ask = BestAsk();
            return bid == 0 || ask == 0 ? (long)Math.Round(Fair) * Tick : (bid + ask) / 2 / Tick * Tick;
        }

        public ulong RandomLive(SplitMix64 rng) => Live[rng.Next(Live.Count)];

        public void Add(ulong id, Side side, long price, uint shares)
        {
            Orders[id] = new Order(side, price, shares);
            SortedDictionary<long, List<ulong>> book = side == Side.Buy ? Bids : Asks;
            if (!book.TryGetValue(price, out List<ulong>? queue))
            {
                queue = [];
                book[price] = queue;
            }

            queue.Add(id);
            _liveIndex[id] = Live.Count;
            Live.Add(id);
        }

        public void Reduce(ulong id, uint shares)
        {
            Order o = Orders[id];
            Orders[id] = o with { Shares = o.Shares - shares };
        }

        public void Remove(ulong id)
        {
            Order o = Orders[id];
            Orders.Remove(id);
            SortedDictionary<long, List<ulong>> book = o.Side == Side.Buy ? Bids : Asks;
            List<ulong> queue = book[o.Price];
            queue.Remove(id);
            if (queue.Count == 0)
            {
                book.Remove(o.Price);
            }

            int i = _liveIndex[id];
            ulong last = Live[^1];
            Live[i] = last;
            _liveIndex[last] = i;
            Live.RemoveAt(Live.Count - 1);
            _liveIndex.Remove(id);
        }
    }
}
