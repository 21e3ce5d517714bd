using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace FeedHandlers.Transport;

/// <summary>
/// Where one UDP line is received: a local address and port, and optionally a multicast group joined
/// on a local interface. Text form: <c>127.0.0.1:31001</c> (unicast) or <c>239.1.1.1:31001@127.0.0.1</c>
/// (multicast group : port @ interface address).
/// </summary>
/// <param name="Address">Local address to bind (unicast), or the multicast group.</param>
/// <param name="Port">UDP port; 0 binds an ephemeral port (read it back from <see cref="UdpLine.LocalPort"/>).</param>
/// <param name="Interface">For multicast: the local interface address to join on (and to bind); null for unicast.</param>
public sealed record UdpEndpoint(IPAddress Address, int Port, IPAddress? Interface = null)
{
    /// <summary>True when <see cref="Address"/> is a multicast group.</summary>
    public bool IsMulticast => Address.AddressFamily == AddressFamily.InterNetwork && (Address.GetAddressBytes()[0] & 0xF0) == 0xE0;

    /// <summary>Parses <c>address:port</c> or <c>group:port@interface</c>; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static UdpEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string rest = text;
        IPAddress? iface = null;
        int at = text.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            if (!IPAddress.TryParse(text[(at + 1)..], out iface))
            {
                throw new FormatException($"'{text}': '{text[(at + 1)..]}' after '@' is not an IPv4 interface address.");
            }

            rest = text[..at];
        }

        int colon = rest.LastIndexOf(':');
        if (colon <= 0 || !IPAddress.TryParse(rest[..colon], out IPAddress? address)
            || !int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            throw new FormatException($"'{text}' is not an endpoint: expected ADDRESS:PORT or GROUP:PORT@INTERFACE, e.g. 127.0.0.1:31001 or 239.1.1.1:31001@127.0.0.1.");
        }

        var endpoint = new UdpEndpoint(address, port, iface);
        if (iface is not null && !endpoint.IsMulticast)
        {
            throw new FormatException($"'{text}': an interface ('@{iface}') is only meaningful with a multicast group (224.0.0.0/4).");
        }

        return endpoint;
    }

    /// <inheritdoc />
    public override string ToString() => Interface is null ? $"{Address}:{Port}" : $"{Address}:{Port}@{Interface}";
}

/// <summary>
/// One UDP line: a bound, non-blocking socket (optionally joined to a multicast group) and a
/// preallocated receive buffer. <see cref="TryReceive"/> reads one datagram into that buffer without
/// allocating or blocking.
/// </summary>
/// <remarks>
/// Socket set-up (bind, join, buffer sizes) happens in the constructor and throws
/// <see cref="SocketException"/> naming the endpoint when the OS refuses. After that, one thread (the
/// feed thread) calls <see cref="TryReceive"/>. The datagram stays valid in <see cref="Buffer"/> until
/// the next receive on this line.
/// </remarks>
public sealed class UdpLine : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer;

    /// <summary>Binds (and joins) <paramref name="endpoint"/>, with a receive buffer of <paramref name="maxDatagramBytes"/> and a kernel buffer of <paramref name="socketBufferBytes"/>.</summary>
    public UdpLine(UdpEndpoint endpoint, int maxDatagramBytes = 2048, int socketBufferBytes = 4 << 20)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDatagramBytes, 1);
        Endpoint = endpoint;
        _buffer = GC.AllocateArray<byte>(maxDatagramBytes, pinned: true);
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.ReceiveBufferSize = socketBufferBytes;
            if (endpoint.IsMulticast)
            {
                // Several processes (a recorder beside a live engine) may listen to one group.
                _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                _socket.Bind(new IPEndPoint(endpoint.Address, endpoint.Port));
                IPAddress iface = endpoint.Interface ?? IPAddress.Any;
                _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(endpoint.Address, iface));
            }
            else
            {
                _socket.Bind(new IPEndPoint(endpoint.Address, endpoint.Port));
            }

            _socket.Blocking = false;
        }
        catch (SocketException ex)
        {
            _socket.Dispose();
            throw new SocketException((int)ex.SocketErrorCode, $"UDP line {endpoint}: {ex.Message}");
        }

        LocalPort = ((IPEndPoint)_socket.LocalEndPoint!).Port;
    }

    /// <summary>What the line listens to.</summary>
    public UdpEndpoint Endpoint { get; }

    /// <summary>The port actually bound.</summary>
    public int LocalPort { get; }

    /// <summary>The kernel receive buffer granted (Linux reports twice the requested size, capped by net.core.rmem_max).</summary>
    public int SocketBufferBytes => _socket.ReceiveBufferSize;

    /// <summary>The receive buffer; the last datagram is its first <c>length</c> bytes.</summary>
    public ReadOnlySpan<byte> Buffer => _buffer;

    /// <summary>Datagrams longer than the receive buffer (cut by the kernel; the caller rejects them).</summary>
    public long Oversized { get; private set; }

    /// <summary>Receive calls that failed with an error other than "nothing to read".</summary>
    public long Errors { get; private set; }

    /// <summary>The last such error.</summary>
    public SocketError LastError { get; private set; }

    /// <summary>
    /// Reads one datagram if one is queued: true with its length (its bytes are the start of
    /// <see cref="Buffer"/>); false at once when none is. A datagram cut to the buffer's size comes back
    /// with <paramref name="truncated"/> set. Allocation-free; feed thread only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReceive(out int length, out bool truncated)
    {
        length = _socket.Receive(_buffer.AsSpan(), SocketFlags.None, out SocketError error);
        truncated = false;
        if (error == SocketError.Success)
        {
            return true;
        }

        return ReceiveFailed(error, ref length, ref truncated);
    }

    /// <summary>Closes the socket.</summary>
    public void Dispose() => _socket.Dispose();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool ReceiveFailed(SocketError error, ref int length, ref bool truncated)
    {
        if (error == SocketError.WouldBlock)
        {
            return false;
        }

        if (error == SocketError.MessageSize)
        {
            Oversized++;
            length = _buffer.Length;
            truncated = true;
            return true;
        }

        Errors++;
        LastError = error;
        return false;
    }
}
