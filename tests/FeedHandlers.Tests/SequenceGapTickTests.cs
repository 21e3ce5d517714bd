using Engine.Book;
using Engine.Events;
using Engine.Features;
using FeedHandlers.Itch;

namespace FeedHandlers.Tests;

/// <summary>The stage's side of a gap: a <see cref="TickKind.SequenceGap"/> tick is counted and changes nothing.</summary>
[TestFixture]
public sealed class SequenceGapTickTests
{
    [Test]
    public void TheStageCountsAGapTickAndLeavesBooksAndFeaturesAlone()
    {
        FeatureSpec spec = FeatureSpec.Parse("""{ "input": "x", "trigger": "every_event", "features": [ { "name": "spread_bps" } ] }""");
        using var features = new FeatureEngine(spec);
        var books = new MarketBooks();
        var market = new MarketState(books, features);
        Tick[] ticks = ItchTicks.Decode(Mold.ItchStream(3));
        foreach (Tick t in ticks.Take(4))
        {
            Tick copy = t;
            market.Apply(ref copy);
        }

        var topBefore = books.Find(1)!.Top;
        Assert.That(topBefore.AskQuantity, Is.EqualTo(100), "the first add order rests");
        int levelsBefore = books.Find(1)!.Bids.Count + books.Find(1)!.Asks.Count;
        var gap = new Tick { Kind = TickKind.SequenceGap, Sequence = 7, Quantity = 5, Instrument = 1 };
        Assert.That(market.Apply(ref gap), Is.Null, "a gap never fires the model");
        Assert.That(market.Counters.OfKind(TickKind.SequenceGap), Is.EqualTo(1));
        Assert.That(market.Counters.MissedMessages, Is.EqualTo(5));
        Assert.That(books.TotalAnomalies, Is.Zero);
        Assert.That(books.Find(1)!.Top, Is.EqualTo(topBefore), "book untouched");
        Assert.That(books.Find(1)!.Bids.Count + books.Find(1)!.Asks.Count, Is.EqualTo(levelsBefore));
    }
}
