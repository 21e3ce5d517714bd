namespace Engine.Pipeline;

/// <summary>A count a sequenced feed keeps beyond <see cref="Events.FeedCounters"/>.</summary>
public enum FeedCountKind
{
    /// <summary>Sequence gaps: holes in the message sequence that nothing filled.</summary>
    Gaps,

    /// <summary>Messages dropped because their sequence number had already been delivered.</summary>
    Duplicates,

    /// <summary>Sequence numbers reported missing, over all gaps.</summary>
    MissedMessages,
}

/// <summary>One count of a feed, read on the telemetry thread.</summary>
/// <param name="Kind">What it counts (the metric it is exported as).</param>
/// <param name="Feed">Which feed (label <c>feed</c>), e.g. <c>moldudp64</c> or <c>iex</c>.</param>
/// <param name="Read">Reads the count: a plain read of a field the feed thread writes, so possibly a little stale; must not block.</param>
public sealed record FeedCount(FeedCountKind Kind, string Feed, Func<long> Read);

/// <summary>
/// A source that keeps sequence counts (gaps, duplicates) the engine exports with its metrics. The
/// replay runner registers them at start-up; the feed keeps counting in its own single-writer fields.
/// </summary>
public interface IFeedCountSource
{
    /// <summary>The counts. Read once at start-up; each <see cref="FeedCount.Read"/> runs on the telemetry thread.</summary>
    IReadOnlyList<FeedCount> FeedCounts { get; }
}

/// <summary>
/// A live network feed: its <see cref="DatagramsReceived"/> (data and heartbeats, every line) advances
/// while the exchange side is alive, even when no message is for us. The liveness check watches it.
/// </summary>
public interface ILiveFeed
{
    /// <summary>Datagrams received so far on every line (heartbeats included). A plain read of feed-thread counters; thread-safe, possibly a little stale.</summary>
    long DatagramsReceived { get; }
}
