using System.Runtime.CompilerServices;
using Engine.Book;
using Engine.Events;

namespace Engine.Features;

/// <summary>Counts kept by a <see cref="MarketState"/> and its processor; written by the stage thread, read after the run.</summary>
public sealed class ProcessorCounters
{
    private readonly long[] _byKind = new long[256];

    /// <summary>Ticks handled.</summary>
    public long Ticks { get; internal set; }

    /// <summary>Inference triggers that fired on a two-sided book.</summary>
    public long Triggers { get; internal set; }

    /// <summary>Predictions delivered (one per signal).</summary>
    public long Inferences { get; internal set; }

    /// <summary>Model runs: one per inference, or one per micro-batch when micro-batching.</summary>
    public long ModelRuns { get; internal set; }

    /// <summary>Triggers not scored because the instrument's window did not yet hold the windowed model's W rows (the row is kept in the window).</summary>
    public long SkippedWindowFilling { get; internal set; }

    /// <summary>Triggers skipped because the instrument's book had an empty side (no mid to compute features from).</summary>
    public long SkippedOneSided { get; internal set; }

    /// <summary>Bytes the stage thread allocated between its start and its stop (instrument set-up included; see the zero-allocation tests for the steady state).</summary>
    public long StageAllocatedBytes { get; internal set; }

    /// <summary>Messages the feed reported lost (the sum of <see cref="TickKind.SequenceGap"/> ticks' quantities); <c>OfKind(SequenceGap)</c> counts the gaps.</summary>
    public long MissedMessages { get; internal set; }

    /// <summary>Ticks handled of one kind.</summary>
    public long OfKind(TickKind kind) => _byKind[(byte)kind];

    internal void Count(TickKind kind) => _byKind[(byte)kind]++;
}

/// <summary>
/// Books plus features plus the trigger rule: everything between a tick and a model input. Shared by
/// the live/replay stage (<see cref="Pipeline.TickProcessor{TSignal}"/>) and offline tools (feature
/// dumps, model training), so the features a model is trained on are computed by the same code that
/// feeds it in production.
/// </summary>
/// <remarks>One thread. Allocation-free per tick once instruments are defined and the order index is sized.</remarks>
public sealed class MarketState
{
    private readonly MarketBooks _books;
    private readonly FeatureEngine _features;
    private readonly InferenceTrigger _trigger;

    /// <summary>Combines <paramref name="books"/> and <paramref name="features"/> under the spec's trigger.</summary>
    public MarketState(MarketBooks books, FeatureEngine features)
    {
        ArgumentNullException.ThrowIfNull(books);
        ArgumentNullException.ThrowIfNull(features);
        _books = books;
        _features = features;
        _trigger = features.Spec.Trigger;
    }

    /// <summary>The books.</summary>
    public MarketBooks Books => _books;

    /// <summary>The features.</summary>
    public FeatureEngine Features => _features;

    /// <summary>Counters.</summary>
    public ProcessorCounters Counters { get; } = new();

    /// <summary>
    /// Applies <paramref name="tick"/> to its book and the instrument's features. Returns the
    /// instrument's feature state when the trigger fires on a two-sided book (call
    /// <see cref="FeatureEngine.Compute"/> next), otherwise null.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public InstrumentFeatures? Apply(ref Tick tick)
    {
        Counters.Ticks++;
        Counters.Count(tick.Kind);
        if (tick.Kind == TickKind.SequenceGap)
        {
            // A feed-level event: no instrument, nothing to apply; counted, and the books carry on.
            Counters.MissedMessages += tick.Quantity;
            return null;
        }

        _books.Apply(in tick, out BookResult result);
        OrderBook? book = result.Book;

        // Events that change no book leave result.Book null; the two reference-data kinds name their
        // instrument's book but change neither its levels nor its features.
        if (book is null || tick.Kind is TickKind.InstrumentDefinition or TickKind.TradingStatus)
        {
            return null;
        }

        InstrumentFeatures state = _features.Get(book.Instrument);
        bool traded = result.TradeQuantity > 0 && result.TradeRestingSide != Side.None;
        if (traded)
        {
            _features.OnTrade(state, tick.ExchangeTimestampNs, result.TradeRestingSide, result.TradeQuantity);
        }

        if (result.TopChanged || !state.HasMid)
        {
            _features.OnBook(state, tick.ExchangeTimestampNs, book.Top);
        }

        bool fire = _trigger switch
        {
            InferenceTrigger.TopOfBookChange => result.TopChanged,
            InferenceTrigger.TopOfBookChangeOrTrade => result.TopChanged || traded,
            _ => true,
        };
        if (!fire)
        {
            return null;
        }

        if (!state.LastTop.IsTwoSided)
        {
            Counters.SkippedOneSided++;
            return null;
        }

        Counters.Triggers++;
        return state;
    }
}
