using Engine.Book;

namespace Engine.Features;

/// <summary>
/// Incremental feature state of one instrument: a history of mid changes (for returns over event-time
/// horizons), decayed averages and trade accumulators. Created once per instrument (cold path) and
/// updated in place by <see cref="FeatureEngine"/> on the book stage's thread.
/// </summary>
public sealed class InstrumentFeatures
{
    internal readonly long[] HistoryTime;
    internal readonly double[] HistoryMid;
    internal readonly int HistoryMask;
    internal readonly long[] HorizonCursor;
    internal readonly double[] Ema;
    internal readonly double[] SignedVolume;
    internal readonly double[] TotalVolume;

    internal long HistoryCount;
    internal long LastMidTime;
    internal double LastMid;
    internal long FirstEventTime = -1;
    internal long LastTradeTime = -1;
    internal TopOfBook Top;

    internal InstrumentFeatures(int instrument, int slot, int historyCapacity, int horizons, int emas, int tradeImbalances)
    {
        Instrument = instrument;
        Slot = slot;
        HistoryTime = new long[historyCapacity];
        HistoryMid = new double[historyCapacity];
        HistoryMask = historyCapacity - 1;
        HorizonCursor = new long[horizons];
        HorizonCursor.AsSpan().Fill(-1);
        Ema = new double[emas];
        SignedVolume = new double[tradeImbalances];
        TotalVolume = new double[tradeImbalances];
    }

    /// <summary>Instrument id.</summary>
    public int Instrument { get; }

    /// <summary>Row of this instrument in the feature block.</summary>
    public int Slot { get; }

    /// <summary>Mid changes recorded so far.</summary>
    public long MidChanges => HistoryCount;

    /// <summary>The last top of book seen.</summary>
    public TopOfBook LastTop => Top;

    /// <summary>True once the book has had both sides (a mid exists).</summary>
    public bool HasMid => HistoryCount > 0;
}
