using System.Numerics;
using System.Runtime.CompilerServices;
using Engine.Book;
using Engine.Events;
using Engine.Native;

namespace Engine.Features;

/// <summary>Sizing of a <see cref="FeatureEngine"/>.</summary>
public sealed record FeatureEngineOptions
{
    /// <summary>Instrument rows allocated up front; more are added on a cold path (which allocates).</summary>
    public int InitialInstruments { get; init; } = 256;

    /// <summary>Mid changes kept per instrument (power of two). A return horizon that reaches past them is approximated and counted in <see cref="FeatureEngine.HorizonTruncations"/>.</summary>
    public int MidHistoryCapacity { get; init; } = 1024;
}

/// <summary>
/// Computes a <see cref="FeatureSpec"/>'s features incrementally per instrument, in event time, into
/// a pinned, 64-byte-aligned block: one row per instrument, each row starting on a cache line.
/// </summary>
/// <remarks>
/// Cost per event: O(1) state updates (an <c>exp</c> per decayed feature when the mid changes or a
/// trade prints); per computed row: one pass over the spec. No allocation once an instrument has a row.
/// Event time (exchange timestamps) drives every time-based feature, so a replay reproduces the same
/// values bit for bit. Threading: one thread (the book stage). Ownership: rows are valid until
/// <see cref="Dispose"/>, and a row is rewritten by the next <see cref="Compute"/> for its instrument.
/// </remarks>
public sealed class FeatureEngine : IDisposable
{
    private const double NsPerMs = 1e6;
    private const double Bps = 1e4;
    private const double MaxTimeSinceTradeMs = 3_600_000;

    private readonly FeatureKind[] _kinds;
    private readonly int[] _parameterIndex;
    private readonly long[] _horizonNs;
    private readonly double[] _emaTauNs;
    private readonly double[] _tradeTauNs;
    private readonly int _historyCapacity;
    private AlignedBuffer<float> _block;
    private InstrumentFeatures?[] _byInstrument = new InstrumentFeatures?[1024];
    private int _rows;
    private int _rowCapacity;

    /// <summary>Creates an engine for <paramref name="spec"/>; allocates the block for <see cref="FeatureEngineOptions.InitialInstruments"/> rows.</summary>
    public FeatureEngine(FeatureSpec spec, FeatureEngineOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= new FeatureEngineOptions();
        if (options.MidHistoryCapacity < 2 || !BitOperations.IsPow2(options.MidHistoryCapacity))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MidHistoryCapacity, "MidHistoryCapacity must be a power of two of at least 2.");
        }

        Spec = spec;
        Count = spec.Count;
        // Each row starts on its own cache line: 16 floats per 64 bytes.
        Stride = (Count + 15) & ~15;
        _historyCapacity = options.MidHistoryCapacity;
        _kinds = new FeatureKind[Count];
        _parameterIndex = new int[Count];
        var horizons = new List<long>();
        var emas = new List<double>();
        var trades = new List<double>();
        for (int i = 0; i < Count; i++)
        {
            FeatureDefinition f = spec.Features[i];
            _kinds[i] = f.Kind;
            switch (f.Kind)
            {
                case FeatureKind.MidReturnBps:
                    _parameterIndex[i] = horizons.Count;
                    horizons.Add((long)Math.Round(f.HorizonMs * NsPerMs));
                    break;
                case FeatureKind.MidEmaOffsetBps:
                    _parameterIndex[i] = emas.Count;
                    emas.Add(f.HalfLifeMs * NsPerMs / Math.Log(2));
                    break;
                case FeatureKind.TradeSignImbalance:
                    _parameterIndex[i] = trades.Count;
                    trades.Add(f.HalfLifeMs * NsPerMs / Math.Log(2));
                    break;
                default:
                    break;
            }
        }

        _horizonNs = [.. horizons];
        _emaTauNs = [.. emas];
        _tradeTauNs = [.. trades];
        _rowCapacity = Math.Max(1, options.InitialInstruments);
        _block = new AlignedBuffer<float>(_rowCapacity * Stride);
    }

    /// <summary>The spec computed.</summary>
    public FeatureSpec Spec { get; }

    /// <summary>Features per row.</summary>
    public int Count { get; }

    /// <summary>Floats between the starts of consecutive rows (a multiple of 16: rows are cache-line aligned).</summary>
    public int Stride { get; }

    /// <summary>Instruments with a row.</summary>
    public int Instruments => _rows;

    /// <summary>Times a return horizon reached past the kept mid history and used the oldest kept mid instead.</summary>
    public long HorizonTruncations { get; private set; }

    /// <summary>Times the block grew (each one allocated and copied).</summary>
    public int BlockResizes { get; private set; }

    /// <summary>The state of <paramref name="instrument"/>, created with its row on first use (cold path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public InstrumentFeatures Get(int instrument)
    {
        if ((uint)instrument < (uint)_byInstrument.Length && _byInstrument[instrument] is { } state)
        {
            return state;
        }

        return Create(instrument);
    }

    /// <summary>Updates an instrument after a book event at event time <paramref name="timeNs"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void OnBook(InstrumentFeatures state, long timeNs, in TopOfBook top)
    {
        if (state.FirstEventTime < 0)
        {
            state.FirstEventTime = timeNs;
        }

        state.Top = top;
        if (!top.IsTwoSided)
        {
            return;
        }

        double mid = (top.BidPrice + (double)top.AskPrice) * 0.5;
        if (state.HistoryCount == 0)
        {
            state.Ema.AsSpan().Fill(mid);
            AppendMid(state, timeNs, mid);
        }
        else if (mid != state.LastMid)
        {
            // The mid was LastMid from LastMidTime until now: decay each EMA toward it exactly.
            double dt = timeNs - state.LastMidTime;
            double[] ema = state.Ema;
            for (int k = 0; k < ema.Length; k++)
            {
                ema[k] = state.LastMid + ((ema[k] - state.LastMid) * Math.Exp(-dt / _emaTauNs[k]));
            }

            AppendMid(state, timeNs, mid);
        }
    }

    /// <summary>Records a trade against a resting <paramref name="restingSide"/> order at event time <paramref name="timeNs"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void OnTrade(InstrumentFeatures state, long timeNs, Side restingSide, long quantity)
    {
        if (state.FirstEventTime < 0)
        {
            state.FirstEventTime = timeNs;
        }

        // A resting sell executed means a buyer lifted the offer: positive sign.
        double sign = restingSide == Side.Sell ? 1.0 : -1.0;
        double dt = state.LastTradeTime < 0 ? 0 : timeNs - state.LastTradeTime;
        for (int k = 0; k < _tradeTauNs.Length; k++)
        {
            double decay = Math.Exp(-dt / _tradeTauNs[k]);
            state.SignedVolume[k] = (state.SignedVolume[k] * decay) + (sign * quantity);
            state.TotalVolume[k] = (state.TotalVolume[k] * decay) + quantity;
        }

        state.LastTradeTime = timeNs;
    }

    /// <summary>
    /// Computes every feature of <paramref name="state"/> at event time <paramref name="timeNs"/> into
    /// its row and returns the row. Requires a two-sided book (<see cref="InstrumentFeatures.HasMid"/>).
    /// </summary>
    public Span<float> Compute(InstrumentFeatures state, long timeNs)
    {
        Span<float> row = _block.Slice(state.Slot * Stride, Count);
        TopOfBook top = state.Top;
        double bid = top.BidPrice;
        double ask = top.AskPrice;
        double mid = state.LastMid;
        double bidQty = top.BidQuantity;
        double askQty = top.AskQuantity;
        double depth = bidQty + askQty;

        for (int i = 0; i < row.Length; i++)
        {
            double value;
            switch (_kinds[i])
            {
                case FeatureKind.SpreadBps:
                    value = (ask - bid) / mid * Bps;
                    break;
                case FeatureKind.MidReturnBps:
                    double reference = MidAt(state, _parameterIndex[i], timeNs - _horizonNs[_parameterIndex[i]]);
                    value = (mid - reference) / reference * Bps;
                    break;
                case FeatureKind.L1Imbalance:
                    value = depth > 0 ? (bidQty - askQty) / depth : 0;
                    break;
                case FeatureKind.MicropriceOffsetBps:
                    value = depth > 0 ? ((((bid * askQty) + (ask * bidQty)) / depth) - mid) / mid * Bps : 0;
                    break;
                case FeatureKind.TradeSignImbalance:
                    int t = _parameterIndex[i];
                    value = state.TotalVolume[t] > 0 ? state.SignedVolume[t] / state.TotalVolume[t] : 0;
                    break;
                case FeatureKind.MidEmaOffsetBps:
                    int e = _parameterIndex[i];
                    double ema = mid + ((state.Ema[e] - mid) * Math.Exp(-(timeNs - state.LastMidTime) / _emaTauNs[e]));
                    value = (mid - ema) / mid * Bps;
                    break;
                case FeatureKind.TimeSinceTradeMs:
                    long since = timeNs - (state.LastTradeTime >= 0 ? state.LastTradeTime : state.FirstEventTime);
                    value = Math.Min(since / NsPerMs, MaxTimeSinceTradeMs);
                    break;
                default:
                    value = 0;
                    break;
            }

            row[i] = (float)value;
        }

        return row;
    }

    /// <summary>The current row of <paramref name="state"/> (as last computed).</summary>
    public ReadOnlySpan<float> Row(InstrumentFeatures state) => _block.Slice(state.Slot * Stride, Count);

    /// <summary>Frees the block.</summary>
    public void Dispose() => _block.Dispose();

    private static void AppendMid(InstrumentFeatures state, long timeNs, double mid)
    {
        int i = (int)(state.HistoryCount & state.HistoryMask);
        state.HistoryTime[i] = timeNs;
        state.HistoryMid[i] = mid;
        state.HistoryCount++;
        state.LastMid = mid;
        state.LastMidTime = timeNs;
    }

    // The mid in force at event time `target`: the last recorded change at or before it. Cursors only
    // move forward because event time does not go back.
    private double MidAt(InstrumentFeatures state, int horizon, long target)
    {
        long count = state.HistoryCount;
        long oldest = count > state.HistoryTime.Length ? count - state.HistoryTime.Length : 0;
        ref long cursor = ref state.HorizonCursor[horizon];
        if (cursor < oldest - 1)
        {
            cursor = oldest - 1;
        }

        while (cursor + 1 < count && state.HistoryTime[(int)((cursor + 1) & state.HistoryMask)] <= target)
        {
            cursor++;
        }

        if (cursor >= oldest)
        {
            return state.HistoryMid[(int)(cursor & state.HistoryMask)];
        }

        if (cursor >= 0)
        {
            // The mid in force at the horizon was overwritten: use the oldest kept one, and say so.
            HorizonTruncations++;
        }

        // Before the first mid (warm-up) the return is measured from the first mid seen.
        return state.HistoryMid[(int)(oldest & state.HistoryMask)];
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private InstrumentFeatures Create(int instrument)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(instrument);
        if (instrument >= _byInstrument.Length)
        {
            Array.Resize(ref _byInstrument, Math.Max(instrument + 1, _byInstrument.Length * 2));
        }

        if (_rows == _rowCapacity)
        {
            GrowBlock();
        }

        var state = new InstrumentFeatures(instrument, _rows, _historyCapacity, _horizonNs.Length, _emaTauNs.Length, _tradeTauNs.Length);
        _rows++;
        _byInstrument[instrument] = state;
        return state;
    }

    private void GrowBlock()
    {
        var bigger = new AlignedBuffer<float>(_rowCapacity * 2 * Stride);
        _block.Span.CopyTo(bigger.Span);
        _block.Dispose();
        _block = bigger;
        _rowCapacity *= 2;
        BlockResizes++;
    }
}
