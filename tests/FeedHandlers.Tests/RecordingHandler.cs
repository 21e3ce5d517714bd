using FeedHandlers.Itch;

namespace FeedHandlers.Tests;

/// <summary>Keeps the last message of each type and counts calls.</summary>
internal struct RecordingHandler : IItchHandler
{
    public int Calls;
    public SystemEventMessage SystemEvent;
    public StockDirectoryMessage StockDirectory;
    public StockTradingActionMessage StockTradingAction;
    public RegShoRestrictionMessage RegSho;
    public MarketParticipantPositionMessage Participant;
    public MwcbDeclineLevelMessage MwcbDecline;
    public MwcbStatusMessage MwcbStatus;
    public IpoQuotingPeriodUpdateMessage Ipo;
    public LuldAuctionCollarMessage Luld;
    public OperationalHaltMessage OperationalHalt;
    public AddOrderMessage Add;
    public AddOrderMpidMessage AddMpid;
    public OrderExecutedMessage Executed;
    public OrderExecutedWithPriceMessage ExecutedWithPrice;
    public OrderCancelMessage Cancel;
    public OrderDeleteMessage Delete;
    public OrderReplaceMessage Replace;
    public TradeMessage Trade;
    public CrossTradeMessage Cross;
    public BrokenTradeMessage Broken;
    public NetOrderImbalanceMessage Noii;
    public RetailInterestMessage Rpii;
    public DirectListingPriceDiscoveryMessage Dlcr;

    public void OnSystemEvent(in SystemEventMessage message)
    {
        SystemEvent = message;
        Calls++;
    }

    public void OnStockDirectory(in StockDirectoryMessage message)
    {
        StockDirectory = message;
        Calls++;
    }

    public void OnStockTradingAction(in StockTradingActionMessage message)
    {
        StockTradingAction = message;
        Calls++;
    }

    public void OnRegShoRestriction(in RegShoRestrictionMessage message)
    {
        RegSho = message;
        Calls++;
    }

    public void OnMarketParticipantPosition(in MarketParticipantPositionMessage message)
    {
        Participant = message;
        Calls++;
    }

    public void OnMwcbDeclineLevel(in MwcbDeclineLevelMessage message)
    {
        MwcbDecline = message;
        Calls++;
    }

    public void OnMwcbStatus(in MwcbStatusMessage message)
    {
        MwcbStatus = message;
        Calls++;
    }

    public void OnIpoQuotingPeriodUpdate(in IpoQuotingPeriodUpdateMessage message)
    {
        Ipo = message;
        Calls++;
    }

    public void OnLuldAuctionCollar(in LuldAuctionCollarMessage message)
    {
        Luld = message;
        Calls++;
    }

    public void OnOperationalHalt(in OperationalHaltMessage message)
    {
        OperationalHalt = message;
        Calls++;
    }

    public void OnAddOrder(in AddOrderMessage message)
    {
        Add = message;
        Calls++;
    }

    public void OnAddOrderMpid(in AddOrderMpidMessage message)
    {
        AddMpid = message;
        Calls++;
    }

    public void OnOrderExecuted(in OrderExecutedMessage message)
    {
        Executed = message;
        Calls++;
    }

    public void OnOrderExecutedWithPrice(in OrderExecutedWithPriceMessage message)
    {
        ExecutedWithPrice = message;
        Calls++;
    }

    public void OnOrderCancel(in OrderCancelMessage message)
    {
        Cancel = message;
        Calls++;
    }

    public void OnOrderDelete(in OrderDeleteMessage message)
    {
        Delete = message;
        Calls++;
    }

    public void OnOrderReplace(in OrderReplaceMessage message)
    {
        Replace = message;
        Calls++;
    }

    public void OnTrade(in TradeMessage message)
    {
        Trade = message;
        Calls++;
    }

    public void OnCrossTrade(in CrossTradeMessage message)
    {
        Cross = message;
        Calls++;
    }

    public void OnBrokenTrade(in BrokenTradeMessage message)
    {
        Broken = message;
        Calls++;
    }

    public void OnNetOrderImbalance(in NetOrderImbalanceMessage message)
    {
        Noii = message;
        Calls++;
    }

    public void OnRetailInterest(in RetailInterestMessage message)
    {
        Rpii = message;
        Calls++;
    }

    public void OnDirectListingPriceDiscovery(in DirectListingPriceDiscoveryMessage message)
    {
        Dlcr = message;
        Calls++;
    }
}
