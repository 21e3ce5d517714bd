using Engine.Events;
using Engine.Pipeline;
using FeedHandlers.Itch;
using FeedHandlers.MoldUdp;

namespace FeedHandlers.Tests;

/// <summary>What a <see cref="LogSink"/> saw, in order.</summary>
internal sealed class SinkLog
{
    public List<long> Sequences { get; } = [];

    public List<(long First, long Count)> Gaps { get; } = [];

    /// <summary>Messages and gaps interleaved as they came: +seq for a message, −first for a gap.</summary>
    public List<long> Events { get; } = [];
}

/// <summary>Records what the arbiter hands on (tests only; allocates).</summary>
internal readonly struct LogSink(SinkLog log) : IMoldUdp64Sink
{
    public bool OnMessage(ReadOnlySpan<byte> message, long sequence, long stampNs)
    {
        log.Sequences.Add(sequence);
        log.Events.Add(sequence);
        return true;
    }

    public bool OnGap(long firstMissing, long count, long stampNs)
    {
        log.Gaps.Add((firstMissing, count));
        log.Events.Add(-firstMissing);
        return true;
    }
}

/// <summary>A ring big enough to keep every tick, with no consumer: what a source published can be read back.</summary>
internal sealed class TestRing : IDisposable
{
    private readonly RingBuffer<Tick> _ring;

    public TestRing(int capacity = 1 << 16)
    {
        _ring = new RingBuffer<Tick>(capacity);
        Publisher = new TickPublisher(_ring, new SingleProducerSequencer(capacity));
    }

    public TickPublisher Publisher { get; }

    public List<Tick> Ticks()
    {
        long last = Publisher.LastPublished;
        Assert.That(last + 1, Is.LessThanOrEqualTo(_ring.Capacity), "test ring too small to keep every tick");
        var ticks = new List<Tick>();
        for (long s = 0; s <= last; s++)
        {
            ticks.Add(_ring[s]);
        }

        return ticks;
    }

    public void Dispose() => _ring.Dispose();
}

internal static class Mold
{
    public static readonly MoldUdp64Session Session = MoldUdp64Session.FromText("TEST000001");

    /// <summary>A data packet of <paramref name="count"/> one-byte messages (the byte is the sequence's low byte) from <paramref name="sequence"/>.</summary>
    public static byte[] Data(long sequence, int count, MoldUdp64Session? session = null)
    {
        var w = new MoldUdp64PacketWriter(session ?? Session, 1400);
        w.Begin(sequence);
        for (int i = 0; i < count; i++)
        {
            Assert.That(w.TryAdd([(byte)(sequence + i)]), Is.True);
        }

        return w.Packet.ToArray();
    }

    public static byte[] Heartbeat(long next)
    {
        byte[] p = new byte[MoldUdp64.HeaderLength];
        MoldUdp64PacketWriter.WriteHeartbeat(p, Session, next);
        return p;
    }

    public static byte[] End(long next)
    {
        byte[] p = new byte[MoldUdp64.HeaderLength];
        MoldUdp64PacketWriter.WriteEndOfSession(p, Session, next);
        return p;
    }

    /// <summary>A deterministic ITCH 5.0 stream of <paramref name="orders"/> add/execute/delete cycles over two instruments, as BinaryFILE.</summary>
    public static byte[] ItchStream(int orders)
    {
        var w = new ItchWriter();
        w.SystemEvent(1, 'O');
        w.StockDirectory(1, 2, "ACME", 100);
        w.StockDirectory(2, 3, "BOLT", 100);
        long t = 1_000;
        for (int i = 0; i < orders; i++)
        {
            ushort locate = (ushort)(1 + (i % 2));
            ulong id = (ulong)(i + 1);
            w.AddOrder(locate, t++, id, i % 3 == 0 ? Side.Sell : Side.Buy, 100, locate == 1 ? "ACME" : "BOLT", (100 + (i % 7)) * Tick.PriceScale);
            w.OrderExecuted(locate, t++, id, 40, (ulong)i);
            w.OrderDelete(locate, t++, id);
        }

        w.SystemEvent(t, 'C');
        return w.ToArray();
    }
}

/// <summary>
/// A write-only stream into memory that outlives the writer closing it; optionally, writes after the
/// first <c>ungatedWrites</c> wait for a gate (a disk that stalls).
/// </summary>
internal sealed class MemorySinkStream(ManualResetEventSlim? gate = null, int ungatedWrites = 0) : Stream
{
    private int _writes;

    public MemoryStream Written { get; } = new();

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => Written.Length;

    public override long Position { get => Written.Position; set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (++_writes > ungatedWrites)
        {
            gate?.Wait();
        }

        Written.Write(buffer);
    }
}
