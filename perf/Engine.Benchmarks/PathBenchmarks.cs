using BenchmarkDotNet.Attributes;
using Engine.Book;
using Engine.Events;
using Engine.Features;
using FeedHandlers.Itch;

namespace Engine.Benchmarks;

/// <summary>The stages of the tick path over the whole bundled capture; per-message cost = mean / messages.</summary>
[MemoryDiagnoser]
[BenchmarkCategory("path")]
public class PathBenchmarks
{
    private Tick[] _ticks = [];
    private FeatureSpec _spec = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ticks = Samples.Ticks();
        _spec = FeatureSpec.Load(Path.Combine(Samples.Directory, "demo.features.json"));
    }

    [Benchmark(Description = "ITCH frame + validate + normalize, whole capture")]
    public long ParseAndNormalize()
    {
        var frames = new BinaryFileFrameReader(Samples.Capture);
        var tick = default(Tick);
        long sum = 0;
        while (frames.Next(out ReadOnlySpan<byte> m) != FrameStatus.End)
        {
            if (ItchNormalizer.Classify(m, out _) == ItchDisposition.Tick)
            {
                ItchNormalizer.NormalizeTick(m, ref tick, frames.Remaining);
                sum += tick.Quantity;
            }
        }

        return sum;
    }

    [Benchmark(Description = "books + features + trigger (MarketState), whole capture")]
    public long BooksAndFeatures()
    {
        using var features = new FeatureEngine(_spec);
        var market = new MarketState(new MarketBooks(), features);
        long triggers = 0;
        for (int i = 0; i < _ticks.Length; i++)
        {
            if (market.Apply(ref _ticks[i]) is { } state)
            {
                features.Compute(state, _ticks[i].ExchangeTimestampNs);
                triggers++;
            }
        }

        return triggers;
    }
}
