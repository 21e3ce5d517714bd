using Engine.Book;
using Engine.Events;
using FeedHandlers.Capture;
using FeedHandlers.Iex;
using FeedHandlers.Lobster;

namespace FeedHandlers.Tests;

/// <summary>
/// The new inputs keep the hot-path rule: once warmed up (symbols known, tables sized), decoding a
/// packet or a LOBSTER row and applying its ticks to the book allocates nothing.
/// </summary>
[TestFixture]
public sealed class FeedAllocationTests
{
    [Test]
    public void IexDecodingIntoThePriceLevelBookAllocatesNothingPerPacket()
    {
        byte[] capture = CaptureFile.ReadAll(TestData.SharedFile("data", "iex-deep-1.0-sample", "DEEP10.pcap.gz"));
        var decoder = new IexCaptureDecoder();
        var sink = new BookSink(new MarketBooks(expectedLiveOrders: 16, expectedInstruments: 16_384, initialLevels: 256));
        Assert.That(decoder.Run(capture, ref sink, out _), Is.True);

        // Second pass: every symbol and book exists; what is left per run is opening the capture.
        long before = GC.GetAllocatedBytesForCurrentThread();
        decoder.Run(capture, ref sink, out _);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(decoder.Counters.Records, Is.EqualTo(2 * 121_315));
        Assert.That(allocated, Is.LessThan(2_048), "only the capture reader itself (per run, not per packet)");
    }

    [Test]
    public void LobsterOrderFlowAllocatesNothingPerRowOnceSized()
    {
        LobsterData data = LobsterData.FromZip(TestData.SharedFile("data", "lobster-2012-06-21", "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip"));
        var flow = new LobsterOrderFlow(data.Levels, expectedOrders: 1 << 16, expectedPriceLevels: 1024);
        var sink = new LobsterBookSink(new MarketBooks(expectedLiveOrders: 1 << 16, expectedInstruments: 16, initialLevels: 512));
        LobsterReader reader = data.Reader();
        var row = new long[reader.RowWidth];
        long before = 0;
        while (reader.Next(out LobsterMessage message, row, out _) == LobsterReadStatus.Row)
        {
            if (reader.Rows == 20_000)
            {
                before = GC.GetAllocatedBytesForCurrentThread();
            }

            flow.Process(in message, row, reader.Rows, ref sink);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(reader.Rows, Is.EqualTo(147_916));
        Assert.That(allocated, Is.Zero, "127,916 rows after warm-up");
    }

    private readonly struct BookSink(MarketBooks books) : IIexTickSink
    {
        public bool OnTick(ref readonly Tick tick)
        {
            books.Apply(in tick, out _);
            return true;
        }
    }

    private readonly struct LobsterBookSink(MarketBooks books) : ILobsterTickSink
    {
        public void OnTick(ref readonly Tick tick) => books.Apply(in tick, out _);
    }
}
