using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Engine.Book;
using Engine.Events;
using Engine.Features;
using Engine.Native;
using Engine.Pipeline;
using Engine.Replay;
using FeedHandlers.Capture;
using FeedHandlers.Itch;
using FeedHandlers.MoldUdp;
using FeedHandlers.Transport;
using HdrHistogram;

namespace Engine.LatencyHarness.Scenarios;

/// <summary>Rows, ratios and notes of one part of a scenario; parts measured by separate methods compose into one result.</summary>
public sealed record ScenarioPart(IReadOnlyList<Row> Rows, IReadOnlyList<Ratio> Ratios, IReadOnlyList<string> Notes);

/// <summary>
/// The feed side: live MoldUDP64 over loopback UDP into the production pipeline (one-way latency from
/// each datagram's intended send time to the ring publish of each of its messages, paced open loop),
/// and ITCH parse + book throughput on one core. Each part is its own method returning a
/// <see cref="ScenarioPart"/>; <see cref="Run"/> composes them.
/// </summary>
public static class FeedsScenario
{
    private const long HistogramMax = 10_000_000_000;

    public static ScenarioResult Run(bool quick)
    {
        byte[] sample = CaptureFile.ReadAll(Path.Combine(Paths.Samples, "sample.itch.gz"));
        ScenarioPart[] parts =
        [
            UdpLoopback(sample, quick),
            FeedsParseScenario.Measure(quick),
        ];
        return new ScenarioResult("feeds", Machine.Describe(), [.. parts.SelectMany(p => p.Rows)], [.. parts.SelectMany(p => p.Ratios)], [.. parts.SelectMany(p => p.Notes)]);
    }

    /// <summary>
    /// A sender thread sends the bundled sample as MoldUDP64 datagrams (up to 4 messages each) to two
    /// loopback lines (A and B), paced open loop; each message's ITCH timestamp carries its datagram's
    /// intended send time. The feed thread (busy-polling both sockets) arbitrates A/B, decodes in place
    /// and publishes into the ring of the production pipeline (stage: book, features, demo model); at
    /// each publish it records now − intended send time. No coordinated omission: a late sender or a
    /// stalled feed thread shows up in the latency.
    /// </summary>
    public static ScenarioPart UdpLoopback(byte[] sample, bool quick)
    {
        const double Rate = 10_000;
        const int MessagesPerDatagram = 4;
        int rounds = quick ? 1 : 5;
        int datagrams = quick ? 20_000 : 60_000;
        List<byte[]> packets = MoldUdp64PacketWriter.Packetize(sample, MoldUdp64Session.FromText("FEEDS"), 1400, MessagesPerDatagram);
        packets.RemoveAt(packets.Count - 1);
        packets = packets.GetRange(0, Math.Min(datagrams, packets.Count));
        FeatureSpec spec = FeatureSpec.Load(Path.Combine(Paths.Samples, "demo.features.json"));

        var publish = new LongHistogram(HistogramMax, 3);
        var kernel = new LongHistogram(HistogramMax, 3);
        var engine = new LongHistogram(HistogramMax, 3);
        var rows = new List<Row>();
        var notes = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"udp: {packets.Count:N0} datagrams (≤ {MessagesPerDatagram} ITCH messages each, from the bundled sample) per round, sent to lines A and B on 127.0.0.1, paced open loop at {Rate:N0} datagrams/s; {rounds} round(s); latency per message from its datagram's intended send time"),
            "udp: threads: sender (yields until 20 µs before each due time, then spins), feed (polls both sockets; spins briefly, then yields when idle), stage (yielding wait; not on the measured path): three threads on two vCPUs",
        };
        long messages = 0;
        long allocated = 0;
        long measuredDatagrams = 0;
        double seconds = 0;
        for (int round = 1; round <= rounds; round++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var roundPublish = new LongHistogram(HistogramMax, 3);
            using var source = new TimedUdpSource(roundPublish, kernel, engine);
            int[] ports = [.. source.Lines.Select(l => l.LocalPort)];
            using var sender = new PacedSender(ports, packets, Rate);
            sender.Start(source.Running);
            var log = new PredictionLog(1 << 17);
            ReplayReport report = ReplayRunner.Run(source, spec, spec.ModelPath!, new PredictionLogHandler(log),
                new ReplayOptions { Pipeline = new PipelineOptions { Wait = WaitStrategyKind.Yielding } });
            sender.Join();
            publish.Add(roundPublish);
            MoldUdp64Arbiter<TimedItchSink> arb = source.Feed!.Arbiter;
            messages += arb.DeliveredMessages;
            allocated += source.SteadyAllocatedBytes;
            measuredDatagrams += source.SteadyDatagrams;
            seconds += report.Run.Elapsed.TotalSeconds;
            rows.Add(Row.From($"udp send→publish round {round}", roundPublish, arb.DeliveredMessages / report.Run.Elapsed.TotalSeconds, 0));
            notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"udp round {round}: {arb.DeliveredMessages:N0} messages delivered, gaps {arb.Gaps} ({arb.MissedMessages} messages), A won {arb.Lines[0].Won:N0} / B won {arb.Lines[1].Won:N0}, duplicates {arb.DuplicateMessages:N0}; sender late {sender.Late:N0} of {packets.Count:N0}; stage inferences {report.Processor.Inferences:N0}; GC during run {string.Join('/', report.GcCollectionsDuringRun)}; feed thread allocated {source.SteadyAllocatedBytes:N0} bytes over {source.SteadyDatagrams:N0} datagrams after warm-up"));
        }

        double bytesPerDatagram = measuredDatagrams == 0 ? 0 : (double)allocated / measuredDatagrams;
        rows.Insert(0, Row.From("udp A/B send→ring publish (per message)", publish, messages / seconds, bytesPerDatagram));
        rows.Insert(1, Row.From("udp send→receive (socket, kernel, wake-up)", kernel, messages / seconds, 0));
        rows.Insert(2, Row.From("udp receive→ring publish (arbitrate, decode, publish)", engine, messages / seconds, bytesPerDatagram));
        return new ScenarioPart(rows, [new Ratio("udp feed thread bytes per datagram", bytesPerDatagram, "== 0")], notes);
    }

    /// <summary>Publishes through <see cref="ItchTickSink"/>, then records now − the intended send time carried in the message's ITCH timestamp.</summary>
    private readonly struct TimedItchSink(ItchTickSink inner, LongHistogram publish, LongHistogram kernel, LongHistogram engine, long epochNs) : IMoldUdp64Sink
    {
        public bool OnMessage(ReadOnlySpan<byte> message, long sequence, long stampNs)
        {
            bool alive = inner.OnMessage(message, sequence, stampNs);
            long now = MonotonicClock.NowNs();
            long intended = epochNs + (long)((ulong)BinaryPrimitives.ReadUInt16BigEndian(message[5..]) << 32 | BinaryPrimitives.ReadUInt32BigEndian(message[7..]));
            publish.RecordValue(Math.Clamp(now - intended, 0, HistogramMax));
            kernel.RecordValue(Math.Clamp(stampNs - intended, 0, HistogramMax));
            engine.RecordValue(Math.Clamp(now - stampNs, 0, HistogramMax));
            return alive;
        }

        public bool OnGap(long firstMissing, long count, long stampNs) => inner.OnGap(firstMissing, count, stampNs);
    }

    /// <summary>Two loopback lines polled by the pipeline's producer thread into a <see cref="TimedItchSink"/>; stops at the end of the session.</summary>
    private sealed class TimedUdpSource : ITickSource, IDisposable
    {
        private readonly LongHistogram _publish;
        private readonly LongHistogram _kernel;
        private readonly LongHistogram _engine;
        private readonly UdpLine[] _lines;

        public TimedUdpSource(LongHistogram publish, LongHistogram kernel, LongHistogram engine)
        {
            _publish = publish;
            _kernel = kernel;
            _engine = engine;
            _lines = [new UdpLine(new UdpEndpoint(IPAddress.Loopback, 0)), new UdpLine(new UdpEndpoint(IPAddress.Loopback, 0))];
        }

        public string Description => "MoldUDP64 A/B over loopback";

        public FeedCounters Counters { get; } = new();

        public IReadOnlyList<UdpLine> Lines => _lines;

        public MoldUdp64Feed<TimedItchSink>? Feed { get; private set; }

        /// <summary>Set once the producer thread polls: the sender's clock starts then.</summary>
        public ManualResetEventSlim Running { get; } = new(false);

        public long SteadyAllocatedBytes { get; private set; }

        public long SteadyDatagrams { get; private set; }

        public void Run(TickPublisher publisher, CancellationToken cancellationToken)
        {
            var sink = new TimedItchSink(new ItchTickSink(publisher, Counters), _publish, _kernel, _engine, PacedSender.Epoch);
            var arbiter = new MoldUdp64Arbiter<TimedItchSink>(new MoldUdp64ArbiterOptions { Lines = 2 }, sink, Counters);
            var feed = Feed = new MoldUdp64Feed<TimedItchSink>(_lines, arbiter);
            long received = 0;
            long allocatedAt = 0;
            Running.Set();
            var spinner = default(SpinWait);
            while (!arbiter.Ended && feed.SinkAlive && !cancellationToken.IsCancellationRequested)
            {
                int got = feed.Poll();
                received += got;
                if (got == 0)
                {
                    // Spin briefly, then yield: on two vCPUs a pure busy-poll would starve the sender and the stage.
                    spinner.SpinOnce(sleep1Threshold: -1);
                }
                else
                {
                    spinner.Reset();
                }

                if (allocatedAt == 0 && received >= 2_000)
                {
                    allocatedAt = GC.GetAllocatedBytesForCurrentThread();
                    SteadyDatagrams = -received;
                }
            }

            if (allocatedAt != 0)
            {
                SteadyAllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - allocatedAt;
                SteadyDatagrams += received;
            }
        }

        public void Dispose()
        {
            foreach (UdpLine line in _lines)
            {
                line.Dispose();
            }

            Running.Dispose();
        }
    }

    /// <summary>Sends each packet to both ports at its intended time (open loop), stamping that time into every message, then ends the session.</summary>
    private sealed class PacedSender : IDisposable
    {
        private readonly Socket[] _sockets;
        private readonly List<byte[]> _packets;
        private readonly double _intervalNs;
        private readonly Thread _thread;
        private ManualResetEventSlim? _ready;

        public PacedSender(int[] ports, List<byte[]> packets, double rate)
        {
            _sockets = [.. ports.Select(p =>
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                s.Connect(new IPEndPoint(IPAddress.Loopback, p));
                return s;
            })];
            _packets = [.. packets.Select(p => (byte[])p.Clone())];
            _intervalNs = 1e9 / rate;
            _thread = new Thread(Loop) { IsBackground = true, Name = "feeds-sender" };
        }

        /// <summary>The origin of the intended send times written into the ITCH timestamps (48 bits of ns: 78 hours).</summary>
        public static long Epoch { get; } = MonotonicClock.NowNs() - 1_000_000_000;

        public long Late { get; private set; }

        public void Start(ManualResetEventSlim ready)
        {
            _ready = ready;
            _thread.Start();
        }

        public void Join() => _thread.Join();

        public void Dispose()
        {
            foreach (Socket s in _sockets)
            {
                s.Dispose();
            }
        }

        private void Loop()
        {
            // The clock starts when the feed thread polls (the model is loaded and warm by then).
            _ready!.Wait();
            long start = MonotonicClock.NowNs();
            for (int i = 0; i < _packets.Count; i++)
            {
                long due = start + (long)(i * _intervalNs);
                if (MonotonicClock.NowNs() > due)
                {
                    Late++;
                }
                else
                {
                    // Two vCPUs carry three busy threads here: give the core away until shortly before the due time.
                    while (due - MonotonicClock.NowNs() > 20_000)
                    {
                        Thread.Yield();
                    }

                    MonotonicClock.SpinUntil(due);
                }

                byte[] packet = _packets[i];
                Stamp(packet, due - Epoch);
                foreach (Socket s in _sockets)
                {
                    s.Send(packet);
                }
            }

            byte[] end = new byte[MoldUdp64.HeaderLength];
            if (!MoldUdp64.TryParse(_packets[^1], out MoldUdp64Header last, out _))
            {
                throw new InvalidOperationException("the last packet built is malformed");
            }

            MoldUdp64PacketWriter.WriteEndOfSession(end, last.Session, last.NextSequence);
            foreach (Socket s in _sockets)
            {
                s.Send(end);
            }
        }

        private static void Stamp(byte[] packet, long timestamp)
        {
            int position = MoldUdp64.HeaderLength;
            while (position < packet.Length)
            {
                int length = BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(position));
                Span<byte> m = packet.AsSpan(position + 2, length);
                BinaryPrimitives.WriteUInt16BigEndian(m[5..], (ushort)(timestamp >> 32));
                BinaryPrimitives.WriteUInt32BigEndian(m[7..], (uint)timestamp);
                position += 2 + length;
            }
        }
    }
}
