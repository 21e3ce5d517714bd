using System.Buffers.Binary;

namespace FeedHandlers.Pcap;

/// <summary>Why a captured frame gave no UDP payload. Each is counted; none throws.</summary>
public enum FrameReject
{
    /// <summary>The capture ended inside the record (the last record of a capture cut short).</summary>
    TruncatedRecord,

    /// <summary>A record header that cannot be right; the rest of the capture was unreadable.</summary>
    CorruptRecord,

    /// <summary>A link-layer type other than Ethernet (1), Linux cooked (113) or raw IPv4 (101, 228).</summary>
    UnsupportedLinkType,

    /// <summary>The frame is shorter than its link-layer header.</summary>
    ShortFrame,

    /// <summary>Not IPv4 (ARP, IPv6, ...).</summary>
    NotIpv4,

    /// <summary>An IPv4 header that is malformed, or a total length beyond the captured bytes (snapshot length cut the packet).</summary>
    BadIpv4Header,

    /// <summary>An IPv4 fragment (reassembly is not done; market data datagrams fit a frame).</summary>
    IpFragment,

    /// <summary>Not UDP (TCP, ICMP, ...).</summary>
    NotUdp,

    /// <summary>A UDP length that disagrees with the IP packet.</summary>
    BadUdpLength,
}

/// <summary>Pulls the UDP payload out of a captured frame: Ethernet (with 802.1Q tags), Linux cooked capture or raw IPv4, then IPv4, then UDP. Allocation-free.</summary>
public static class UdpFrame
{
    /// <summary>The payload and destination port of the UDP datagram in <paramref name="frame"/>, or false with the reason.</summary>
    public static bool TryExtract(ReadOnlySpan<byte> frame, int linkType, out ReadOnlySpan<byte> payload, out ushort destinationPort, out FrameReject reason)
    {
        payload = default;
        destinationPort = 0;
        ReadOnlySpan<byte> ip;
        switch (linkType)
        {
            case 1:
                if (frame.Length < 14)
                {
                    reason = FrameReject.ShortFrame;
                    return false;
                }

                int offset = 12;
                ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]);
                while (etherType is 0x8100 or 0x88A8)
                {
                    offset += 4;
                    if (frame.Length < offset + 2)
                    {
                        reason = FrameReject.ShortFrame;
                        return false;
                    }

                    etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]);
                }

                if (etherType != 0x0800)
                {
                    reason = FrameReject.NotIpv4;
                    return false;
                }

                ip = frame[(offset + 2)..];
                break;
            case 113:
                if (frame.Length < 16)
                {
                    reason = FrameReject.ShortFrame;
                    return false;
                }

                if (BinaryPrimitives.ReadUInt16BigEndian(frame[14..]) != 0x0800)
                {
                    reason = FrameReject.NotIpv4;
                    return false;
                }

                ip = frame[16..];
                break;
            case 101:
            case 228:
                ip = frame;
                break;
            default:
                reason = FrameReject.UnsupportedLinkType;
                return false;
        }

        if (ip.Length < 20 || ip[0] >> 4 != 4)
        {
            reason = ip.Length >= 1 && ip[0] >> 4 != 4 ? FrameReject.NotIpv4 : FrameReject.BadIpv4Header;
            return false;
        }

        int headerLength = (ip[0] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (headerLength < 20 || totalLength < headerLength || totalLength > ip.Length)
        {
            reason = FrameReject.BadIpv4Header;
            return false;
        }

        ushort fragment = BinaryPrimitives.ReadUInt16BigEndian(ip[6..]);
        if ((fragment & 0x3FFF) != 0)
        {
            // More-fragments set, or a non-zero offset.
            reason = FrameReject.IpFragment;
            return false;
        }

        if (ip[9] != 17)
        {
            reason = FrameReject.NotUdp;
            return false;
        }

        ReadOnlySpan<byte> udp = ip[headerLength..totalLength];
        if (udp.Length < 8)
        {
            reason = FrameReject.BadUdpLength;
            return false;
        }

        int udpLength = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
        if (udpLength < 8 || udpLength > udp.Length)
        {
            reason = FrameReject.BadUdpLength;
            return false;
        }

        destinationPort = BinaryPrimitives.ReadUInt16BigEndian(udp[2..]);
        payload = udp[8..udpLength];
        reason = default;
        return true;
    }
}
