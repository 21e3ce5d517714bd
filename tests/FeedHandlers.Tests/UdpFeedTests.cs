using System.Net;
using System.Net.Sockets;
using Engine.Events;
using FeedHandlers.Capture;
using FeedHandlers.Itch;
using FeedHandlers.MoldUdp;
using FeedHandlers.Transport;

namespace FeedHandlers.Tests;

/// <summary>The live path over loopback UDP: sockets, MoldUDP64, A/B arbitration, the ring, the journal.</summary>
[TestFixture]
public sealed class UdpFeedTests
{
    private static readonly UdpEndpoint s_anyLoopbackPort = new(IPAddress.Loopback, 0);

    private static MoldUdp64Source Source(int lines, CaptureWriter? journal = null, long gapTimeoutNs = 1_000_000) =>
        new(new MoldUdp64SourceOptions
        {
            Lines = [.. Enumerable.Repeat(s_anyLoopbackPort, lines)],
            Arbiter = new MoldUdp64ArbiterOptions { GapTimeoutNs = gapTimeoutNs },
            Journal = journal,
            Wait = FeedIdleWait.Yielding,
        });

    private static List<byte[]> Packets(byte[] itch, int maxMessages = 8) =>
        MoldUdp64PacketWriter.Packetize(itch, Mold.Session, 1400, maxMessages);

    /// <summary>
    /// Sends each packet to the lines <paramref name="sendOn"/> picks (a bit per line), a few at a time,
    /// polling the feed until it has received each batch, so the kernel's socket buffer never overflows.
    /// </summary>
    private static void Pump(MoldUdp64Feed<ItchTickSink> feed, List<byte[]> packets, Func<int, int> sendOn, int window = 16)
    {
        using var sender = new LoopbackSender(feed.Lines);
        long sent = 0;
        for (int i = 0; i < packets.Count; i++)
        {
            int mask = sendOn(i);
            for (int line = 0; line < feed.Lines.Count; line++)
            {
                if ((mask & (1 << line)) != 0)
                {
                    sender.Send(line, packets[i]);
                    sent++;
                }
            }

            if (i % window == window - 1 || i == packets.Count - 1)
            {
                WaitReceived(feed, sent);
            }
        }
    }

    private static void WaitReceived(MoldUdp64Feed<ItchTickSink> feed, long datagrams)
    {
        long deadline = Environment.TickCount64 + 10_000;
        while (feed.Arbiter.DatagramsReceived < datagrams)
        {
            if (feed.Poll() == 0)
            {
                Assert.That(Environment.TickCount64, Is.LessThan(deadline), $"received {feed.Arbiter.DatagramsReceived} of {datagrams} datagrams in 10 s");
                Thread.Yield();
            }
        }
    }

    private static void AssertSameMarketTicks(List<Tick> actual, Tick[] expected)
    {
        Assert.That(actual, Has.Count.EqualTo(expected.Length));
        for (int i = 0; i < expected.Length; i++)
        {
            Tick a = actual[i];
            a.ReceiveTimestampNs = 0;
            Tick e = expected[i];
            e.ReceiveTimestampNs = 0;
            Assert.That(a, Is.EqualTo(e), $"tick {i}");
        }
    }

    [Test]
    public void OneLineOverLoopbackPublishesExactlyTheTicksOfTheFileReplay()
    {
        byte[] itch = Mold.ItchStream(300);
        List<byte[]> packets = Packets(itch);
        using var ring = new TestRing();
        using MoldUdp64Source source = Source(1);
        MoldUdp64Feed<ItchTickSink> feed = source.Attach(ring.Publisher);
        Pump(feed, packets, _ => 1);

        Assert.That(feed.Arbiter.Ended, Is.True, "the end-of-session packet closed the session");
        AssertSameMarketTicks(ring.Ticks(), ItchTicks.Decode(itch));
        FeedCounters c = source.Counters;
        Assert.That(c.Read, Is.EqualTo(3 + (300 * 3) + 1));
        Assert.That(c.Rejected, Is.Zero);
        Assert.That(c.Read, Is.EqualTo(c.Processed + c.Rejected));
        Assert.That(feed.Arbiter.Lines[0].Won, Is.EqualTo(packets.Count - 1));
    }

    [Test]
    public void TwoLinesWithDifferentLossesDeliverEveryMessageOnceWithoutAGap()
    {
        byte[] itch = Mold.ItchStream(300);
        List<byte[]> packets = Packets(itch);
        using var ring = new TestRing();
        using MoldUdp64Source source = Source(2);
        MoldUdp64Feed<ItchTickSink> feed = source.Attach(ring.Publisher);

        // A loses every 4th packet from the 2nd, B every 4th from the 4th: never the same one.
        Pump(feed, packets, i => (i % 4 == 1 ? 0 : 1) | (i % 4 == 3 ? 0 : 2));

        AssertSameMarketTicks(ring.Ticks(), ItchTicks.Decode(itch));
        MoldUdp64Arbiter<ItchTickSink> arb = feed.Arbiter;
        LineCounters a = arb.Lines[0];
        LineCounters b = arb.Lines[1];
        Assert.Multiple(() =>
        {
            Assert.That(arb.Gaps, Is.Zero);
            Assert.That(arb.Ended, Is.True);
            Assert.That(a.Gap, Is.GreaterThan(0), "A lost packets of its own");
            Assert.That(b.Gap, Is.GreaterThan(0));
            Assert.That(a.Won + b.Won, Is.EqualTo(packets.Count - 1), "each data packet won by exactly one line");
            Assert.That(a.Won + a.Duplicate + a.Late, Is.EqualTo(a.Received - a.EndOfSession));
            Assert.That(source.Counters.RejectedFor(RejectReason.DuplicateSequence), Is.EqualTo(arb.DuplicateMessages));
            Assert.That(source.Counters.Read, Is.EqualTo(source.Counters.Processed + source.Counters.Rejected));
        });
    }

    [Test]
    public void APacketLostOnBothLinesBecomesOneGapTickAndTheStreamGoesOn()
    {
        byte[] itch = Mold.ItchStream(100);
        List<byte[]> packets = Packets(itch, maxMessages: 4);
        using var ring = new TestRing();
        using MoldUdp64Source source = Source(2);
        MoldUdp64Feed<ItchTickSink> feed = source.Attach(ring.Publisher);
        Pump(feed, packets, i => i == 10 ? 0 : 3);

        List<Tick> ticks = ring.Ticks();
        Tick gap = ticks.Single(t => t.Kind == TickKind.SequenceGap);
        Assert.That(gap.Sequence, Is.EqualTo(41), "packet 10 held messages 41-44");
        Assert.That(gap.Quantity, Is.EqualTo(4));
        Assert.That(gap.ReceiveTimestampNs, Is.GreaterThan(0));
        Tick[] expected = ItchTicks.Decode(itch);
        Assert.That(ticks.Where(t => t.Kind != TickKind.SequenceGap).Select(t => t.Sequence),
            Is.EqualTo(expected.Where(t => t.Sequence is < 41 or > 44).Select(t => t.Sequence)));
        Assert.That(ticks.IndexOf(gap), Is.EqualTo(expected.Count(t => t.Sequence < 41)), "the gap sits where the lost messages were");
        Assert.That(feed.Arbiter.Gaps, Is.EqualTo(1));
        Assert.That(feed.Arbiter.MissedMessages, Is.EqualTo(4));
    }

    [Test]
    public void MulticastLineJoinsTheGroupOnLoopback()
    {
        byte[] itch = Mold.ItchStream(50);
        List<byte[]> packets = Packets(itch);
        int port = FreeUdpPort();
        var group = new UdpEndpoint(IPAddress.Parse("239.255.77.1"), port, IPAddress.Loopback);
        Assert.That(UdpEndpoint.Parse($"239.255.77.1:{port}@127.0.0.1"), Is.EqualTo(group));
        using var ring = new TestRing();
        MoldUdp64Source source;
        try
        {
            source = new MoldUdp64Source(new MoldUdp64SourceOptions { Lines = [group] });
        }
        catch (SocketException ex)
        {
            Assert.Ignore($"this machine refuses to join a multicast group on loopback: {ex.Message}");
            return;
        }

        using var owned = source;
        MoldUdp64Feed<ItchTickSink> feed = source.Attach(ring.Publisher);
        Pump(feed, packets, _ => 1);
        AssertSameMarketTicks(ring.Ticks(), ItchTicks.Decode(itch));
    }

    [Test]
    public void EndpointsParseAndBadOnesSayWhatIsWrong()
    {
        Assert.That(UdpEndpoint.Parse("127.0.0.1:31001"), Is.EqualTo(new UdpEndpoint(IPAddress.Loopback, 31001)));
        Assert.That(UdpEndpoint.Parse("127.0.0.1:31001").IsMulticast, Is.False);
        Assert.That(Assert.Throws<FormatException>(() => UdpEndpoint.Parse("localhost"))!.Message, Does.Contain("expected ADDRESS:PORT"));
        Assert.That(Assert.Throws<FormatException>(() => UdpEndpoint.Parse("127.0.0.1:1@127.0.0.1"))!.Message, Does.Contain("only meaningful with a multicast group"));
    }

    [Test]
    public void ReceivingDecodingAndPublishingAllocateNothingPerDatagram()
    {
        // 8 messages per datagram; the ring wraps (no consumer gates it), which costs nothing here.
        byte[] itch = Mold.ItchStream(2000);
        List<byte[]> packets = Packets(itch);
        packets.RemoveAt(packets.Count - 1); // no end of session: the stream is sent round and round
        using var ring = new TestRing(1 << 12);
        using MoldUdp64Source source = Source(1, gapTimeoutNs: long.MaxValue);
        MoldUdp64Feed<ItchTickSink> feed = source.Attach(ring.Publisher);
        const int Measured = 100_000;
        using var sender = new PacedLoopbackSender(feed.Lines[0].LocalPort, packets, 2_000 + Measured);

        // Warm up: sockets, JIT tiers, the first session packet.
        sender.Start();
        long received = 0;
        while (received < 2_000)
        {
            received += feed.Poll();
            sender.Acknowledge(received);
        }

        int[] gcBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        while (received < 2_000 + Measured)
        {
            int n = feed.Poll();
            received += n;
            sender.Acknowledge(received);
            if (n == 0)
            {
                Thread.Yield();
            }
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        int[] gcAfter = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        sender.Join();
        Assert.That(allocated, Is.Zero, $"bytes allocated by the feed thread over {Measured:N0} datagrams");
        Assert.That(gcAfter, Is.EqualTo(gcBefore), "no garbage collection during the measured datagrams");
        Assert.That(source.Counters.Rejected, Is.EqualTo(source.Counters.RejectedFor(RejectReason.DuplicateSequence)), "only the resent stream's repeats are rejected");
        Assert.That(source.Counters.Processed, Is.GreaterThan(0));
    }

    [Test]
    public void ARecordedSessionReplaysThroughTheSamePathToTheSameTicksAndCounts()
    {
        byte[] itch = Mold.ItchStream(200);
        List<byte[]> packets = Packets(itch, maxMessages: 4);
        var journalBytes = new MemorySinkStream();
        using var journal = new CaptureWriter(journalBytes, new CaptureHeader
        {
            Protocol = CaptureProtocol.MoldUdp64Itch50,
            Lines = ["A", "B"],
            Source = "test",
        });

        // Live: A and B with losses of their own, one packet lost on both, one repeated on A.
        using var liveRing = new TestRing();
        using MoldUdp64Source live = Source(2, journal);
        MoldUdp64Feed<ItchTickSink> feed = live.Attach(liveRing.Publisher);
        Pump(feed, packets, i => i == 20 ? 0 : (i % 5 == 2 ? 2 : 3));
        using (var sender = new LoopbackSender(feed.Lines))
        {
            sender.Send(0, packets[3]);
        }

        WaitReceived(feed, feed.Arbiter.DatagramsReceived + 1);
        journal.Complete(new CaptureSummary { Session = feed.Arbiter.Session.ToString() });
        List<Tick> liveTicks = liveRing.Ticks();
        Assert.That(liveTicks.Count(t => t.Kind == TickKind.SequenceGap), Is.EqualTo(1));

        // Replay: the same arbiter and sink, fed from the file.
        using var replayRing = new TestRing();
        using var replay = new CaptureReplaySource(new CaptureReader(new MemoryStream(journalBytes.Written.ToArray())), ReplayPacing.AsFastAsPossible);
        replay.Run(replayRing.Publisher, CancellationToken.None);
        List<Tick> replayed = replayRing.Ticks();

        Assert.That(replayed, Has.Count.EqualTo(liveTicks.Count));
        for (int i = 0; i < liveTicks.Count; i++)
        {
            Tick l = liveTicks[i];
            Tick r = replayed[i];
            l.ReceiveTimestampNs = r.ReceiveTimestampNs = 0;
            Assert.That(r, Is.EqualTo(l), $"tick {i}");
        }

        FeedCounters lc = live.Counters;
        FeedCounters rc = replay.Counters;
        Assert.That((rc.Read, rc.Processed, rc.Rejected, rc.Published), Is.EqualTo((lc.Read, lc.Processed, lc.Rejected, lc.Published)));
        foreach (RejectReason reason in Enum.GetValues<RejectReason>())
        {
            Assert.That(rc.RejectedFor(reason), Is.EqualTo(lc.RejectedFor(reason)), reason.ToString());
        }

        for (int line = 0; line < 2; line++)
        {
            Assert.That(replay.Arbiter.Lines[line].ToString(), Is.EqualTo(feed.Arbiter.Lines[line].ToString()));
        }

        Assert.That(replay.Reader.Summary!.Records, Is.EqualTo(feed.Arbiter.DatagramsReceived));
        Assert.That(replay.Reader.Summary.Session, Is.EqualTo("TEST000001"));
    }

    [Test]
    public void ACorruptedChunkInARecordingIsReportedAndItsMessagesBecomeAGap()
    {
        byte[] itch = Mold.ItchStream(2000);
        List<byte[]> packets = Packets(itch, maxMessages: 4);
        var bytes = new MemorySinkStream();
        using (var writer = new CaptureWriter(bytes, new CaptureHeader { Protocol = CaptureProtocol.MoldUdp64Itch50, Lines = ["A"] }, new CaptureWriterOptions { ChunkBytes = 70_000 }))
        {
            for (int i = 0; i < packets.Count; i++)
            {
                writer.Append(0, i * 1_000L, packets[i]);
            }
        }

        byte[] capture = bytes.Written.ToArray();
        long secondChunk;
        using (var reader = new CaptureReader(new MemoryStream(capture)))
        {
            reader.Next(out _);
            reader.Next(out CaptureChunk chunk);
            Assert.That(chunk.Kind, Is.EqualTo(CaptureChunkKind.Records));
            secondChunk = chunk.Offset;
        }

        capture[secondChunk + CaptureFormat.ChunkHeaderLength + 500] ^= 0x01;
        using var ring = new TestRing();
        using var replay = new CaptureReplaySource(new CaptureReader(new MemoryStream(capture)), ReplayPacing.AsFastAsPossible);
        replay.Run(ring.Publisher, CancellationToken.None);

        Assert.That(replay.Damage, Is.EqualTo(new[] { new CaptureDamage(secondChunk, CaptureCorruption.PayloadChecksum) }));
        Assert.That(replay.Counters.RejectedFor(RejectReason.ChecksumMismatch), Is.EqualTo(1));
        List<Tick> ticks = ring.Ticks();
        Tick gap = ticks.Single(t => t.Kind == TickKind.SequenceGap);
        Assert.That(gap.Quantity, Is.GreaterThan(0));
        Assert.That(replay.Arbiter.Ended, Is.True, "the replay went on past the damage to the end of the session");
        Assert.That(ticks.Count(t => t.Kind != TickKind.SequenceGap) + gap.Quantity, Is.GreaterThanOrEqualTo(ItchTicks.Decode(itch).Length));
    }

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>One connected UDP socket per line (multicast: sent on the loopback interface).</summary>
    private sealed class LoopbackSender : IDisposable
    {
        private readonly Socket[] _sockets;

        public LoopbackSender(IReadOnlyList<UdpLine> lines)
        {
            _sockets = new Socket[lines.Count];
            for (int i = 0; i < lines.Count; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                UdpEndpoint e = lines[i].Endpoint;
                if (e.IsMulticast)
                {
                    s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, e.Interface!.GetAddressBytes());
                    s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastLoopback, true);
                    s.Connect(new IPEndPoint(e.Address, lines[i].LocalPort));
                }
                else
                {
                    s.Connect(new IPEndPoint(IPAddress.Loopback, lines[i].LocalPort));
                }

                _sockets[i] = s;
            }
        }

        public void Send(int line, byte[] packet) => Assert.That(_sockets[line].Send(packet), Is.EqualTo(packet.Length));

        public void Dispose()
        {
            foreach (Socket s in _sockets)
            {
                s.Dispose();
            }
        }
    }

    /// <summary>Sends the packets round and round from its own thread, never more than a window ahead of what the receiver acknowledged, allocating nothing per send.</summary>
    private sealed class PacedLoopbackSender : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly List<byte[]> _packets;
        private readonly long _total;
        private readonly Thread _thread;
        private long _acknowledged;

        public PacedLoopbackSender(int port, List<byte[]> packets, long total)
        {
            _socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
            _packets = packets;
            _total = total;
            _thread = new Thread(Loop) { IsBackground = true, Name = "test-sender" };
        }

        public void Start() => _thread.Start();

        public void Acknowledge(long received) => Volatile.Write(ref _acknowledged, received);

        public void Join() => Assert.That(_thread.Join(TimeSpan.FromSeconds(30)), Is.True, "sender finished");

        public void Dispose() => _socket.Dispose();

        private void Loop()
        {
            for (long i = 0; i < _total; i++)
            {
                while (i - Volatile.Read(ref _acknowledged) >= 64)
                {
                    Thread.Yield();
                }

                _socket.Send(_packets[(int)(i % _packets.Count)]);
            }
        }
    }
}
