using System.Net;
using System.Net.Sockets;
using System.Text;
using Engine.Cli;
using Engine.Events;
using Engine.Features;
using Engine.Pipeline;
using Engine.Replay;
using FeedHandlers.Capture;
using FeedHandlers.Itch;
using Spectre.Console;

namespace FeedHandlers.Tests;

/// <summary>
/// `engine record` itself, in-process: it records an A/B loopback session sent by `engine send`, stops
/// at the end of the session, and the file it wrote replays to the messages and instruments that were sent.
/// </summary>
[TestFixture]
public sealed class RecordCommandTests
{
    private const int Frames = 3_000;

    [Test]
    public void RecordWritesAnABSessionThatReplaysToTheMessagesAndInstrumentsSent()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"record-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        string itchPath = Path.Combine(dir, "first.itch");
        string capturePath = Path.Combine(dir, "feed.engcap");
        (byte[] itch, SortedDictionary<int, string> instruments) = FirstFrames(Frames);
        File.WriteAllBytes(itchPath, itch);
        (int portA, int portB) = FreePorts();
        string lineA = $"127.0.0.1:{portA}", lineB = $"127.0.0.1:{portB}";

        using var console = new SpectreCapture();
        try
        {
            // Bounded: the end-of-session packet stops it; --idle-stop and --duration only guard a lost one.
            Task<int> record = Task.Factory.StartNew(
                () => Commands.Build().Parse(["record", "--line", lineA, "--line", lineB, "-o", capturePath, "--idle-stop", "5", "--duration", "60"]).Invoke(),
                TaskCreationOptions.LongRunning);
            WaitUntilBound(portB, record);
            int sent = Commands.Build().Parse(["send", "--capture", itchPath, "--to", lineA, "--to", lineB, "--rate", "5000", "--max-messages", "8"]).Invoke();
            Assert.That(sent, Is.Zero, console.Text);
            Assert.That(record.Wait(TimeSpan.FromMinutes(2)), Is.True, "record stops at the end of the session");
            Assert.That(record.Result, Is.Zero, console.Text);
            Assert.That(console.Text, Does.Contain("stopped: end of session"));

            using (var reader = CaptureReader.Open(capturePath))
            {
                Assert.That(reader.Header.Protocol, Is.EqualTo(CaptureProtocol.MoldUdp64Itch50));
                Assert.That(reader.Header.Lines, Is.EqualTo(new[] { lineA, lineB }));
                while (reader.Next(out _) != CaptureReadStatus.End)
                {
                }

                CaptureSummary summary = reader.Summary!;
                Assert.That(summary, Is.Not.Null, "closed cleanly");
                Assert.That(reader.CorruptChunks, Is.Zero);
                Assert.That((summary.EndOfSession, summary.NextSequence, summary.Gaps), Is.EqualTo((true, Frames + 1L, 0L)));
                Assert.That(summary.Instruments.Select(i => (i.Id, i.Symbol)), Is.EqualTo(instruments.Select(d => (d.Key, d.Value))), "instruments from the stock directory messages sent");
            }

            // The recording and the BinaryFILE it was sent from replay to the same messages and predictions.
            using var replay = (CaptureReplaySource)ReplaySources.Open(capturePath, ReplayPacing.AsFastAsPossible, out _);
            (ReplayReport recorded, string recordedCsv) = Run(replay);
            (ReplayReport original, string originalCsv) = Run(new ItchReplaySource(itch, ReplayPacing.AsFastAsPossible));
            Assert.Multiple(() =>
            {
                Assert.That(recorded.Feed.Processed, Is.EqualTo(Frames));
                Assert.That(recorded.Feed.Processed, Is.EqualTo(original.Feed.Processed));
                Assert.That(recorded.Feed.ProcessedByType(), Is.EqualTo(original.Feed.ProcessedByType()));
                Assert.That(recorded.Feed.Read, Is.EqualTo(recorded.Feed.Processed + recorded.Feed.Rejected));
                Assert.That(replay.Arbiter.Gaps, Is.Zero);
                Assert.That(replay.Arbiter.Lines[0].Won + replay.Arbiter.Lines[1].Won, Is.EqualTo(replay.Arbiter.Lines[0].Received - 1), "every data packet won once (the end of session wins nothing)");
                Assert.That(recordedCsv, Is.EqualTo(originalCsv), "same predictions");
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The first <paramref name="count"/> frames of the bundled sample, and the instruments their stock directory messages define.</summary>
    private static (byte[] Itch, SortedDictionary<int, string> Instruments) FirstFrames(int count)
    {
        byte[] sample = CaptureFile.ReadAll(Path.Combine(TestData.Samples, "sample.itch.gz"));
        var frames = new BinaryFileFrameReader(sample);
        var instruments = new SortedDictionary<int, string>();
        for (int i = 0; i < count; i++)
        {
            Assert.That(frames.Next(out ReadOnlySpan<byte> message), Is.EqualTo(FrameStatus.Message));
            if (message[0] == (byte)'R')
            {
                instruments[(message[1] << 8) | message[2]] = Encoding.ASCII.GetString(message.Slice(11, 8)).TrimEnd();
            }
        }

        Assert.That(instruments, Is.Not.Empty, "the sample defines its instruments first");
        return (sample[..frames.Position], instruments);
    }

    private static (ReplayReport Report, string Csv) Run(ITickSource source)
    {
        var log = new PredictionLog(1 << 14);
        ReplayReport report = ReplayRunner.Run(source, FeatureSpec.Load(Path.Combine(TestData.Samples, "demo.features.json")), Path.Combine(TestData.Samples, "demo.onnx"), new PredictionLogHandler(log));
        var csv = new StringWriter();
        log.WriteCsv(csv, i => report.Books.Find(i)?.SymbolText ?? $"#{i}");
        return (report, csv.ToString());
    }

    private static (int A, int B) FreePorts()
    {
        using var a = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var b = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        a.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        b.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (((IPEndPoint)a.LocalEndPoint!).Port, ((IPEndPoint)b.LocalEndPoint!).Port);
    }

    // The recorder binds its lines before it polls; the last line's port showing up in the kernel's UDP
    // table says it is listening (read, not probed by binding, which could take the port from it).
    private static void WaitUntilBound(int port, Task<int> record)
    {
        const string table = "/proc/net/udp";
        if (!File.Exists(table))
        {
            Thread.Sleep(1_000);
            return;
        }

        string local = $"0100007F:{port:X4}";
        for (int i = 0; i < 3_000; i++)
        {
            if (record.IsCompleted)
            {
                Assert.Fail($"record ended before it listened (exit {record.Result}): {AnsiConsole.Console.Profile.Out.Writer}");
            }

            if (File.ReadLines(table).Any(l => l.Contains(local, StringComparison.Ordinal)))
            {
                return;
            }

            Thread.Sleep(10);
        }

        Assert.Fail("record never bound its lines");
    }
}
