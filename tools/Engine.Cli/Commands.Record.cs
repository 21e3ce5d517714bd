using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Engine.Events;
using Engine.Native;
using Engine.Pipeline;
using FeedHandlers.Capture;
using FeedHandlers.Itch;
using FeedHandlers.MoldUdp;
using FeedHandlers.Transport;
using Spectre.Console;

namespace Engine.Cli;

/// <summary><c>engine record</c> (live MoldUDP64 lines → engine capture) and <c>engine send</c> (an ITCH capture → MoldUDP64 datagrams, for trying the former).</summary>
internal static partial class Commands
{
    private static void FeedCommands(RootCommand root)
    {
        root.Subcommands.Add(RecordCommand());
        root.Subcommands.Add(SendCommand());
    }

    private static Command RecordCommand()
    {
        var lines = new Option<string[]>("--line") { Description = "A line to receive: ADDRESS:PORT (unicast) or GROUP:PORT@INTERFACE (multicast). Give it twice for A/B.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Capture file to write.", DefaultValueFactory = _ => Path.Combine("out", "feed.engcap") };
        var duration = new Option<double>("--duration") { Description = "Stop after this many seconds (0: at the end of the session or Ctrl+C).", DefaultValueFactory = _ => 0 };
        var idleStop = new Option<double>("--idle-stop") { Description = "Stop after this many seconds without a datagram (0: never).", DefaultValueFactory = _ => 0 };
        var gapTimeout = new Option<double>("--gap-timeout-us") { Description = "How long a hole may wait for the other line before it is reported as a gap, µs.", DefaultValueFactory = _ => 1000 };
        var firstSequence = new Option<long>("--first-sequence") { Description = "Sequence number the session starts at (0: the first packet received).", DefaultValueFactory = _ => 1 };
        var command = new Command("record", "Receive MoldUDP64 (ITCH 5.0) on one or two lines and write every datagram, with its line and receive timestamp, to an engine capture that `engine replay --capture` replays through the live path.")
        {
            lines, output, duration, idleStop, gapTimeout, firstSequence,
        };
        command.SetAction((r, cancellationToken) => Task.FromResult(Record(
            r.GetValue(lines)!, r.GetValue(output)!, r.GetValue(duration), r.GetValue(idleStop), r.GetValue(gapTimeout), r.GetValue(firstSequence), cancellationToken)));
        return command;
    }

    private static int Record(string[] lineTexts, string output, double duration, double idleStop, double gapTimeoutUs, long firstSequence, CancellationToken cancellationToken)
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        UdpEndpoint[] endpoints;
        try
        {
            endpoints = [.. lineTexts.Select(UdpEndpoint.Parse)];
            if (endpoints.Length is < 1 or > 8)
            {
                throw new FormatException($"give 1 to 8 --line options, not {endpoints.Length}");
            }
        }
        catch (FormatException ex)
        {
            return Fail(ex.Message);
        }

        var arbiterOptions = new MoldUdp64ArbiterOptions
        {
            Lines = endpoints.Length,
            GapTimeoutNs = (long)(gapTimeoutUs * 1000),
            FirstSequence = firstSequence > 0 ? firstSequence : null,
        };
        var udp = new List<UdpLine>();
        try
        {
            foreach (UdpEndpoint e in endpoints)
            {
                udp.Add(new UdpLine(e, arbiterOptions.MaxPacketBytes));
            }
        }
        catch (SocketException ex)
        {
            udp.ForEach(l => l.Dispose());
            return Fail(ex.Message);
        }

        FileStream file;
        try
        {
            CreateParentDirectory(output);
            file = File.Create(output);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            udp.ForEach(l => l.Dispose());
            AnsiConsole.MarkupLine("[red]error:[/] cannot write {0}: {1}", Markup.Escape(output), Markup.Escape(ex.Message));
            return 2;
        }

        var header = new CaptureHeader
        {
            Protocol = CaptureProtocol.MoldUdp64Itch50,
            Source = "engine record " + string.Join(' ', lineTexts.Select(l => "--line " + l)),
            Lines = [.. endpoints.Select(e => e.ToString())],
            StartedUnixNs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100,
            StartedMonotonicNs = MonotonicClock.NowNs(),
            Writer = "engine record",
        };
        var directory = new SortedDictionary<int, string>();
        using var journal = new CaptureWriter(file, header);
        var arbiter = new MoldUdp64Arbiter<DirectorySink>(arbiterOptions, new DirectorySink(directory), new FeedCounters());
        using var feed = new MoldUdp64Feed<DirectorySink>(udp, arbiter, journal);
        AnsiConsole.MarkupLine(ic, "recording {0} → {1} (Ctrl+C stops)", Markup.Escape(string.Join(" + ", endpoints.Select(e => e.ToString()))), Markup.Escape(Path.GetFullPath(output)));

        // Ctrl+C (and SIGTERM) end the recording cleanly: the last chunk and the summary are written.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, StopRecording);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, StopRecording);
        long start = MonotonicClock.NowNs();
        long lastData = start;
        long durationNs = duration > 0 ? (long)(duration * 1e9) : long.MaxValue;
        long idleNs = idleStop > 0 ? (long)(idleStop * 1e9) : long.MaxValue;
        long lastFlush = start;
        var spinner = default(SpinWait);
        string stopped = "end of session";
        while (!arbiter.Ended)
        {
            long now = MonotonicClock.NowNs();
            if (feed.Poll() > 0)
            {
                lastData = now;
                spinner.Reset();
                continue;
            }

            if (stop.IsCancellationRequested)
            {
                stopped = "cancelled";
                break;
            }

            if (now - start > durationNs)
            {
                stopped = "duration reached";
                break;
            }

            if (now - lastData > idleNs)
            {
                stopped = "idle";
                break;
            }

            if (now - lastFlush > 1_000_000_000)
            {
                // A quiet line still reaches the disk within a second or so.
                journal.Flush();
                lastFlush = now;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        arbiter.FlushHoles(MonotonicClock.NowNs());
        double seconds = (MonotonicClock.NowNs() - start) / 1e9;
        journal.Complete(new CaptureSummary
        {
            Session = arbiter.Session.ToString(),
            NextSequence = arbiter.NextSequence,
            Gaps = arbiter.Gaps,
            MissedMessages = arbiter.MissedMessages,
            EndOfSession = arbiter.Ended,
            Instruments = [.. directory.Select(d => new CaptureInstrument(d.Key, d.Value))],
        });

        var table = new Table().Title("lines").AddColumn("line").AddColumn("endpoint");
        foreach (string h in new[] { "received", "won", "duplicate", "late", "gap (own)", "heartbeats", "malformed" })
        {
            table.AddColumn(new TableColumn(h).RightAligned());
        }

        for (int i = 0; i < udp.Count; i++)
        {
            LineCounters l = arbiter.Lines[i];
            table.AddRow(l.Name.ToString(), Markup.Escape(endpoints[i].ToString()), N(l.Received), N(l.Won), N(l.Duplicate), N(l.Late), N(l.Gap), N(l.Heartbeats), N(l.Malformed));
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(ic, "stopped: {0} after {1:F1} s; session '{2}', messages delivered {3:N0} (next sequence {4:N0}); gaps no line filled {5:N0} ({6:N0} messages); duplicates {7:N0}, late {8:N0}; instruments defined {9:N0}",
            stopped, seconds, Markup.Escape(arbiter.Session.ToString()), arbiter.DeliveredMessages, arbiter.NextSequence, arbiter.Gaps, arbiter.MissedMessages, arbiter.DuplicateMessages, arbiter.LateMessages, directory.Count);
        AnsiConsole.MarkupLine(ic, "wrote [bold]{0}[/]: {1:N0} datagrams in {2:N0} chunks, {3:N0} bytes; records dropped {4:N0}", Markup.Escape(output), journal.Records, journal.Chunks, new FileInfo(output).Length, journal.DroppedRecords);
        return 0;

        static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

        void StopRecording(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    private static Command SendCommand()
    {
        var capture = new Option<string>("--capture") { Description = "ITCH 5.0 BinaryFILE capture to send (.gz accepted).", DefaultValueFactory = _ => DefaultCapture };
        var to = new Option<string[]>("--to") { Description = "A line to send to: ADDRESS:PORT or GROUP:PORT@INTERFACE. Give it twice for A/B (every packet goes to each).", Required = true };
        var rate = new Option<double>("--rate") { Description = "Packets per second (0: as fast as possible).", DefaultValueFactory = _ => 20_000 };
        var maxMessages = new Option<int>("--max-messages") { Description = "Messages per packet at most.", DefaultValueFactory = _ => 8 };
        var session = new Option<string>("--session") { Description = "MoldUDP64 session name (10 characters at most).", DefaultValueFactory = _ => "ENGINE0001" };
        var drop = new Option<double[]>("--drop") { Description = "Per line, the fraction of packets not sent (to try gap detection and A/B arbitration), e.g. --drop 0.01 --drop 0.02.", DefaultValueFactory = _ => [] };
        var seed = new Option<int>("--seed") { Description = "Seed of the drop choices.", DefaultValueFactory = _ => 1 };
        var command = new Command("send", "Send an ITCH 5.0 capture as MoldUDP64 datagrams, paced, to one or more lines, then end the session: a source for `engine record` and live feeds.")
        {
            capture, to, rate, maxMessages, session, drop, seed,
        };
        command.SetAction(r => Send(r.GetValue(capture)!, r.GetValue(to)!, r.GetValue(rate), r.GetValue(maxMessages), r.GetValue(session)!, r.GetValue(drop)!, r.GetValue(seed)));
        return command;
    }

    private static int Send(string capturePath, string[] targets, double rate, int maxMessages, string sessionName, double[] drop, int seed)
    {
        CultureInfo ic = CultureInfo.InvariantCulture;
        List<byte[]> packets;
        UdpEndpoint[] endpoints;
        try
        {
            endpoints = [.. targets.Select(UdpEndpoint.Parse)];
            packets = MoldUdp64PacketWriter.Packetize(CaptureFile.ReadAll(capturePath), MoldUdp64Session.FromText(sessionName), 1400, Math.Max(1, maxMessages));
        }
        catch (Exception ex) when (ex is FormatException or FileNotFoundException or ArgumentException)
        {
            return Fail(ex.Message);
        }

        var sockets = new Socket[endpoints.Length];
        long[] sent = new long[endpoints.Length];
        long[] dropped = new long[endpoints.Length];
        long lostOnAll = 0;
        var random = new Random(seed);
        try
        {
            for (int i = 0; i < endpoints.Length; i++)
            {
                sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                if (endpoints[i].IsMulticast)
                {
                    sockets[i].SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, (endpoints[i].Interface ?? IPAddress.Any).GetAddressBytes());
                    sockets[i].SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastLoopback, true);
                    sockets[i].SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 1);
                }

                sockets[i].Connect(new IPEndPoint(endpoints[i].Address, endpoints[i].Port));
            }

            double intervalNs = rate > 0 ? 1e9 / rate : 0;
            long start = MonotonicClock.NowNs();
            for (int p = 0; p < packets.Count; p++)
            {
                if (intervalNs > 0)
                {
                    MonotonicClock.SpinUntil(start + (long)(p * intervalNs));
                }

                bool last = p == packets.Count - 1;
                int delivered = 0;
                for (int i = 0; i < sockets.Length; i++)
                {
                    // The end of session always goes out, so receivers stop.
                    if (!last && i < drop.Length && random.NextDouble() < drop[i])
                    {
                        dropped[i]++;
                        continue;
                    }

                    sockets[i].Send(packets[p]);
                    sent[i]++;
                    delivered++;
                }

                lostOnAll += delivered == 0 ? 1 : 0;
            }

            double seconds = (MonotonicClock.NowNs() - start) / 1e9;
            for (int i = 0; i < endpoints.Length; i++)
            {
                AnsiConsole.MarkupLine(ic, "line {0} → {1}: sent {2:N0} datagrams, dropped on purpose {3:N0}", (char)('A' + i), Markup.Escape(endpoints[i].ToString()), sent[i], dropped[i]);
            }

            AnsiConsole.MarkupLine(ic, "{0:N0} packets ({1:N0} with messages, session '{2}') in {3:F2} s; dropped on every line: {4:N0}", packets.Count, packets.Count - 1, Markup.Escape(sessionName), seconds, lostOnAll);
            return 0;
        }
        catch (SocketException ex)
        {
            return Fail(ex.Message);
        }
        finally
        {
            foreach (Socket? s in sockets)
            {
                s?.Dispose();
            }
        }
    }

    /// <summary>Learns instruments from ITCH stock directory messages while recording (cold: allocates one string per instrument).</summary>
    private readonly struct DirectorySink(SortedDictionary<int, string> directory) : IMoldUdp64Sink
    {
        public bool OnMessage(ReadOnlySpan<byte> message, long sequence, long stampNs)
        {
            if (message.Length == StockDirectoryMessage.Length && message[0] == (byte)ItchMessageType.StockDirectory)
            {
                var stock = new StockDirectoryMessage(message);
                directory[stock.Header.StockLocate] = Events.Symbol.Unpack(stock.Stock);
            }

            return true;
        }

        public bool OnGap(long firstMissing, long count, long stampNs) => true;
    }
}
