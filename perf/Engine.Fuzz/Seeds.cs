using System.Buffers.Binary;
using Engine.Events;
using FeedHandlers.Capture;
using FeedHandlers.Iex;
using FeedHandlers.Itch;
using FeedHandlers.Lobster;
using FeedHandlers.MoldUdp;
using FeedHandlers.Pcap;

namespace Engine.Fuzz;

/// <summary>
/// Seed inputs of real messages for each target: slices of the bundled ITCH sample, of IEX's DEEP
/// capture and of the LOBSTER files in ../shared (when present), plus small hand-built TOPS and
/// pcapng captures so that every target has seeds without ../shared.
/// </summary>
public static class Seeds
{
    /// <summary>The ../shared folder next to the repository, or null.</summary>
    public static string? Shared
    {
        get
        {
            string? dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "Engine.sln")))
            {
                dir = Path.GetDirectoryName(dir);
            }

            string? shared = dir is null ? null : Path.GetFullPath(Path.Combine(dir, "..", "shared"));
            return shared is not null && Directory.Exists(shared) ? shared : null;
        }
    }

    public static List<byte[]> For(string target) => target switch
    {
        "itch" => Itch(),
        "iex" => Iex(),
        "lobster" => Lobster(),
        "moldudp" => MoldUdp(),
        "capture" => Capture(),
        _ => throw new ArgumentException($"No seeds for target '{target}'.", nameof(target)),
    };

    /// <summary>
    /// Runs of MoldUDP64 packets cut from the bundled sample (the fuzz target's framing: control byte,
    /// u16 length, packet): one line; A/B with both copies; A/B with drops on each line and B's copies
    /// late; reordered and repeated packets; a heartbeat and the end of session.
    /// </summary>
    public static List<byte[]> MoldUdp()
    {
        List<byte[]> packets = SamplePackets();
        var seeds = new List<byte[]>();
        var random = new Random(11);
        for (int i = 0; i < 48; i++)
        {
            int first = i * (packets.Count - 40) / 48;
            byte setup = (byte)((i % 2) | ((i % 8) << 1) | (i % 5 == 4 ? 0x10 : 0));
            var input = new List<byte> { setup };
            for (int p = first; p < first + 24; p++)
            {
                int variant = i % 4;
                bool dropA = variant >= 2 && random.Next(6) == 0;
                bool dropB = variant >= 2 && !dropA && random.Next(6) == 0;
                if (!dropA)
                {
                    Add(input, 0, packets[p], random.Next(3));
                }

                if ((setup & 1) == 1 && !dropB && variant != 3)
                {
                    Add(input, 1, packets[p], 0);
                }

                if (variant == 3 && p > first && (setup & 1) == 1)
                {
                    // B one packet behind A.
                    Add(input, 1, packets[p - 1], 0);
                }
            }

            if (i % 6 == 5)
            {
                Add(input, 0, packets[first + 3], 30);
                Add(input, 0, packets[first + 1], 0);
            }

            byte[] heartbeat = new byte[MoldUdp64.HeaderLength];
            MoldUdp64PacketWriter.WriteHeartbeat(heartbeat, MoldUdp64Session.FromText("FUZZ000001"), 1);
            Add(input, 0, i % 3 == 0 ? heartbeat : packets[^1], 0);
            seeds.Add([.. input]);
        }

        return seeds;

        static void Add(List<byte> input, int line, byte[] packet, int ticks)
        {
            input.Add((byte)(line | (ticks << 1)));
            input.Add((byte)(packet.Length >> 8));
            input.Add((byte)packet.Length);
            input.AddRange(packet);
        }
    }

    /// <summary>Small engine captures written by <see cref="CaptureWriter"/> from the sample's MoldUDP64 packets on two lines: several record chunks and the summary, one left unclosed, one cut short.</summary>
    public static List<byte[]> Capture()
    {
        List<byte[]> packets = SamplePackets();
        var seeds = new List<byte[]>();
        for (int i = 0; i < 12; i++)
        {
            var stream = new MemoryStream();
            var header = new CaptureHeader
            {
                Protocol = CaptureProtocol.MoldUdp64Itch50,
                Source = "fuzz seed",
                Lines = ["127.0.0.1:5000", "127.0.0.1:5001"],
                Instruments = [new CaptureInstrument(1, "AAPL"), new CaptureInstrument(2, "MSFT")],
                Writer = "Engine.Fuzz",
            };
            using (var writer = new CaptureWriter(stream, header))
            {
                int first = i * (packets.Count - 40) / 12;
                long t = 1_000_000;
                for (int p = first; p < first + 18; p++)
                {
                    writer.Append(0, t, packets[p]);
                    if (i % 3 != 0)
                    {
                        writer.Append(1, t + 700, packets[p]);
                    }

                    if (i % 4 == 1 && p == first + 5)
                    {
                        // A datagram the receive buffer cut, recorded as such.
                        writer.Append(1, t + 900, packets[p].AsSpan(0, 30), truncated: true);
                    }

                    t += 50_000;
                    if (p % 6 == 5)
                    {
                        writer.Flush();
                    }
                }

                if (i != 7)
                {
                    writer.Complete(new CaptureSummary { Session = "ENGINE0001", NextSequence = 99, Instruments = header.Instruments });
                }
                else
                {
                    writer.Flush();
                }
            }

            byte[] bytes = stream.ToArray();
            seeds.Add(i == 10 ? bytes[..(bytes.Length - 17)] : bytes);
        }

        return seeds;
    }

    private static List<byte[]> SamplePackets() =>
        MoldUdp64PacketWriter.Packetize(CaptureFile.ReadAll(Path.Combine(AppContext.BaseDirectory, "samples", "sample.itch.gz")), MoldUdp64Session.FromText("ENGINE0001"), 1400, 6);

    /// <summary>Windows of 40 consecutive frames from across the bundled sample (every message type it has), and the NASDAQ sample's first messages.</summary>
    public static List<byte[]> Itch()
    {
        var seeds = new List<byte[]>();
        AddWindows(seeds, CaptureFile.ReadAll(Path.Combine(AppContext.BaseDirectory, "samples", "sample.itch.gz")), 256);
        if (Shared is { } shared && File.Exists(Path.Combine(shared, "data", "itch50-first-1000", "sample.itch")))
        {
            AddWindows(seeds, File.ReadAllBytes(Path.Combine(shared, "data", "itch50-first-1000", "sample.itch")), 16);
        }

        return seeds;

        static void AddWindows(List<byte[]> seeds, byte[] capture, int count)
        {
            var starts = new List<int>();
            var frames = new BinaryFileFrameReader(capture);
            while (frames.Next(out _) == FrameStatus.Message)
            {
                starts.Add(frames.Position);
            }

            for (int i = 0; i < count && starts.Count > 41; i++)
            {
                int first = (int)((long)i * (starts.Count - 41) / count);
                int from = first == 0 ? 0 : starts[first - 1];
                seeds.Add(capture[from..starts[first + 40]]);
            }
        }
    }

    /// <summary>Small pcaps of consecutive DEEP records from across IEX's sample, their bare segments, and hand-built TOPS and DEEP captures in pcap and pcapng.</summary>
    public static List<byte[]> Iex()
    {
        var seeds = new List<byte[]>();
        const long t0 = 1_493_132_621_826_542_542;
        foreach (bool pcapng in new[] { false, true })
        {
            var pcap = new PcapWriter(pcapng);
            var deep = new IexWriter(IexProtocol.Deep10);
            deep.SystemEvent(t0, 'O').SecurityDirectory(t0, "ZIEXT", 100, 10_0000_0000).TradingStatus(t0, "ZIEXT", 'T').SecurityEvent(t0, "ZIEXT", 'O');
            pcap.Udp(t0, 10378, deep.Segment());
            deep.PriceLevel(t0 + 1, "ZIEXT", Side.Buy, 100, 9_9900_0000, complete: false).PriceLevel(t0 + 1, "ZIEXT", Side.Sell, 200, 10_0100_0000)
                .Trade(t0 + 2, "ZIEXT", 50, 10_0100_0000, 7).Trade(t0 + 3, "ZIEXT", 50, 10_0100_0000, 7, isBreak: true);
            pcap.Udp(t0 + 5, 10378, deep.Segment());
            seeds.Add(pcap.ToArray());
            var tops = new IexWriter(IexProtocol.Tops16);
            var topsPcap = new PcapWriter(pcapng);
            tops.SystemEvent(t0, 'O').Quote(t0, "ZIEXT", 100, 9_9900_0000, 10_0100_0000, 300).Trade(t0, "ZIEXT", 10, 10_0000_0000, 1);
            byte[] segment = tops.Segment();
            topsPcap.Udp(t0, 10378, segment);
            seeds.Add(topsPcap.ToArray());
            seeds.Add(segment);
        }

        string? shared = Shared;
        string path = shared is null ? string.Empty : Path.Combine(shared, "data", "iex-deep-1.0-sample", "DEEP10.pcap.gz");
        if (File.Exists(path))
        {
            byte[] capture = CaptureFile.ReadAll(path);
            var records = new List<(int Start, int End)>();
            int at = 24;
            while (at + 16 <= capture.Length)
            {
                int length = BinaryPrimitives.ReadInt32LittleEndian(capture.AsSpan(at + 8));
                records.Add((at, Math.Min(capture.Length, at + 16 + length)));
                at += 16 + length;
            }

            // Records with messages (not heartbeats) from across the day, and the truncated tail.
            for (int i = 0; i < 256; i++)
            {
                int first = (int)((long)i * (records.Count - 8) / 256);
                seeds.Add([.. capture.AsSpan(0, 24), .. capture.AsSpan(records[first].Start, records[first + 7].End - records[first].Start)]);
                (int s, int e) = records[first + 3];
                if (e - s > 16 + 42 + IexTpHeader.Length)
                {
                    seeds.Add(capture[(s + 16 + 42)..e]);
                }
            }

            seeds.Add([.. capture.AsSpan(0, 24), .. capture.AsSpan(records[^2].Start)]);
        }

        return seeds;
    }

    /// <summary>Windows of 24 rows (message file, a 0 byte, orderbook file) from each LOBSTER sample, and hand-written rows with a halt.</summary>
    public static List<byte[]> Lobster()
    {
        var seeds = new List<byte[]>
        {
            Join(
                "34200.015105074,4,15818974,4,5794000,1\n34200.1,1,11,100,5794100,1\n34200.2,5,0,30,5794500,-1\n36023,7,0,0,-1,-1\n36323,7,0,0,0,-1\n36723,7,0,0,1,-1\n34200.3,3,11,100,5794100,1\n34200.4,2,15818974,6,5794000,1\n",
                "5802300,100,5794000,496\n5802300,100,5794100,100\n5802300,100,5794100,100\n5802300,100,5794100,100\n5802300,100,5794100,100\n5802300,100,5794100,100\n5802300,100,5794000,496\n5802300,100,5794000,490\n"),
        };
        string? shared = Shared;
        if (shared is null)
        {
            return seeds;
        }

        foreach (string zip in Directory.GetFiles(Path.Combine(shared, "data", "lobster-2012-06-21"), "*.zip"))
        {
            LobsterData data = LobsterData.FromZip(zip);
            string[] messages = System.Text.Encoding.ASCII.GetString(data.Messages).Split('\n');
            string[] rows = System.Text.Encoding.ASCII.GetString(data.Orderbook).Split('\n');
            for (int i = 0; i < 64; i++)
            {
                int first = (int)((long)i * (messages.Length - 25) / 64);
                seeds.Add(Join(string.Join('\n', messages[first..(first + 24)]) + "\n", string.Join('\n', rows[first..(first + 24)]) + "\n"));
            }
        }

        return seeds;

        static byte[] Join(string messages, string rows) => [.. System.Text.Encoding.ASCII.GetBytes(messages), 0, .. System.Text.Encoding.ASCII.GetBytes(rows)];
    }
}
