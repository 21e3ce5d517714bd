using System.Net;
using System.Net.Sockets;
using System.Text;
using Engine.Native;

namespace Engine.Telemetry;

/// <summary>Where and whether the metrics endpoint listens. Off unless built; loopback unless told otherwise.</summary>
public sealed record MetricsEndpointOptions
{
    /// <summary>Address to bind; loopback by default. Anything else needs <see cref="AllowNonLoopback"/>.</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>TCP port; 0 picks a free one (see <see cref="MetricsEndpoint.LocalEndPoint"/>).</summary>
    public int Port { get; init; } = 9464;

    /// <summary>Must be set to bind to a non-loopback address: the endpoint has no authentication.</summary>
    public bool AllowNonLoopback { get; init; }
}

/// <summary>
/// A minimal in-process HTTP/1.1 server on its own thread: <c>GET /metrics</c> (Prometheus text
/// format, <see cref="PrometheusText"/>), <c>GET /health/live</c> and <c>GET /health/ready</c>
/// (<see cref="HealthChecks"/>; 200 when healthy, 503 with the failing checks otherwise).
/// </summary>
/// <remarks>
/// <para>One request per connection (<c>Connection: close</c>), served one at a time on the
/// endpoint's thread, which is a below-normal-priority background thread: start it from a thread
/// that is not pinned to a hot core. It touches the hot path only through what the recorders and
/// counters publish; it never takes a lock a hot thread takes.</para>
/// <para>Binding beyond loopback throws unless <see cref="MetricsEndpointOptions.AllowNonLoopback"/>
/// is set. Each scrape allocates a little on this thread (the accepted socket, a few strings); the
/// render buffers are reused.</para>
/// </remarks>
public sealed class MetricsEndpoint : IDisposable
{
    private const int MaxRequestBytes = 8192;
    private readonly LatencyTelemetry _telemetry;
    private readonly HealthChecks _health;
    private readonly TcpListener _listener;
    private readonly PrometheusText _prometheus = new();
    private readonly byte[] _request = new byte[MaxRequestBytes];
    private byte[] _response = new byte[1 << 16];
    private readonly BackgroundThread _thread = new("telemetry-http", ThreadPriority.BelowNormal);
    private volatile bool _stopping;
    private long _requests;

    /// <summary>Binds the listener now (so a port conflict or a refused address fails at start-up, here).</summary>
    public MetricsEndpoint(LatencyTelemetry telemetry, HealthChecks health, MetricsEndpointOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        ArgumentNullException.ThrowIfNull(health);
        options ??= new MetricsEndpointOptions();
        if (!IPAddress.IsLoopback(options.Address) && !options.AllowNonLoopback)
        {
            throw new ArgumentException($"The metrics endpoint binds to loopback unless configured otherwise: {options.Address} is not a loopback address; set AllowNonLoopback (the endpoint has no authentication).", nameof(options));
        }

        _telemetry = telemetry;
        _health = health;
        _listener = new TcpListener(options.Address, options.Port);
        _listener.Start(backlog: 16);
        LocalEndPoint = (IPEndPoint)_listener.LocalEndpoint;
    }

    /// <summary>The address and port actually bound.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Requests served.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>
    /// Where the background thread may run (see <see cref="CpuAffinity.BackgroundCpus"/>): set before
    /// <see cref="Start"/>; the thread restricts itself to it when it starts. Default: unrestricted.
    /// </summary>
    public BackgroundCpuSet BackgroundCpus { get => _thread.Cpus; set => _thread.Cpus = value; }

    /// <summary>What pinning the background thread achieved (null when <see cref="BackgroundCpus"/> restricts nothing, or before the thread ran). Written by that thread; read it after <c>Stop</c>.</summary>
    public AffinityResult? BackgroundAffinity => _thread.Affinity;

    /// <summary>Starts serving on the endpoint's own thread.</summary>
    public void Start() => _thread.Start(Serve);

    /// <summary>Stops serving and closes the listener (within ~100 ms).</summary>
    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
        _listener.Stop();
        _listener.Dispose();
    }

    private void Serve()
    {
        while (!_stopping)
        {
            // Poll so a stop is seen within 100 ms without closing the socket under a blocked Accept.
            if (!_listener.Server.Poll(100_000, SelectMode.SelectRead))
            {
                continue;
            }

            Socket client;
            try
            {
                client = _listener.AcceptSocket();
            }
            catch (SocketException)
            {
                continue;
            }

            using (client)
            {
                try
                {
                    client.ReceiveTimeout = 2000;
                    client.SendTimeout = 2000;
                    Handle(client);
                    Interlocked.Increment(ref _requests);
                }
                catch (SocketException)
                {
                    // The client went away or timed out: nothing to answer.
                }
            }
        }
    }

    private void Handle(Socket client)
    {
        int length = 0;
        int headerEnd;
        while ((headerEnd = _request.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (length == _request.Length)
            {
                Respond(client, 431, "Request Header Fields Too Large", "text/plain; charset=utf-8", "request headers exceed 8 KiB\n");
                return;
            }

            int n = client.Receive(_request, length, _request.Length - length, SocketFlags.None);
            if (n == 0)
            {
                return;
            }

            length += n;
        }

        ReadOnlySpan<byte> requestLine = _request.AsSpan(0, _request.AsSpan(0, headerEnd + 2).IndexOf("\r\n"u8));
        int sp1 = requestLine.IndexOf((byte)' ');
        int sp2 = sp1 < 0 ? -1 : requestLine[(sp1 + 1)..].IndexOf((byte)' ');
        if (sp1 <= 0 || sp2 <= 0)
        {
            Respond(client, 400, "Bad Request", "text/plain; charset=utf-8", "malformed request line\n");
            return;
        }

        ReadOnlySpan<byte> method = requestLine[..sp1];
        ReadOnlySpan<byte> target = requestLine.Slice(sp1 + 1, sp2);
        int query = target.IndexOf((byte)'?');
        ReadOnlySpan<byte> path = query >= 0 ? target[..query] : target;
        if (!method.SequenceEqual("GET"u8))
        {
            Respond(client, 405, "Method Not Allowed", "text/plain; charset=utf-8", "only GET is served\n", "Allow: GET\r\n");
            return;
        }

        if (path.SequenceEqual("/metrics"u8))
        {
            StringBuilder text = _prometheus.Render(_telemetry);
            Respond(client, 200, "OK", PrometheusText.ContentType, text);
        }
        else if (path.SequenceEqual("/health/live"u8))
        {
            Health(client, _health.Live());
        }
        else if (path.SequenceEqual("/health/ready"u8))
        {
            Health(client, _health.Ready());
        }
        else
        {
            Respond(client, 404, "Not Found", "text/plain; charset=utf-8", "served: /metrics, /health/live, /health/ready\n");
        }
    }

    private void Health(Socket client, HealthReport report) =>
        Respond(client, report.Healthy ? 200 : 503, report.Healthy ? "OK" : "Service Unavailable", "application/json", report.ToJson() + "\n");

    private void Respond(Socket client, int status, string reason, string contentType, string body, string extraHeaders = "") =>
        Respond(client, status, reason, contentType, new StringBuilder(body), extraHeaders);

    private void Respond(Socket client, int status, string reason, string contentType, StringBuilder body, string extraHeaders = "")
    {
        int bodyBytes = 0;
        foreach (ReadOnlyMemory<char> chunk in body.GetChunks())
        {
            bodyBytes += Encoding.UTF8.GetByteCount(chunk.Span);
        }

        string head = $"HTTP/1.1 {status} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {bodyBytes}\r\nCache-Control: no-store\r\n{extraHeaders}Connection: close\r\n\r\n";
        int total = Encoding.ASCII.GetByteCount(head) + bodyBytes;
        if (_response.Length < total)
        {
            _response = new byte[Math.Max(total, _response.Length * 2)];
        }

        int n = Encoding.ASCII.GetBytes(head, _response);
        foreach (ReadOnlyMemory<char> chunk in body.GetChunks())
        {
            n += Encoding.UTF8.GetBytes(chunk.Span, _response.AsSpan(n));
        }

        int sent = 0;
        while (sent < n)
        {
            sent += client.Send(_response, sent, n - sent, SocketFlags.None);
        }

        client.Shutdown(SocketShutdown.Send);
    }
}
