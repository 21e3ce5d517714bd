using System.Security.Cryptography;
using System.Text;
using Engine.Events;
using Engine.Features;
using Engine.Inference;
using Engine.Pipeline;
using Engine.Replay;
using FeedHandlers.Capture;
using FeedHandlers.Itch;
using FeedHandlers.MoldUdp;

namespace FeedHandlers.Tests;

/// <summary>A recording replays through the production pipeline exactly like the stream it recorded.</summary>
[TestFixture]
public sealed class CaptureReplayTests
{
    private static string Spec => Path.Combine(TestData.Samples, "demo.features.json");

    private static string Model => Path.Combine(TestData.Samples, "demo.onnx");

    /// <summary>Writes the bundled sample as an A/B MoldUDP64 recording: every packet on both lines, B a little later.</summary>
    private static string RecordSample()
    {
        byte[] itch = CaptureFile.ReadAll(Path.Combine(TestData.Samples, "sample.itch.gz"));
        List<byte[]> packets = MoldUdp64PacketWriter.Packetize(itch, Mold.Session, 1400, 8);
        string path = Path.Combine(Path.GetTempPath(), $"sample-{Guid.NewGuid():N}.engcap");
        using var writer = new CaptureWriter(File.Create(path), new CaptureHeader { Protocol = CaptureProtocol.MoldUdp64Itch50, Lines = ["A", "B"], Source = "sample" });
        long t = 0;
        foreach (byte[] p in packets)
        {
            writer.Append(0, t += 10_000, p);
            writer.Append(1, t + 3_000, p);
        }

        writer.Complete(new CaptureSummary { EndOfSession = true });
        return path;
    }

    // The README's predictions SHA-256 of the sample: the default (compiled) back-end, and ONNX Runtime.
    private const string CompiledSha = "3acad6c8a61aac20a51218d2fbf44019c78135dfad479d9732c13d1e06d7becf";
    private const string OrtSha = "2dfedc947063078350d60b76686a31f8b3753dd592a501062e37cd59d98a0f42";

    private static (ReplayReport Report, string Sha) Run(ITickSource source, ModelBackend backend = ModelBackend.Auto)
    {
        // Start from a clean heap, as a replay does after loading, so no collection is already due.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var log = new PredictionLog(1 << 17);
        ReplayReport report = ReplayRunner.Run(source, FeatureSpec.Load(Spec), Model, new PredictionLogHandler(log), new ReplayOptions { Model = new ModelOptions { Backend = backend } });
        var csv = new MemoryStream();
        using (var writer = new StreamWriter(csv, new UTF8Encoding(false), 1 << 16, leaveOpen: true))
        {
            log.WriteCsv(writer, i => report.Books.Find(i)?.SymbolText ?? $"#{i}");
        }

        return (report, Convert.ToHexStringLower(SHA256.HashData(csv.ToArray())));
    }

    [Test]
    public void AnABRecordingOfTheSampleGivesTheSamePredictionsAsTheBinaryFileReplay()
    {
        string path = RecordSample();
        try
        {
            ITickSource fromCapture = ReplaySources.Open(path, ReplayPacing.AsFastAsPossible, out _);
            Assert.That(fromCapture, Is.InstanceOf<CaptureReplaySource>(), "told apart by the header");
            (ReplayReport recorded, string recordedSha) = Run(fromCapture);
            ITickSource fromItch = ReplaySources.Open(Path.Combine(TestData.Samples, "sample.itch.gz"), ReplayPacing.AsFastAsPossible, out _);
            Assert.That(fromItch, Is.InstanceOf<ItchReplaySource>());
            (ReplayReport itch, string itchSha) = Run(fromItch);

            Assert.That(recordedSha, Is.EqualTo(itchSha), "bit-identical predictions");
            Assert.That(recordedSha, Is.EqualTo(CompiledSha), "the README's SHA for the default (compiled) back-end");
            Assert.That(recorded.Processor.Inferences, Is.EqualTo(itch.Processor.Inferences));
            Assert.That(recorded.Feed.Processed, Is.EqualTo(itch.Feed.Processed));
            Assert.That(recorded.Feed.RejectedFor(RejectReason.DuplicateSequence), Is.EqualTo(itch.Feed.Read), "every B copy was a duplicate");
            Assert.That(recorded.Feed.Read, Is.EqualTo(recorded.Feed.Processed + recorded.Feed.Rejected));
            Assert.That(recorded.Processor.OfKind(TickKind.SequenceGap), Is.Zero);
            Assert.That(recorded.Counters["engine_duplicates_total{feed=\"moldudp64\"}"], Is.EqualTo(itch.Feed.Read), "exported: every B copy");
            Assert.That(recorded.Counters["engine_gaps_total{feed=\"moldudp64\"}"], Is.Zero);
            Assert.That(recorded.GcCollectionsDuringRun, Is.All.Zero, "no GC while the capture replayed");
            var replay = (CaptureReplaySource)fromCapture;
            Assert.That(replay.Arbiter.Ended, Is.True);
            Assert.That(replay.Arbiter.Lines[0].Won, Is.EqualTo(replay.Arbiter.Lines[1].Duplicate));
            replay.Dispose();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void AnABRecordingReplaysThroughOnnxRuntimeToTheReadmesOrtSha()
    {
        string path = RecordSample();
        try
        {
            using var source = (CaptureReplaySource)ReplaySources.Open(path, ReplayPacing.AsFastAsPossible, out _);
            (ReplayReport report, string sha) = Run(source, ModelBackend.Ort);
            Assert.That(report.Run.Succeeded, Is.True);
            Assert.That(sha, Is.EqualTo(OrtSha), "`engine replay --backend ort` of the recording (the README quotes both SHAs)");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void GapTicksReachTheStageWhichCountsThem()
    {
        byte[] itch = CaptureFile.ReadAll(Path.Combine(TestData.Samples, "sample.itch.gz"));
        List<byte[]> packets = MoldUdp64PacketWriter.Packetize(itch, Mold.Session, 1400, 8);
        var bytes = new MemoryStream();
        using (var writer = new CaptureWriter(bytes, new CaptureHeader { Protocol = CaptureProtocol.MoldUdp64Itch50, Lines = ["A"] }))
        {
            for (int i = 0; i < packets.Count; i++)
            {
                if (i % 1000 != 500)
                {
                    writer.Append(0, i, packets[i]);
                }
            }

            writer.Complete();
            bytes = new MemoryStream(bytes.ToArray());
        }

        using var source = new CaptureReplaySource(new CaptureReader(bytes), ReplayPacing.AsFastAsPossible);
        (ReplayReport report, _) = Run(source);
        int lost = Enumerable.Range(0, packets.Count).Count(i => i % 1000 == 500);
        Assert.That(source.Arbiter.Gaps, Is.EqualTo(lost));
        Assert.That(report.Processor.OfKind(TickKind.SequenceGap), Is.EqualTo(lost));
        Assert.That(report.Counters["engine_gaps_total{feed=\"moldudp64\"}"], Is.EqualTo(lost), "exported with the metrics");
        Assert.That(report.Counters["engine_missed_messages_total{feed=\"moldudp64\"}"], Is.EqualTo(source.Arbiter.MissedMessages));
        Assert.That(report.Counters["engine_fallbacks_total{reason=\"compiled_unsupported\"}"], Is.Zero);
        Assert.That(report.Processor.MissedMessages, Is.EqualTo(source.Arbiter.MissedMessages));
        Assert.That(report.Processor.Ticks, Is.EqualTo(report.Feed.Published));
        Assert.That(report.Run.Succeeded, Is.True);
    }
}
