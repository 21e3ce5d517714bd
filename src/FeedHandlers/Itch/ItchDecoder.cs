using System.Runtime.CompilerServices;
using Engine.Events;

namespace FeedHandlers.Itch;

/// <summary>
/// Validates and decodes single ITCH 5.0 messages (without their framing). Allocation-free; bad input
/// is reported as a <see cref="RejectReason"/>, never thrown.
/// </summary>
public static class ItchDecoder
{
    /// <summary>Checks that <paramref name="message"/> is a known type of exactly its spec length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryValidate(ReadOnlySpan<byte> message, out RejectReason reason)
    {
        if (message.IsEmpty)
        {
            reason = RejectReason.EmptyFrame;
            return false;
        }

        int expected = ItchSpec.LengthOf(message[0]);
        if (expected == 0)
        {
            reason = RejectReason.UnknownMessageType;
            return false;
        }

        if (message.Length != expected)
        {
            reason = RejectReason.LengthMismatch;
            return false;
        }

        reason = default;
        return true;
    }

    /// <summary>
    /// Validates <paramref name="message"/> and hands it, decoded, to the matching method of
    /// <paramref name="handler"/>. Returns false with the reason when the message is rejected.
    /// </summary>
    public static bool Decode<THandler>(ReadOnlySpan<byte> message, ref THandler handler, out RejectReason reason)
        where THandler : struct, IItchHandler
    {
        if (!TryValidate(message, out reason))
        {
            return false;
        }

        switch (message[0])
        {
            case (byte)'S':
                handler.OnSystemEvent(new SystemEventMessage(message));
                break;
            case (byte)'R':
                handler.OnStockDirectory(new StockDirectoryMessage(message));
                break;
            case (byte)'H':
                handler.OnStockTradingAction(new StockTradingActionMessage(message));
                break;
            case (byte)'Y':
                handler.OnRegShoRestriction(new RegShoRestrictionMessage(message));
                break;
            case (byte)'L':
                handler.OnMarketParticipantPosition(new MarketParticipantPositionMessage(message));
                break;
            case (byte)'V':
                handler.OnMwcbDeclineLevel(new MwcbDeclineLevelMessage(message));
                break;
            case (byte)'W':
                handler.OnMwcbStatus(new MwcbStatusMessage(message));
                break;
            case (byte)'K':
                handler.OnIpoQuotingPeriodUpdate(new IpoQuotingPeriodUpdateMessage(message));
                break;
            case (byte)'J':
                handler.OnLuldAuctionCollar(new LuldAuctionCollarMessage(message));
                break;
            case (byte)'h':
                handler.OnOperationalHalt(new OperationalHaltMessage(message));
                break;
            case (byte)'A':
                handler.OnAddOrder(new AddOrderMessage(message));
                break;
            case (byte)'F':
                handler.OnAddOrderMpid(new AddOrderMpidMessage(message));
                break;
            case (byte)'E':
                handler.OnOrderExecuted(new OrderExecutedMessage(message));
                break;
            case (byte)'C':
                handler.OnOrderExecutedWithPrice(new OrderExecutedWithPriceMessage(message));
                break;
            case (byte)'X':
                handler.OnOrderCancel(new OrderCancelMessage(message));
                break;
            case (byte)'D':
                handler.OnOrderDelete(new OrderDeleteMessage(message));
                break;
            case (byte)'U':
                handler.OnOrderReplace(new OrderReplaceMessage(message));
                break;
            case (byte)'P':
                handler.OnTrade(new TradeMessage(message));
                break;
            case (byte)'Q':
                handler.OnCrossTrade(new CrossTradeMessage(message));
                break;
            case (byte)'B':
                handler.OnBrokenTrade(new BrokenTradeMessage(message));
                break;
            case (byte)'I':
                handler.OnNetOrderImbalance(new NetOrderImbalanceMessage(message));
                break;
            case (byte)'N':
                handler.OnRetailInterest(new RetailInterestMessage(message));
                break;
            case (byte)'O':
                handler.OnDirectListingPriceDiscovery(new DirectListingPriceDiscoveryMessage(message));
                break;
            default:
                // Unreachable: TryValidate accepted only spec types.
                reason = RejectReason.UnknownMessageType;
                return false;
        }

        return true;
    }
}
