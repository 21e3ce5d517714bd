namespace FeedHandlers.Lobster;

/// <summary>LOBSTER's event types (column 2 of a message file).</summary>
public enum LobsterEventType : byte
{
    /// <summary>1: submission of a new limit order.</summary>
    Submission = 1,

    /// <summary>2: cancellation (partial deletion) of a limit order; size is the amount cancelled.</summary>
    Cancellation = 2,

    /// <summary>3: deletion (total deletion) of a limit order; size is what the order had left.</summary>
    Deletion = 3,

    /// <summary>4: execution of a visible limit order; size is the amount executed.</summary>
    VisibleExecution = 4,

    /// <summary>5: execution of a hidden limit order (order id 0 in LOBSTER's data); the visible book is unchanged.</summary>
    HiddenExecution = 5,

    /// <summary>6: cross trade (opening/closing auction), in LOBSTER files that carry them; the visible book is unchanged.</summary>
    CrossTrade = 6,

    /// <summary>7: trading halt indicator: price −1 halt, 0 quoting resumes, 1 trading resumes; the book row repeats the previous one.</summary>
    TradingHalt = 7,
}

/// <summary>One row of a LOBSTER message file, parsed.</summary>
public struct LobsterMessage
{
    /// <summary>Time after midnight in ns (LOBSTER gives seconds with up to 9 decimals).</summary>
    public long TimeNs;

    /// <summary>Event type.</summary>
    public LobsterEventType Type;

    /// <summary>Order id (0 for hidden executions and halts).</summary>
    public ulong OrderId;

    /// <summary>Shares.</summary>
    public long Size;

    /// <summary>Price in dollars × 10,000 (ITCH's Price(4) units); −1, 0 or 1 for halt indicators.</summary>
    public long Price;

    /// <summary>−1 sell limit order, 1 buy limit order (the side of the resting order, also for executions).</summary>
    public int Direction;

    /// <inheritdoc />
    public override readonly string ToString() => $"t={TimeNs} type={(int)Type} id={OrderId} size={Size} price={Price} dir={Direction}";
}

/// <summary>Fixed facts of LOBSTER's file format.</summary>
public static class LobsterFormat
{
    /// <summary>Columns of a message file.</summary>
    public const int MessageColumns = 6;

    /// <summary>The price of an unoccupied ask level.</summary>
    public const long EmptyAskPrice = 9_999_999_999;

    /// <summary>The price of an unoccupied bid level.</summary>
    public const long EmptyBidPrice = -9_999_999_999;

    /// <summary>LOBSTER prices (dollars × 10,000) to the engine's 1e-8 units.</summary>
    public const long PriceToEngine = 10_000;
}
