using System.Buffers.Binary;
using FeedHandlers.Pcap;

namespace FeedHandlers.Tests;

[TestFixture]
public sealed class PcapTests
{
    private const long T = 1_700_000_000_123_456_789;

    [Test]
    public void ReadsBigEndianNanosecondPcap()
    {
        // The same capture written little-endian with µs, rewritten big-endian with the ns magic.
        var w = new PcapWriter();
        w.Udp(T, 5000, [1, 2, 3]);
        byte[] le = w.ToArray();
        byte[] be = (byte[])le.Clone();
        BinaryPrimitives.WriteUInt32BigEndian(be, 0xA1B23C4D);
        for (int i = 4; i < 24; i += 4)
        {
            Swap(be, i, i is 4 ? 2 : 4);
        }

        Swap(be, 6, 2);
        BinaryPrimitives.WriteUInt32BigEndian(be.AsSpan(24), (uint)(T / 1_000_000_000));
        BinaryPrimitives.WriteUInt32BigEndian(be.AsSpan(28), (uint)(T % 1_000_000_000));
        Swap(be, 32, 4);
        Swap(be, 36, 4);

        Assert.That(PcapReader.TryOpen(be, out PcapReader reader, out string error), Is.True, error);
        Assert.That(reader.Next(out PcapPacket packet), Is.EqualTo(PcapStatus.Packet));
        Assert.That((packet.TimestampNs, packet.LinkType, packet.Data.Length), Is.EqualTo((T, 1, 14 + 20 + 8 + 3)));
        Assert.That(UdpFrame.TryExtract(packet.Data, packet.LinkType, out ReadOnlySpan<byte> payload, out ushort port, out _), Is.True);
        Assert.That((payload.ToArray(), port), Is.EqualTo((new byte[] { 1, 2, 3 }, (ushort)5000)));
        Assert.That(reader.Next(out _), Is.EqualTo(PcapStatus.End));
    }

    [Test]
    public void PcapNgKeepsNanosecondsAndSkipsOtherBlocks()
    {
        var w = new PcapWriter(pcapng: true);
        w.Udp(T, 1, [9]);
        Assert.That(PcapReader.TryOpen(w.ToArray(), out PcapReader reader, out _), Is.True);
        Assert.That(reader.IsPcapNg, Is.True);
        Assert.That(reader.Next(out _), Is.EqualTo(PcapStatus.Skipped), "section header");
        Assert.That(reader.Next(out _), Is.EqualTo(PcapStatus.Skipped), "interface description");
        Assert.That(reader.Next(out PcapPacket packet), Is.EqualTo(PcapStatus.Packet));
        Assert.That(packet.TimestampNs, Is.EqualTo(T));
    }

    [Test]
    public void ALengthBeyondAnySnapshotIsCorruptAndACutRecordIsTruncated()
    {
        var w = new PcapWriter();
        w.Udp(T, 1, [9]);
        byte[] capture = w.ToArray();
        byte[] corrupt = (byte[])capture.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(corrupt.AsSpan(24 + 8), 1 << 30);
        PcapReader.TryOpen(corrupt, out PcapReader r1, out _);
        Assert.That(r1.Next(out _), Is.EqualTo(PcapStatus.Corrupt));
        Assert.That(r1.Next(out _), Is.EqualTo(PcapStatus.End));

        PcapReader.TryOpen(capture.AsMemory(0, capture.Length - 5), out PcapReader r2, out _);
        Assert.That(r2.Next(out _), Is.EqualTo(PcapStatus.Truncated));
        Assert.That(r2.Next(out _), Is.EqualTo(PcapStatus.End));
    }

    [Test]
    public void UnwrapsVlanTagsAndLinuxCookedCaptures()
    {
        byte[] ipUdp = Frame()[14..];
        byte[] vlan = [.. new byte[12], 0x81, 0x00, 0x00, 0x05, 0x08, 0x00, .. ipUdp];
        byte[] sll = [.. new byte[14], 0x08, 0x00, .. ipUdp];
        Assert.That(UdpFrame.TryExtract(vlan, 1, out ReadOnlySpan<byte> a, out _, out _), Is.True);
        Assert.That(UdpFrame.TryExtract(sll, 113, out ReadOnlySpan<byte> b, out _, out _), Is.True);
        Assert.That(UdpFrame.TryExtract(ipUdp, 228, out ReadOnlySpan<byte> c, out _, out _), Is.True);
        Assert.That((a.ToArray(), b.ToArray(), c.ToArray()), Is.EqualTo((new byte[] { 7, 7 }, new byte[] { 7, 7 }, new byte[] { 7, 7 })));
    }

    [Test]
    public void RejectsFragmentsNonUdpCutPacketsAndUnknownLinks()
    {
        byte[] fragment = Frame();
        fragment[14 + 6] = 0x20; // more fragments
        byte[] tcp = Frame();
        tcp[14 + 9] = 6;
        byte[] cut = Frame()[..^1]; // IP total length beyond the captured bytes
        byte[] badUdp = Frame();
        BinaryPrimitives.WriteUInt16BigEndian(badUdp.AsSpan(14 + 20 + 4), 200);
        Assert.Multiple(() =>
        {
            Assert.That(Reason(fragment, 1), Is.EqualTo(FrameReject.IpFragment));
            Assert.That(Reason(tcp, 1), Is.EqualTo(FrameReject.NotUdp));
            Assert.That(Reason(cut, 1), Is.EqualTo(FrameReject.BadIpv4Header));
            Assert.That(Reason(badUdp, 1), Is.EqualTo(FrameReject.BadUdpLength));
            Assert.That(Reason(Frame(), 105), Is.EqualTo(FrameReject.UnsupportedLinkType));
            Assert.That(Reason(new byte[8], 1), Is.EqualTo(FrameReject.ShortFrame));
        });
    }

    private static FrameReject? Reason(byte[] frame, int link) => UdpFrame.TryExtract(frame, link, out _, out _, out FrameReject r) ? null : r;

    // One Ethernet/IPv4/UDP frame carrying [7, 7], as PcapWriter writes it.
    private static byte[] Frame()
    {
        var w = new PcapWriter();
        w.Udp(T, 1, [7, 7]);
        return w.ToArray()[(24 + 16)..];
    }

    private static void Swap(byte[] b, int at, int width) => Array.Reverse(b, at, width);
}
