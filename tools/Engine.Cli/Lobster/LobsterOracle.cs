using Engine.Book;
using Engine.Events;
using Engine.Pipeline;
using FeedHandlers.Itch;
using FeedHandlers.Lobster;

namespace Engine.Cli.Lobster;

/// <summary>One disagreement between the engine's book and a LOBSTER orderbook row.</summary>
/// <param name="Row">1-based row of the orderbook file (= the message after which the book is taken).</param>
/// <param name="Level">1-based level.</param>
/// <param name="Field">"ask price", "ask size", "bid price" or "bid size".</param>
/// <param name="Expected">LOBSTER's value (prices in dollars × 10,000; ±9,999,999,999 for an empty level).</param>
/// <param name="Actual">The engine's value in the same units.</param>
internal sealed record BookMismatch(long Row, int Level, string Field, long Expected, long Actual)
{
    public override string ToString() => $"row {Row}, level {Level}, {Field}: LOBSTER {Expected}, engine {Actual}";
}

/// <summary>What the oracle compared and found.</summary>
internal sealed record OracleResult(long RowsCompared, long ValuesCompared, long MismatchedRows, IReadOnlyList<BookMismatch> FirstMismatches, FeedCounters Feed, MarketBooks Books)
{
    public bool Passed => MismatchedRows == 0 && RowsCompared > 0 && Feed.Rejected == 0;
}

/// <summary>
/// The correctness oracle: replays a converted ITCH stream through the engine's ITCH handler
/// (<see cref="ItchReplaySource"/>: frame, validate, normalize, publish into a ring) and its book
/// (<see cref="MarketBooks"/>), and after every LOBSTER message compares every level of the book with
/// the orderbook file's row. Nothing of the converter's own state is used.
/// </summary>
internal static class LobsterOracle
{
    /// <summary>Replays the conversion's ITCH through the ITCH handler and compares the book after each row's last message.</summary>
    public static OracleResult Verify(LobsterConversion conversion, int keepMismatches = 20)
    {
        ArgumentNullException.ThrowIfNull(conversion);
        (FeedCounters feed, Tick[] ticks) = ReplayThroughHandler(conversion.Itch, conversion.Messages);
        return Compare(conversion.Data, ticks, conversion.RowEnds, feed, keepMismatches);
    }

    /// <summary>
    /// Applies <paramref name="ticks"/> to a fresh <see cref="MarketBooks"/> and, after the ticks of
    /// each row (those with <see cref="Tick.Sequence"/> up to <paramref name="rowEnds"/>[row]), compares
    /// every level of instrument <see cref="LobsterToItch.Locate"/>'s book with the orderbook row.
    /// </summary>
    public static OracleResult Compare(LobsterData data, Tick[] ticks, long[] rowEnds, FeedCounters feed, int keepMismatches = 20)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(ticks);
        ArgumentNullException.ThrowIfNull(rowEnds);
        var books = new MarketBooks(expectedLiveOrders: (int)Math.Clamp(ticks.Length, 64, 1 << 16), expectedInstruments: 16, initialLevels: 64);
        LobsterReader reader = data.Reader();
        var row = new long[reader.RowWidth];
        var mismatches = new List<BookMismatch>();
        long rows = 0, values = 0, mismatchedRows = 0;
        int next = 0;
        int r = 0;
        while (reader.Next(out _, row, out _) is var status && status != LobsterReadStatus.End)
        {
            long end = rowEnds[r++];
            while (next < ticks.Length && ticks[next].Sequence <= end)
            {
                books.Apply(in ticks[next++], out _);
            }

            if (status != LobsterReadStatus.Row)
            {
                continue;
            }

            rows++;
            OrderBook? book = books.Find(LobsterToItch.Locate);
            bool bad = false;
            for (int level = 0; level < data.Levels; level++)
            {
                bad |= Compare(reader.Rows, level, "ask price", row[4 * level], ToLobster(book?.Asks.PriceAt(level) ?? 0, LobsterFormat.EmptyAskPrice), mismatches, keepMismatches);
                bad |= Compare(reader.Rows, level, "ask size", row[(4 * level) + 1], book?.Asks.QuantityAt(level) ?? 0, mismatches, keepMismatches);
                bad |= Compare(reader.Rows, level, "bid price", row[(4 * level) + 2], ToLobster(book?.Bids.PriceAt(level) ?? 0, LobsterFormat.EmptyBidPrice), mismatches, keepMismatches);
                bad |= Compare(reader.Rows, level, "bid size", row[(4 * level) + 3], book?.Bids.QuantityAt(level) ?? 0, mismatches, keepMismatches);
                values += 4;
            }

            if (bad)
            {
                mismatchedRows++;
            }
        }

        return new OracleResult(rows, values, mismatchedRows, mismatches, feed, books);
    }

    // The production decode path into a ring large enough to keep every tick (no consumer).
    private static (FeedCounters, Tick[]) ReplayThroughHandler(byte[] itch, long messages)
    {
        int capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)Math.Max(16, messages + 1));
        using var ring = new RingBuffer<Tick>(capacity);
        var publisher = new TickPublisher(ring, new SingleProducerSequencer(capacity));
        var source = new ItchReplaySource(itch, ReplayPacing.AsFastAsPossible, "LOBSTER → ITCH");
        source.Run(publisher, CancellationToken.None);
        var ticks = new Tick[publisher.LastPublished + 1];
        for (long s = 0; s < ticks.Length; s++)
        {
            ticks[s] = ring[s];
        }

        return (source.Counters, ticks);
    }

    private static long ToLobster(long enginePrice, long empty) => enginePrice == 0 ? empty : enginePrice / LobsterFormat.PriceToEngine;

    private static bool Compare(long row, int level, string field, long expected, long actual, List<BookMismatch> mismatches, int keep)
    {
        if (expected == actual)
        {
            return false;
        }

        if (mismatches.Count < keep)
        {
            mismatches.Add(new BookMismatch(row, level + 1, field, expected, actual));
        }

        return true;
    }
}
