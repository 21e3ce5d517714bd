namespace Engine.Book;

/// <summary>Best bid and offer of one instrument; prices 1e-8 units, 0 on an empty side.</summary>
/// <param name="BidPrice">Best bid price.</param>
/// <param name="BidQuantity">Quantity at the best bid.</param>
/// <param name="AskPrice">Best ask price.</param>
/// <param name="AskQuantity">Quantity at the best ask.</param>
public readonly record struct TopOfBook(long BidPrice, long BidQuantity, long AskPrice, long AskQuantity)
{
    /// <summary>True when both sides have a level.</summary>
    public bool IsTwoSided => BidQuantity > 0 && AskQuantity > 0;

    /// <summary>True when the book is crossed or locked (bid at or above ask).</summary>
    public bool IsCrossedOrLocked => IsTwoSided && BidPrice >= AskPrice;
}

/// <summary>
/// The visible book of one instrument: aggregated bid and ask levels built from order-level events
/// by <see cref="MarketBooks"/>. Read it on the thread that applies the events.
/// </summary>
public sealed class OrderBook
{
    /// <summary>Creates an empty book for <paramref name="instrument"/>.</summary>
    public OrderBook(int instrument, ulong symbol, int initialLevels = 64)
    {
        Instrument = instrument;
        Symbol = symbol;
        Bids = new PriceLevels(isBid: true, initialLevels);
        Asks = new PriceLevels(isBid: false, initialLevels);
    }

    /// <summary>Instrument id.</summary>
    public int Instrument { get; }

    /// <summary>Packed symbol (see <see cref="Events.Symbol"/>), 0 when no definition was seen.</summary>
    public ulong Symbol { get; internal set; }

    /// <summary>Round lot from the instrument definition, 0 when unknown.</summary>
    public long RoundLot { get; internal set; }

    /// <summary>Last trading state code seen for the instrument (ITCH 'H': T trading, H halted, P paused, Q quotation only); 0 when none.</summary>
    public byte TradingState { get; internal set; }

    /// <summary>A top-of-book change seen in a price-level update marked <see cref="Events.TickFlags.BookInTransition"/>, reported at the event's last update.</summary>
    internal bool PendingTopChange { get; set; }

    /// <summary>Bid levels.</summary>
    public PriceLevels Bids { get; }

    /// <summary>Ask levels.</summary>
    public PriceLevels Asks { get; }

    /// <summary>Best bid and offer now.</summary>
    public TopOfBook Top => new(Bids.BestPrice, Bids.BestQuantity, Asks.BestPrice, Asks.BestQuantity);

    /// <summary>Symbol as text (allocates; cold path).</summary>
    public string SymbolText => Symbol == 0 ? $"#{Instrument}" : Events.Symbol.Unpack(Symbol);

    /// <summary>The side's levels for an order side.</summary>
    internal PriceLevels SideOf(Events.Side side) => side == Events.Side.Buy ? Bids : Asks;
}
