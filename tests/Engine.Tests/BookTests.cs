using Engine.Book;
using Engine.Events;

namespace Engine.Tests;

[TestFixture]
public sealed class BookTests
{
    private const int Acme = 1;
    private static long Px(decimal dollars) => (long)(dollars * Tick.PriceScale);

    [Test]
    public void AddsBuildLevelsWithBestLast()
    {
        MarketBooks books = NewBooks();
        Apply(books, Add(1, Side.Buy, 10.00m, 100));
        Apply(books, Add(2, Side.Buy, 10.01m, 200));
        Apply(books, Add(3, Side.Buy, 10.00m, 50));
        Apply(books, Add(4, Side.Sell, 10.03m, 300));
        Apply(books, Add(5, Side.Sell, 10.02m, 10));
        OrderBook b = books.Find(Acme)!;
        Assert.That(b.Top, Is.EqualTo(new TopOfBook(Px(10.01m), 200, Px(10.02m), 10)));
        Assert.That(Levels(b.Bids), Is.EqualTo(new[] { (Px(10.01m), 200L, 1), (Px(10.00m), 150L, 2) }));
        Assert.That(Levels(b.Asks), Is.EqualTo(new[] { (Px(10.02m), 10L, 1), (Px(10.03m), 300L, 1) }));
        Assert.That(books.Orders.Count, Is.EqualTo(5));
    }

    [Test]
    public void ExecuteCancelReplaceDeleteScript()
    {
        MarketBooks books = NewBooks();
        Apply(books, Add(1, Side.Buy, 10.00m, 100));
        Apply(books, Add(2, Side.Buy, 10.00m, 100));
        Apply(books, Add(3, Side.Sell, 10.05m, 500));

        // Partial execution of order 1 at its price: a trade against a resting buy.
        BookResult r = Apply(books, new Tick { Kind = TickKind.OrderExecuted, Instrument = Acme, OrderId = 1, Quantity = 40 });
        Assert.That((r.TopChanged, r.TradeRestingSide, r.TradeQuantity, r.TradePrice), Is.EqualTo((true, Side.Buy, 40L, Px(10.00m))));
        Assert.That(books.Find(Acme)!.Top.BidQuantity, Is.EqualTo(160));

        // Execution at another price reports that price; the level is reduced at the order's price.
        r = Apply(books, new Tick { Kind = TickKind.OrderExecutedWithPrice, Instrument = Acme, OrderId = 1, Quantity = 60, Price = Px(9.99m) });
        Assert.That((r.TradeQuantity, r.TradePrice), Is.EqualTo((60L, Px(9.99m))));
        Assert.That(Levels(books.Find(Acme)!.Bids), Is.EqualTo(new[] { (Px(10.00m), 100L, 1) }), "order 1 fully executed and gone");
        Assert.That(books.Orders.Count, Is.EqualTo(2));

        // Partial cancel of the ask.
        r = Apply(books, new Tick { Kind = TickKind.OrderCancel, Instrument = Acme, OrderId = 3, Quantity = 200 });
        Assert.That(r.TopChanged, Is.True);
        Assert.That(books.Find(Acme)!.Top.AskQuantity, Is.EqualTo(300));

        // Replace moves the ask to a new price with a new id and size (priority lost).
        r = Apply(books, new Tick { Kind = TickKind.OrderReplace, Instrument = Acme, OrderId = 3, RelatedId = 30, Quantity = 250, Price = Px(10.04m) });
        Assert.That(r.TopChanged, Is.True);
        Assert.That(Levels(books.Find(Acme)!.Asks), Is.EqualTo(new[] { (Px(10.04m), 250L, 1) }));
        Assert.That(Unsafe(books, 3), Is.False, "old id gone");
        Assert.That(Unsafe(books, 30), Is.True, "new id live");

        // Delete empties the bid side.
        r = Apply(books, new Tick { Kind = TickKind.OrderDelete, Instrument = Acme, OrderId = 2 });
        Assert.That(r.TopChanged, Is.True);
        TopOfBook top = books.Find(Acme)!.Top;
        Assert.That((top.BidPrice, top.BidQuantity, top.IsTwoSided), Is.EqualTo((0L, 0L, false)));
        Assert.That(books.TotalAnomalies, Is.Zero);
    }

    [Test]
    public void ChangesBehindTheTopDoNotChangeIt()
    {
        MarketBooks books = NewBooks();
        Apply(books, Add(1, Side.Buy, 10.00m, 100));
        Assert.That(Apply(books, Add(2, Side.Buy, 9.99m, 100)).TopChanged, Is.False);
        Assert.That(Apply(books, new Tick { Kind = TickKind.OrderCancel, Instrument = Acme, OrderId = 2, Quantity = 50 }).TopChanged, Is.False);
        Assert.That(Apply(books, Add(3, Side.Buy, 10.00m, 5)).TopChanged, Is.True, "size at the top changed");
    }

    [Test]
    public void AnomaliesAreCountedNotThrown()
    {
        MarketBooks books = NewBooks();
        Apply(books, Add(1, Side.Buy, 10.00m, 100));
        Apply(books, Add(1, Side.Buy, 10.00m, 100));                                                        // duplicate id
        Apply(books, new Tick { Kind = TickKind.OrderExecuted, Instrument = Acme, OrderId = 99, Quantity = 1 }); // unknown
        Apply(books, new Tick { Kind = TickKind.OrderCancel, Instrument = Acme, OrderId = 1, Quantity = 500 });  // over-cancel: clamped
        Apply(books, Add(2, Side.None, 10.00m, 100));                                                        // no side
        Apply(books, Add(3, Side.Sell, 10.00m, 0));                                                          // no quantity
        Apply(books, new Tick { Kind = TickKind.AddOrder, Instrument = 77, OrderId = 4, Side = Side.Sell, Price = Px(1m), Quantity = 1 }); // undefined instrument
        Assert.Multiple(() =>
        {
            Assert.That(books.AnomalyCount(BookAnomaly.DuplicateOrder), Is.EqualTo(1));
            Assert.That(books.AnomalyCount(BookAnomaly.UnknownOrder), Is.EqualTo(1));
            Assert.That(books.AnomalyCount(BookAnomaly.OverExecution), Is.EqualTo(1));
            Assert.That(books.AnomalyCount(BookAnomaly.InvalidSide), Is.EqualTo(1));
            Assert.That(books.AnomalyCount(BookAnomaly.InvalidOrder), Is.EqualTo(1));
            Assert.That(books.AnomalyCount(BookAnomaly.UndefinedInstrument), Is.EqualTo(1));
        });
        Assert.That(books.Find(Acme)!.Bids.Count, Is.Zero, "the over-cancel removed what was left");
        Assert.That(books.Find(77)!.Top.AskQuantity, Is.EqualTo(1), "a book was created for the undefined instrument");
    }

    [Test]
    public void OrderIndexMatchesADictionaryUnderRandomChurn()
    {
        var index = new OrderIndex(16);
        var reference = new Dictionary<ulong, long>();
        var rng = new Random(7);
        for (int i = 0; i < 200_000; i++)
        {
            // Small id space so probe runs collide and deletions shift entries back.
            ulong id = (ulong)rng.Next(1, 5000);
            if (rng.Next(3) == 0)
            {
                Assert.That(index.Remove(id), Is.EqualTo(reference.Remove(id)));
            }
            else
            {
                var order = new RestingOrder { Id = id, Quantity = i };
                Assert.That(index.TryAdd(order), Is.EqualTo(reference.TryAdd(id, i)));
            }
        }

        Assert.That(index.Count, Is.EqualTo(reference.Count));
        foreach ((ulong id, long quantity) in reference)
        {
            ref RestingOrder found = ref index.Find(id);
            Assert.That(System.Runtime.CompilerServices.Unsafe.IsNullRef(ref found), Is.False, $"id {id}");
            Assert.That(found.Quantity, Is.EqualTo(quantity));
        }

        Assert.That(System.Runtime.CompilerServices.Unsafe.IsNullRef(ref index.Find(5001)), Is.True);
        Assert.That(index.Resizes, Is.GreaterThan(0));
    }

    [Test]
    public void PriceLevelsStayOrderedUnderRandomChurn()
    {
        var bids = new PriceLevels(isBid: true, 2);
        var asks = new PriceLevels(isBid: false, 2);
        var refBids = new SortedDictionary<long, long>();
        var refAsks = new SortedDictionary<long, long>();
        var rng = new Random(11);
        for (int i = 0; i < 50_000; i++)
        {
            bool bid = rng.Next(2) == 0;
            PriceLevels side = bid ? bids : asks;
            SortedDictionary<long, long> r = bid ? refBids : refAsks;
            long price = rng.Next(1, 200);
            if (rng.Next(3) == 0 && r.TryGetValue(price, out long q))
            {
                side.Remove(price, q, orderGone: true);
                r.Remove(price);
            }
            else if (!r.ContainsKey(price))
            {
                side.Add(price, 10);
                r[price] = 10;
            }
        }

        Assert.That(Levels(bids).Select(l => l.Price), Is.EqualTo(refBids.Keys.Reverse()));
        Assert.That(Levels(asks).Select(l => l.Price), Is.EqualTo(refAsks.Keys));
    }

    private static bool Unsafe(MarketBooks books, ulong id) => !System.Runtime.CompilerServices.Unsafe.IsNullRef(ref books.Orders.Find(id));

    private static MarketBooks NewBooks()
    {
        var books = new MarketBooks();
        books.Define(Acme, Symbol.Pack("ACME"), 100);
        return books;
    }

    private static Tick Add(ulong id, Side side, decimal price, long quantity) =>
        new() { Kind = TickKind.AddOrder, Instrument = Acme, OrderId = id, Side = side, Price = Px(price), Quantity = quantity };

    private static BookResult Apply(MarketBooks books, Tick tick)
    {
        books.Apply(in tick, out BookResult result);
        return result;
    }

    private static List<(long Price, long Quantity, int Orders)> Levels(PriceLevels side) =>
        [.. Enumerable.Range(0, side.Count).Select(d => (side.PriceAt(d), side.QuantityAt(d), side.OrdersAt(d)))];
}
