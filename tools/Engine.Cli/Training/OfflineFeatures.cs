using Engine.Book;
using Engine.Events;
using Engine.Features;
using FeedHandlers.Itch;

namespace Engine.Cli.Training;

/// <summary>One feature row, as the model would have seen it at a trigger.</summary>
/// <param name="Sequence">Source sequence of the triggering tick.</param>
/// <param name="Instrument">Instrument id.</param>
/// <param name="TimeNs">Event time.</param>
/// <param name="Mid">Mid price (1e-8 units) at that time.</param>
/// <param name="Features">The feature vector.</param>
public sealed record FeatureRow(long Sequence, int Instrument, long TimeNs, double Mid, float[] Features);

/// <summary>
/// Runs a capture through <see cref="MarketState"/> (the same books, features and trigger rule as the
/// replay stage, without threads or a model) and collects a row per trigger: what a quant trains on
/// is what production computes.
/// </summary>
public static class OfflineFeatures
{
    /// <summary>Every trigger's feature row, in capture order; <paramref name="symbols"/> maps instrument ids to symbols.</summary>
    public static List<FeatureRow> Extract(ReadOnlySpan<byte> capture, FeatureSpec spec, out Dictionary<int, string> symbols)
    {
        ArgumentNullException.ThrowIfNull(spec);
        using var features = new FeatureEngine(spec);
        var market = new MarketState(new MarketBooks(), features);
        var rows = new List<FeatureRow>();
        Tick[] ticks = ItchTicks.Decode(capture);
        for (int i = 0; i < ticks.Length; i++)
        {
            ref Tick tick = ref ticks[i];
            InstrumentFeatures? state = market.Apply(ref tick);
            if (state is null)
            {
                continue;
            }

            float[] row = features.Compute(state, tick.ExchangeTimestampNs).ToArray();
            TopOfBook top = state.LastTop;
            rows.Add(new FeatureRow(tick.Sequence, state.Instrument, tick.ExchangeTimestampNs, (top.BidPrice + (double)top.AskPrice) / 2, row));
        }

        symbols = market.Books.Books.ToDictionary(b => b.Instrument, b => b.SymbolText);
        return rows;
    }
}
