namespace FeedHandlers.Itch;

/// <summary>
/// Receives decoded ITCH 5.0 messages, one method per type. Implement on a struct and pass it as a
/// generic argument to <see cref="ItchDecoder.Decode{THandler}"/> so dispatch is a switch and a
/// direct call. Messages are passed by <c>in</c> reference: copy what you keep.
/// </summary>
public interface IItchHandler
{
    /// <summary>'S' SystemEvent.</summary>
    void OnSystemEvent(in SystemEventMessage message);

    /// <summary>'R' StockDirectory.</summary>
    void OnStockDirectory(in StockDirectoryMessage message);

    /// <summary>'H' StockTradingAction.</summary>
    void OnStockTradingAction(in StockTradingActionMessage message);

    /// <summary>'Y' RegShoRestriction.</summary>
    void OnRegShoRestriction(in RegShoRestrictionMessage message);

    /// <summary>'L' MarketParticipantPosition.</summary>
    void OnMarketParticipantPosition(in MarketParticipantPositionMessage message);

    /// <summary>'V' MwcbDeclineLevel.</summary>
    void OnMwcbDeclineLevel(in MwcbDeclineLevelMessage message);

    /// <summary>'W' MwcbStatus.</summary>
    void OnMwcbStatus(in MwcbStatusMessage message);

    /// <summary>'K' IpoQuotingPeriodUpdate.</summary>
    void OnIpoQuotingPeriodUpdate(in IpoQuotingPeriodUpdateMessage message);

    /// <summary>'J' LuldAuctionCollar.</summary>
    void OnLuldAuctionCollar(in LuldAuctionCollarMessage message);

    /// <summary>'h' OperationalHalt.</summary>
    void OnOperationalHalt(in OperationalHaltMessage message);

    /// <summary>'A' AddOrder.</summary>
    void OnAddOrder(in AddOrderMessage message);

    /// <summary>'F' AddOrderMpid.</summary>
    void OnAddOrderMpid(in AddOrderMpidMessage message);

    /// <summary>'E' OrderExecuted.</summary>
    void OnOrderExecuted(in OrderExecutedMessage message);

    /// <summary>'C' OrderExecutedWithPrice.</summary>
    void OnOrderExecutedWithPrice(in OrderExecutedWithPriceMessage message);

    /// <summary>'X' OrderCancel.</summary>
    void OnOrderCancel(in OrderCancelMessage message);

    /// <summary>'D' OrderDelete.</summary>
    void OnOrderDelete(in OrderDeleteMessage message);

    /// <summary>'U' OrderReplace.</summary>
    void OnOrderReplace(in OrderReplaceMessage message);

    /// <summary>'P' Trade.</summary>
    void OnTrade(in TradeMessage message);

    /// <summary>'Q' CrossTrade.</summary>
    void OnCrossTrade(in CrossTradeMessage message);

    /// <summary>'B' BrokenTrade.</summary>
    void OnBrokenTrade(in BrokenTradeMessage message);

    /// <summary>'I' NetOrderImbalance.</summary>
    void OnNetOrderImbalance(in NetOrderImbalanceMessage message);

    /// <summary>'N' RetailInterest.</summary>
    void OnRetailInterest(in RetailInterestMessage message);

    /// <summary>'O' DirectListingPriceDiscovery.</summary>
    void OnDirectListingPriceDiscovery(in DirectListingPriceDiscoveryMessage message);
}
