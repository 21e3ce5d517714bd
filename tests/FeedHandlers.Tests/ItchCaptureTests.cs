using System.Buffers.Binary;
using Engine.Events;
using FeedHandlers.Itch;

namespace FeedHandlers.Tests;

[TestFixture]
public sealed class ItchCaptureTests
{
    [Test]
    public void RealNasdaqSampleParsesWithoutRejects()
    {
        byte[] capture = File.ReadAllBytes(TestData.SharedFile("data", "itch50-first-1000", "sample.itch"));
        (ItchReplaySource source, List<Tick> ticks) = CaptureHarness.Replay(capture);
        FeedCounters c = source.Counters;
        Assert.Multiple(() =>
        {
            Assert.That(c.Read, Is.EqualTo(1000));
            Assert.That(c.Rejected, Is.Zero);
            Assert.That(c.Processed, Is.EqualTo(1000));
            Assert.That(c.ProcessedOfType((byte)'S'), Is.EqualTo(1));
            Assert.That(c.ProcessedOfType((byte)'R'), Is.EqualTo(993));
            Assert.That(c.ProcessedOfType((byte)'H'), Is.EqualTo(3));
            Assert.That(c.ProcessedOfType((byte)'Y'), Is.EqualTo(3));
            Assert.That(c.TrailingBytes, Is.Zero);
        });

        // S, R and H become ticks; Y carries nothing for the book.
        Assert.That(ticks, Has.Count.EqualTo(997));
        Tick start = ticks[0];
        Assert.That(start.Kind, Is.EqualTo(TickKind.SystemEvent));
        Assert.That((char)start.Aux, Is.EqualTo('O'));
        Assert.That(start.Instrument, Is.Zero);
        // 03:04:32.057544 (the README's reading of the first message, to the microsecond).
        Assert.That(Math.Round(start.ExchangeTimestampNs / 1000.0), Is.EqualTo((((3 * 3600) + (4 * 60) + 32) * 1_000_000L) + 57_544));

        List<Tick> directory = ticks.FindAll(t => t.Kind == TickKind.InstrumentDefinition);
        Assert.That(directory, Has.Count.EqualTo(993));
        Assert.That(directory.Select(t => t.Instrument), Is.EqualTo(Enumerable.Range(1, 993)), "stock locates 1..993 in order");
        Assert.That(directory.Take(5).Select(t => Symbol.Unpack(t.RelatedId)), Is.EqualTo(new[] { "A", "AA", "AAAU", "AACG", "AADR" }));
        Assert.That(directory.Select(t => Symbol.Unpack(t.RelatedId)), Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
    }

    [Test]
    public void CountsEveryBadFrameUnderItsReasonAndKeepsGoing()
    {
        var w = new ItchWriter();
        w.AddOrder(1, 100, 1, Side.Buy, 100, "ACME", 10_00000000);
        w.Raw([]);                                   // empty frame
        w.Raw([(byte)'Z', 0, 1, 2, 3]);              // unknown type
        w.Raw(new byte[30] is var shortE ? Set(shortE, 'E') : []); // E must be 31 bytes
        byte[] badSide = new byte[36];
        badSide[0] = (byte)'A';
        badSide[19] = (byte)'X';                     // side neither B nor S
        w.Raw(badSide);
        w.OrderDelete(1, 200, 1);
        byte[] capture = [.. w.WrittenSpan, 0x00, 0x24, (byte)'A', 0, 1]; // a frame announcing 36 bytes, cut after 3

        (ItchReplaySource source, List<Tick> ticks) = CaptureHarness.Replay(capture);
        FeedCounters c = source.Counters;
        Assert.Multiple(() =>
        {
            Assert.That(c.Read, Is.EqualTo(7));
            Assert.That(c.Processed, Is.EqualTo(2));
            Assert.That(c.Rejected, Is.EqualTo(5));
            Assert.That(c.Read, Is.EqualTo(c.Processed + c.Rejected), "read = processed + rejected");
            Assert.That(c.RejectedFor(RejectReason.EmptyFrame), Is.EqualTo(1));
            Assert.That(c.RejectedFor(RejectReason.UnknownMessageType), Is.EqualTo(1));
            Assert.That(c.RejectedFor(RejectReason.LengthMismatch), Is.EqualTo(1));
            Assert.That(c.RejectedFor(RejectReason.InvalidField), Is.EqualTo(1));
            Assert.That(c.RejectedFor(RejectReason.TruncatedFrame), Is.EqualTo(1));
        });
        Assert.That(ticks.Select(t => t.Kind), Is.EqualTo(new[] { TickKind.AddOrder, TickKind.OrderDelete }));
        Assert.That(ticks.Select(t => t.Sequence), Is.EqualTo(new[] { 1L, 6L }), "sequence is the message's position in the capture");
    }

    [Test]
    public void ALoneTrailingByteIsATruncatedFrame()
    {
        var w = new ItchWriter();
        w.SystemEvent(1, 'O');
        byte[] capture = [.. w.WrittenSpan, 0x00];
        (ItchReplaySource source, _) = CaptureHarness.Replay(capture);
        Assert.That(source.Counters.Read, Is.EqualTo(2));
        Assert.That(source.Counters.RejectedFor(RejectReason.TruncatedFrame), Is.EqualTo(1));
    }

    [Test]
    public void FrameReaderSplitsBigEndianLengthPrefixes()
    {
        byte[] data = [0x00, 0x02, 0xAA, 0xBB, 0x00, 0x00, 0x01, 0x00];
        var reader = new BinaryFileFrameReader(data);
        Assert.That(reader.Next(out ReadOnlySpan<byte> first), Is.EqualTo(FrameStatus.Message));
        Assert.That(first.ToArray(), Is.EqualTo(new byte[] { 0xAA, 0xBB }));
        Assert.That(reader.Next(out _), Is.EqualTo(FrameStatus.EmptyFrame));
        Assert.That(reader.Next(out _), Is.EqualTo(FrameStatus.Truncated), "announces 256 bytes, has 0");
        Assert.That(reader.Next(out _), Is.EqualTo(FrameStatus.End));
        Assert.That(reader.Position, Is.EqualTo(data.Length));
    }

    [Test]
    public void PacedReplayStampsScheduledTimes()
    {
        var w = new ItchWriter();
        for (int i = 0; i < 200; i++)
        {
            w.SystemEvent(i, 'O');
        }

        using var ring = new Engine.Pipeline.RingBuffer<Tick>(256);
        var publisher = new Engine.Pipeline.TickPublisher(ring, new Engine.Pipeline.SingleProducerSequencer(256));
        var source = new ItchReplaySource(w.ToArray(), new ReplayPacing(200_000), "paced");
        source.Run(publisher, CancellationToken.None);
        // Due times are exactly 5 µs apart (open loop), whatever the thread actually did.
        for (int s = 1; s < 200; s++)
        {
            long gap = ring[s].ReceiveTimestampNs - ring[s - 1].ReceiveTimestampNs;
            Assert.That(gap, Is.InRange(4_999, 5_001), $"gap before #{s}");
        }
    }

    private static byte[] Set(byte[] m, char type)
    {
        m[0] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(m.AsSpan(1), 1);
        return m;
    }
}
