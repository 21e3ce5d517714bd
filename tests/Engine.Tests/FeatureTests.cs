using Engine.Book;
using Engine.Events;
using Engine.Features;

namespace Engine.Tests;

[TestFixture]
public sealed class FeatureTests
{
    private const long Ms = 1_000_000;
    private static long Px(decimal dollars) => (long)(dollars * Tick.PriceScale);

    [Test]
    public void HandComputedScenario()
    {
        FeatureSpec spec = FeatureSpec.Parse("""
            { "input": "x", "features": [
              { "name": "spread_bps" },
              { "name": "mid_return_bps", "horizon_ms": 2000 },
              { "name": "l1_imbalance" },
              { "name": "microprice_offset_bps" },
              { "name": "trade_sign_imbalance", "half_life_ms": 1000 },
              { "name": "mid_ema_offset_bps", "half_life_ms": 1000 },
              { "name": "time_since_trade_ms" } ] }
            """);
        using var features = new FeatureEngine(spec);
        var books = new MarketBooks();
        var market = new MarketState(books, features);
        Feed(market, new Tick { Kind = TickKind.InstrumentDefinition, Instrument = 1, RelatedId = Symbol.Pack("ACME"), Quantity = 100 });

        // t=0: bid 100.00 x 300 (one-sided: no inference), then ask 100.10 x 100: mid 100.05.
        Assert.That(Feed(market, Add(0, 1, Side.Buy, 100.00m, 300)), Is.Null, "one-sided book");
        Assert.That(market.Counters.SkippedOneSided, Is.EqualTo(1));
        Assert.That(Feed(market, Add(0, 2, Side.Sell, 100.10m, 100)), Is.Not.Null);
        // t=0.5s: 40 of the resting sell execute: buyers lift the offer (+40).
        Feed(market, new Tick { Kind = TickKind.OrderExecuted, Instrument = 1, ExchangeTimestampNs = 500 * Ms, OrderId = 2, Quantity = 40 });
        // t=1.5s: a better bid, 100.04 x 200: mid 100.07.
        Feed(market, Add(1500 * Ms, 3, Side.Buy, 100.04m, 200));
        // t=2.0s: a non-displayed buy order is hit for 100 (sellers: −100). No top change, no inference.
        Assert.That(Feed(market, new Tick { Kind = TickKind.Trade, Instrument = 1, ExchangeTimestampNs = 2000 * Ms, Side = Side.Buy, Quantity = 100, Price = Px(100.05m) }), Is.Null);
        // t=2.5s: 50 of the ask cancelled: ask 100.10 x 10. Inference triggers here.
        InstrumentFeatures? state = Feed(market, new Tick { Kind = TickKind.OrderCancel, Instrument = 1, ExchangeTimestampNs = 2500 * Ms, OrderId = 2, Quantity = 50 });
        Assert.That(state, Is.Not.Null);
        float[] row = features.Compute(state!, 2500 * Ms).ToArray();

        double mid = (100.04 + 100.10) / 2;
        double decay = Math.Pow(2, -1.5);                          // 1.5 s at a 1 s half-life
        double signed = (40 * decay) - 100, total = (40 * decay) + 100;
        double ema = mid + ((100.05 - mid) * Math.Pow(2, -1.0));    // EMA sat at 100.05 until 1.5 s, then 1 s toward 100.07
        double micro = ((100.04 * 10) + (100.10 * 200)) / 210;
        double[] expected =
        [
            (100.10 - 100.04) / mid * 1e4,                          // spread_bps ≈ 5.9958
            (mid - 100.05) / 100.05 * 1e4,                          // mid at t−2 s (0.5 s) was 100.05 ≈ 1.9990
            (200.0 - 10) / 210,                                     // l1_imbalance ≈ 0.9048
            (micro - mid) / mid * 1e4,                              // microprice_offset_bps ≈ 2.7129
            signed / total,                                         // trade_sign_imbalance ≈ −0.7522
            (mid - ema) / mid * 1e4,                                // mid_ema_offset_bps ≈ 0.9993
            500,                                                    // time_since_trade_ms
        ];
        Assert.That(row, Has.Length.EqualTo(expected.Length));
        for (int i = 0; i < row.Length; i++)
        {
            Assert.That(row[i], Is.EqualTo(expected[i]).Within(1e-4).Percent, spec.Features[i].ColumnName);
        }
    }

    [Test]
    public void ReturnHorizonsReadTheMidInForceAtTheHorizon()
    {
        FeatureSpec spec = FeatureSpec.Parse("""{ "input": "x", "features": [ { "name": "mid_return_bps", "horizon_ms": 1000 } ] }""");
        using var features = new FeatureEngine(spec, new FeatureEngineOptions { MidHistoryCapacity = 4 });
        InstrumentFeatures s = features.Get(1);
        // Mids 100, 101, 102, 103, 104 at 0, 1, 2, 3, 4 s.
        for (int i = 0; i <= 4; i++)
        {
            features.OnBook(s, i * 1000 * Ms, Top(100 + i));
        }

        // At 4.5 s the horizon is 3.5 s: the mid in force then was 103.
        Assert.That(features.Compute(s, 4500 * Ms)[0], Is.EqualTo((float)((104.0 - 103) / 103 * 1e4)));
        Assert.That(features.HorizonTruncations, Is.Zero);

        // With only 4 mids kept (101..104), a horizon that reaches back to 0.9 s, when 100 was in force,
        // is approximated by the oldest kept mid and counted.
        using var shallow = new FeatureEngine(FeatureSpec.Parse("""{ "input": "x", "features": [ { "name": "mid_return_bps", "horizon_ms": 3500 } ] }"""), new FeatureEngineOptions { MidHistoryCapacity = 4 });
        InstrumentFeatures t = shallow.Get(1);
        for (int i = 0; i <= 4; i++)
        {
            shallow.OnBook(t, i * 1000 * Ms, Top(100 + i));
        }

        Assert.That(shallow.Compute(t, 4400 * Ms)[0], Is.EqualTo((float)((104.0 - 101) / 101 * 1e4)));
        Assert.That(shallow.HorizonTruncations, Is.EqualTo(1));
    }

    [Test]
    public void RowsAreCacheLineAligned()
    {
        FeatureSpec spec = FeatureSpec.Parse("""{ "input": "x", "features": [ { "name": "spread_bps" }, { "name": "l1_imbalance" } ] }""");
        using var features = new FeatureEngine(spec, new FeatureEngineOptions { InitialInstruments = 2 });
        Assert.That(features.Stride, Is.EqualTo(16));
        for (int i = 0; i < 5; i++)
        {
            InstrumentFeatures s = features.Get(i);
            features.OnBook(s, 0, Top(100));
            unsafe
            {
                fixed (float* p = features.Compute(s, 0))
                {
                    Assert.That((long)p % 64, Is.Zero, $"row {i}");
                }
            }
        }

        Assert.That(features.BlockResizes, Is.GreaterThan(0));
    }

    [TestCase("""{ "features": [ { "name": "spread_bps" } ] }""", "missing string property 'input'")]
    [TestCase("""{ "input": "x", "features": [ { "name": "vwap" } ] }""", "unknown feature 'vwap'")]
    [TestCase("""{ "input": "x", "features": [ { "name": "mid_return_bps" } ] }""", "needs a positive 'horizon_ms'")]
    [TestCase("""{ "input": "x", "features": [ { "name": "mid_ema_offset_bps", "half_life_ms": -5 } ] }""", "'half_life_ms' must be a positive number")]
    [TestCase("""{ "input": "x", "features": [] }""", "lists no features")]
    [TestCase("""{ "input": "x", "trigger": "sometimes", "features": [ { "name": "spread_bps" } ] }""", "unknown trigger 'sometimes'")]
    [TestCase("""{ "input": "x", "features": [ { "name": "spread_bps" } ] """, "not valid JSON")]
    public void MalformedSpecsSayWhatIsWrong(string json, string message) =>
        Assert.That(() => FeatureSpec.Parse(json, "spec.json"), Throws.TypeOf<FeatureSpecException>().With.Message.Contains(message).And.Message.Contains("spec.json"));

    [Test]
    public void BundledSpecLoads()
    {
        FeatureSpec spec = FeatureSpec.Load(Path.Combine(TestData.Samples, "demo.features.json"));
        Assert.That(spec.Count, Is.EqualTo(9));
        Assert.That(spec.InputName, Is.EqualTo("features"));
        Assert.That(spec.ModelPath, Is.EqualTo(Path.Combine(TestData.Samples, "demo.onnx")));
        Assert.That(spec.Features.Select(f => f.Kind).Distinct().Count(), Is.EqualTo(Enum.GetValues<FeatureKind>().Length), "the demo spec uses every feature kind");
    }

    private static TopOfBook Top(decimal mid) => new(Px(mid - 0.01m), 100, Px(mid + 0.01m), 100);

    private static Tick Add(long time, ulong id, Side side, decimal price, long quantity) =>
        new() { Kind = TickKind.AddOrder, Instrument = 1, ExchangeTimestampNs = time, OrderId = id, Side = side, Price = Px(price), Quantity = quantity };

    private static InstrumentFeatures? Feed(MarketState market, Tick tick) => market.Apply(ref tick);
}
