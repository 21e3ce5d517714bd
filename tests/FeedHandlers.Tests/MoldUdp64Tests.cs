using Engine.Events;
using FeedHandlers.Itch;
using FeedHandlers.MoldUdp;

namespace FeedHandlers.Tests;

[TestFixture]
public sealed class MoldUdp64Tests
{
    [Test]
    public void HeaderFieldsAreReadFromTheWire()
    {
        byte[] packet =
        [
            .. "SESSION007"u8,
            0, 0, 0, 0, 0, 0, 0x01, 0x02,   // sequence 258, big-endian
            0, 2,                           // two messages
            0, 1, (byte)'x',
            0, 3, (byte)'a', (byte)'b', (byte)'c',
        ];
        Assert.That(MoldUdp64.TryParse(packet, out MoldUdp64Header h, out _), Is.True);
        Assert.That(h.Session.ToString(), Is.EqualTo("SESSION007"));
        Assert.That(h.Sequence, Is.EqualTo(258));
        Assert.That(h.MessageCount, Is.EqualTo(2));
        Assert.That(h.Kind, Is.EqualTo(MoldUdp64PacketKind.Data));
        Assert.That(h.NextSequence, Is.EqualTo(260));
        var blocks = new MoldUdp64BlockReader(packet);
        Assert.That(blocks.Next(out ReadOnlySpan<byte> first), Is.True);
        Assert.That(first.ToArray(), Is.EqualTo("x"u8.ToArray()));
        Assert.That(blocks.Next(out ReadOnlySpan<byte> second), Is.True);
        Assert.That(second.ToArray(), Is.EqualTo("abc"u8.ToArray()));
        Assert.That(blocks.Next(out _), Is.False);
    }

    [Test]
    public void HeartbeatAndEndOfSessionCarryTheNextSequence()
    {
        Assert.That(MoldUdp64.TryParse(Mold.Heartbeat(77), out MoldUdp64Header hb, out _), Is.True);
        Assert.That((hb.Kind, hb.Sequence, hb.MessageCount), Is.EqualTo((MoldUdp64PacketKind.Heartbeat, 77L, 0)));
        Assert.That(MoldUdp64.TryParse(Mold.End(78), out MoldUdp64Header end, out _), Is.True);
        Assert.That((end.Kind, end.Sequence, end.MessageCount), Is.EqualTo((MoldUdp64PacketKind.EndOfSession, 78L, 0)));
    }

    [Test]
    public void EachFramingFaultHasItsReason()
    {
        byte[] good = Mold.Data(1, 2);
        Assert.Multiple(() =>
        {
            Assert.That(Reject(good.AsSpan(0, 19)), Is.EqualTo(RejectReason.TruncatedFrame), "header cut");
            Assert.That(Reject(good.AsSpan(0, 21)), Is.EqualTo(RejectReason.TruncatedFrame), "block length cut");
            Assert.That(Reject(good.AsSpan(0, good.Length - 1)), Is.EqualTo(RejectReason.TruncatedFrame), "block cut");
            Assert.That(Reject([.. good, 0]), Is.EqualTo(RejectReason.LengthMismatch), "a byte after the last block");
            Assert.That(Reject([.. Mold.End(3), 0]), Is.EqualTo(RejectReason.LengthMismatch), "end of session with a body");
            byte[] huge = (byte[])good.Clone();
            huge[10] = 0xFF;
            Assert.That(Reject(huge), Is.EqualTo(RejectReason.InvalidField), "sequence beyond 2^62");
        });

        static RejectReason Reject(ReadOnlySpan<byte> packet)
        {
            Assert.That(MoldUdp64.TryParse(packet, out _, out RejectReason reason), Is.False);
            return reason;
        }
    }

    [Test]
    public void PacketizingAnItchCaptureKeepsEveryMessageInOrderAndEndsTheSession()
    {
        byte[] itch = Mold.ItchStream(100);
        List<byte[]> packets = MoldUdp64PacketWriter.Packetize(itch, Mold.Session, maxPacketBytes: 200);
        var messages = new List<byte[]>();
        long next = 1;
        foreach (byte[] p in packets)
        {
            Assert.That(p.Length, Is.LessThanOrEqualTo(200));
            Assert.That(MoldUdp64.TryParse(p, out MoldUdp64Header h, out _), Is.True);
            Assert.That(h.Sequence, Is.EqualTo(next));
            next = h.NextSequence;
            var blocks = new MoldUdp64BlockReader(p);
            while (blocks.Next(out ReadOnlySpan<byte> m))
            {
                messages.Add(m.ToArray());
            }
        }

        Assert.That(MoldUdp64.TryParse(packets[^1], out MoldUdp64Header last, out _), Is.True);
        Assert.That(last.Kind, Is.EqualTo(MoldUdp64PacketKind.EndOfSession));
        Assert.That(last.Sequence, Is.EqualTo(messages.Count + 1));
        var frames = new BinaryFileFrameReader(itch);
        int i = 0;
        while (frames.Next(out ReadOnlySpan<byte> frame) == FrameStatus.Message)
        {
            Assert.That(messages[i++], Is.EqualTo(frame.ToArray()));
        }

        Assert.That(i, Is.EqualTo(messages.Count));
    }

    [Test]
    public void SessionNamesRoundTripAndLongOnesAreRefused()
    {
        Assert.That(MoldUdp64Session.FromText("ABC").ToString(), Is.EqualTo("ABC"));
        Assert.That(MoldUdp64Session.FromText("ABC"), Is.Not.EqualTo(MoldUdp64Session.FromText("ABD")));
        Assert.Throws<ArgumentException>(() => MoldUdp64Session.FromText("ELEVEN_CHAR"));
    }
}
