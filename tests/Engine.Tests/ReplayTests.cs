using System.IO.Compression;
using System.Security.Cryptography;
using Engine.Book;
using Engine.Cli;
using Engine.Cli.Sample;
using Engine.Cli.Training;
using Engine.Events;
using Engine.Features;
using Engine.Inference;
using Engine.Native;
using Engine.Pipeline;
using Engine.Replay;
using Engine.Telemetry;
using FeedHandlers.Capture;
using FeedHandlers.Itch;

namespace Engine.Tests;

[TestFixture]
public sealed class ReplayTests
{
    private static string Capture => Path.Combine(TestData.Samples, "sample.itch.gz");

    private static string Spec => Path.Combine(TestData.Samples, "demo.features.json");

    [Test]
    public void ReadmeReplayRunTwiceGivesByteIdenticalPredictions()
    {
        string first = Path.Combine(Path.GetTempPath(), $"replay-a-{Guid.NewGuid():N}");
        string second = Path.Combine(Path.GetTempPath(), $"replay-b-{Guid.NewGuid():N}");
        try
        {
            Assert.That(Commands.Replay(Arguments(first)), Is.Zero);
            Assert.That(Commands.Replay(Arguments(second)), Is.Zero);
            byte[] a = File.ReadAllBytes(Path.Combine(first, "predictions.csv"));
            byte[] b = File.ReadAllBytes(Path.Combine(second, "predictions.csv"));
            Assert.That(a.Length, Is.GreaterThan(1_000_000), "a real run writes tens of thousands of predictions");
            Assert.That(b, Is.EqualTo(a), "predictions differ between two runs");
            Assert.That(new FileInfo(Path.Combine(first, "latency.hlog")).Length, Is.GreaterThan(0));
        }
        finally
        {
            Directory.Delete(first, recursive: true);
            Directory.Delete(second, recursive: true);
        }
    }

    [TestCase("iex-deep-1.0-sample", "DEEP10.pcap.gz", "IEX capture", null)]
    [TestCase("lobster-2012-06-21", "LOBSTER_SampleFile_GOOG_2012-06-21_10.zip", "LOBSTER", "GOOG")]
    public void ReplayTakesRealIexAndLobsterInputsThroughTheSamePath(string folder, string file, string described, string? symbol)
    {
        string capture = TestData.SharedFile("data", folder, file);
        string output = Path.Combine(Path.GetTempPath(), $"replay-{folder}-{Guid.NewGuid():N}");
        try
        {
            Assert.That(Commands.Replay(new(capture, Spec, null, output, 0, 1 << 16, WaitStrategyKind.BusySpin, null, null)), Is.Zero);
            string[] lines = File.ReadAllLines(Path.Combine(output, "predictions.csv"));
            Assert.That(lines.Length, Is.GreaterThan(1_000), $"{described}: the demo model scores the real book");
            if (symbol is not null)
            {
                Assert.That(lines[1].Split(',')[2], Is.EqualTo(symbol), "the instrument carries the ticker");
            }
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Test]
    public void PipelineAccountsForEveryMessage()
    {
        byte[] capture = CaptureFile.ReadAll(Capture);
        var source = new ItchReplaySource(capture, ReplayPacing.AsFastAsPossible);
        var log = new PredictionLog(1 << 18);
        ReplayReport report = ReplayRunner.Run(source, FeatureSpec.Load(Spec), Path.Combine(TestData.Samples, "demo.onnx"), new PredictionLogHandler(log));

        Assert.That(report.Run.Succeeded, Is.True);
        Assert.That(report.Feed.Read, Is.EqualTo(report.Feed.Processed + report.Feed.Rejected));
        Assert.That(report.Feed.Rejected, Is.Zero, "the bundled capture is clean");
        Assert.That(report.Processor.Ticks, Is.EqualTo(report.Feed.Published), "every published tick processed (drain-and-stop)");
        Assert.That(report.Processor.Inferences, Is.EqualTo(log.Count));
        Assert.That(report.Processor.Inferences, Is.EqualTo(report.Processor.Triggers));
        Assert.That(report.Books.TotalAnomalies, Is.Zero, "the generator's order flow is self-consistent");
        Assert.That(report.TickToSignal.Count, Is.EqualTo(report.Processor.Inferences));
        Assert.That(report.Latency.Single(l => l.Name == "ring").Count, Is.EqualTo(report.Processor.Ticks));
        Assert.That(report.GcCollectionsDuringRun, Is.All.Zero, "no GC while the pipeline ran");
    }

    [Test]
    public void WrongModelStopsStartUpWithAMessageNamingBothSides()
    {
        string spec = Path.Combine(Path.GetTempPath(), $"spec-{Guid.NewGuid():N}.json");
        File.WriteAllText(spec, """{ "input": "features", "features": [ { "name": "spread_bps" }, { "name": "l1_imbalance" } ] }""");
        try
        {
            var source = new ItchReplaySource(Array.Empty<byte>(), ReplayPacing.AsFastAsPossible);
            Assert.That(() => ReplayRunner.Run(source, FeatureSpec.Load(spec), Path.Combine(TestData.Samples, "demo.onnx"), new PredictionLogHandler(new PredictionLog())),
                Throws.TypeOf<ModelLoadException>().With.Message.Contains(spec).And.Message.Contains("2 features").And.Message.Contains("[1, 9]"));
        }
        finally
        {
            File.Delete(spec);
        }
    }

    [TestCase(ModelBackend.Ort)]
    [TestCase(ModelBackend.Compiled)]
    public void FeatureAndInferenceAndSignalPathAllocatesNothingOverAMillionEvents(ModelBackend backend)
    {
        Tick[] ticks = ItchTicks.Decode(ItchSampleGenerator.Generate(new SampleOptions { OrderEvents = 1_150_000 }));
        const int WarmUp = 100_000;
        Assert.That(ticks.Length - WarmUp, Is.GreaterThanOrEqualTo(1_000_000));

        FeatureSpec spec = FeatureSpec.Load(Spec);
        using InferenceModel model = Engine.Inference.Compiled.ModelLoader.Load(Path.Combine(TestData.Samples, "demo.onnx"), new ModelOptions { Backend = backend }).Model;
        using var features = new FeatureEngine(spec);
        using var telemetry = new LatencyTelemetry();
        var books = new MarketBooks(expectedLiveOrders: 1 << 16, initialLevels: 4096);
        var log = new PredictionLog(ticks.Length);
        var processor = new TickProcessor<PredictionLogHandler>(books, features, FeatureModelBinding.Create(spec, model), telemetry, new PredictionLogHandler(log));

        for (int i = 0; i < WarmUp; i++)
        {
            ticks[i].ReceiveTimestampNs = MonotonicClock.NowNs();
            processor.Process(ref ticks[i]);
        }

        long inferencesBefore = processor.Counters.Inferences;
        int gen0 = GC.CollectionCount(0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = WarmUp; i < ticks.Length; i++)
        {
            ticks[i].ReceiveTimestampNs = MonotonicClock.NowNs();
            processor.Process(ref ticks[i]);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        int collections = GC.CollectionCount(0) - gen0;
        long inferences = processor.Counters.Inferences - inferencesBefore;
        Assert.That(inferences, Is.GreaterThan(200_000), "the measured window runs the model, not just the book");
        Assert.That(allocated, Is.Zero, $"bytes allocated over {ticks.Length - WarmUp:N0} events and {inferences:N0} inferences");
        Assert.That(collections, Is.Zero, "GC collections during the measured window");
        Assert.That(books.TotalAnomalies, Is.Zero);
    }

    [Test]
    public void GeneratorReproducesTheBundledCaptureBitForBit()
    {
        byte[] generated = ItchSampleGenerator.Generate();
        byte[] bundled = CaptureFile.ReadAll(Capture);
        Assert.That(SHA256.HashData(generated), Is.EqualTo(SHA256.HashData(bundled)), "regenerate with `engine sample generate`");
    }

    [Test]
    public void GeneratedCaptureHasRealisticOrderFlow()
    {
        var s = new ItchReplaySource(CaptureFile.ReadAll(Capture), ReplayPacing.AsFastAsPossible);
        using var ring = new RingBuffer<Tick>(1 << 20);
        var publisher = new TickPublisher(ring, new SingleProducerSequencer(ring.Capacity));
        s.Run(publisher, CancellationToken.None);
        FeedCounters c = s.Counters;
        Assert.That(c.Read, Is.InRange(200_000, 400_000), "a few hundred thousand messages");
        foreach (char type in "AFEXDUPCQBRSH")
        {
            Assert.That(c.ProcessedOfType((byte)type), Is.GreaterThan(0), $"type '{type}' present");
        }

        Assert.That(c.ProcessedOfType((byte)'R'), Is.EqualTo(5), "a handful of instruments");
    }

    [Test]
    public void DemoModelIsReproducibleFromTheBundledCapture()
    {
        FeatureSpec spec = FeatureSpec.Load(Spec);
        List<FeatureRow> rows = OfflineFeatures.Extract(CaptureFile.ReadAll(Capture), spec, out _);
        TrainingResult fit = DemoModelTrainer.Fit(rows, spec.Count);
        (float[] weights, float bias) = DemoModelTrainer.ReadWeights(File.ReadAllBytes(Path.Combine(TestData.Samples, "demo.onnx")));
        Assert.That(fit.Weights, Is.EqualTo(weights).Within(1e-6).Percent, "retrain with `engine model train-demo`");
        Assert.That(fit.Bias, Is.EqualTo(bias).Within(1e-6).Percent);
        Assert.That(fit.InSampleR2, Is.GreaterThan(0.01), "the demo model explains something");
    }

    private static Commands.ReplayArguments Arguments(string output) =>
        new(Capture, Spec, null, output, 100_000, 1 << 16, WaitStrategyKind.BusySpin, null, null);
}
