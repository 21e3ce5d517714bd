using Engine.Book;
using Engine.Cli.Training;
using Engine.Events;
using Engine.Features;
using Engine.Inference;
using Engine.Native;
using Engine.Pipeline;
using Engine.Replay;
using Engine.Signals;
using Engine.Telemetry;
using FeedHandlers.Capture;
using FeedHandlers.Itch;

namespace Engine.Tests;

/// <summary>
/// Windowed, recurrent and micro-batched models in the stage: fed by the feature engine from the bundled
/// capture through <see cref="TickProcessor{TSignal}"/>, checked against the same models run by hand on
/// the rows the offline feature extractor (the same feature code) produces.
/// </summary>
[TestFixture]
public sealed class StageInferenceTests
{
    private const string EightFeatures = """
        [ { "name": "spread_bps" }, { "name": "mid_return_bps", "horizon_ms": 1000 }, { "name": "l1_imbalance" },
          { "name": "microprice_offset_bps" }, { "name": "trade_sign_imbalance", "half_life_ms": 1000 },
          { "name": "mid_ema_offset_bps", "half_life_ms": 5000 }, { "name": "mid_return_bps", "horizon_ms": 100 },
          { "name": "mid_ema_offset_bps", "half_life_ms": 500 } ]
        """;

    private static readonly Lazy<byte[]> s_capture = new(() => CaptureFile.ReadAll(Path.Combine(TestData.Samples, "sample.itch.gz")));

    [Test]
    public void WindowedModelScoresTheLastWRowsOfEachInstrument()
    {
        FeatureSpec spec = Spec("window");
        using OnnxModel model = OnnxModel.Load(TestData.SharedFile("models", "gru_32x8.onnx"));
        using OnnxModel reference = OnnxModel.Load(model.Path);
        (Recorded got, ProcessorCounters counters, FeatureModelBinding binding) = RunStage(spec, model);
        using (binding)
        {
            Assert.That(binding.Kind, Is.EqualTo(FeatureModelKind.Window));
            Assert.That(binding.WindowLength, Is.EqualTo(32));
        }

        List<FeatureRow> rows = OfflineFeatures.Extract(s_capture.Value, spec, out _);
        Assert.That(counters.Triggers, Is.EqualTo(rows.Count));
        Assert.That(counters.Inferences + counters.SkippedWindowFilling, Is.EqualTo(counters.Triggers), "every trigger scored or counted as filling");
        int instruments = rows.Select(r => r.Instrument).Distinct().Count();
        Assert.That(counters.SkippedWindowFilling, Is.EqualTo(31 * instruments), "each instrument's first 31 rows fill its window");

        // Expected: the model run on a copy of the instrument's last 32 rows.
        var history = new Dictionary<int, List<float[]>>();
        ModelTensor input = reference.Input("window");
        int compared = 0;
        foreach (FeatureRow row in rows)
        {
            List<float[]> h = history.TryGetValue(row.Instrument, out List<float[]>? list) ? list : history[row.Instrument] = [];
            h.Add(row.Features);
            if (h.Count < 32)
            {
                continue;
            }

            for (int t = 0; t < 32; t++)
            {
                h[h.Count - 32 + t].CopyTo(input.Span.Slice(t * 8, 8));
            }

            reference.Run();
            Assert.That(got.Sequence[compared], Is.EqualTo(row.Sequence));
            Assert.That(got.Prediction[compared], Is.EqualTo(reference.Outputs[0].Span[0]), $"signal {compared}, instrument {row.Instrument}");
            compared++;
        }

        Assert.That(compared, Is.EqualTo(got.Count).And.GreaterThan(10_000));
    }

    [Test]
    public void RecurrentModelStepsEachInstrumentsStateOncePerTrigger()
    {
        FeatureSpec spec = Spec("x");
        using OnnxModel model = OnnxModel.Load(TestData.SharedFile("models", "gru_step_8x32.onnx"));
        using OnnxModel reference = OnnxModel.Load(model.Path);
        (Recorded got, ProcessorCounters counters, FeatureModelBinding binding) = RunStage(spec, model);
        binding.Dispose();
        Assert.That(binding.Kind, Is.EqualTo(FeatureModelKind.Recurrent));
        Assert.That(binding.Output.Name, Is.EqualTo("score"), "the prediction is the first output that is not state");
        Assert.That(counters.Inferences, Is.EqualTo(counters.Triggers));

        // Expected: the step model run by hand, h carried per instrument.
        var state = new Dictionary<int, float[]>();
        List<FeatureRow> rows = OfflineFeatures.Extract(s_capture.Value, spec, out _);
        Assert.That(got.Count, Is.EqualTo(rows.Count));
        for (int i = 0; i < rows.Count; i++)
        {
            float[] h = state.TryGetValue(rows[i].Instrument, out float[]? s) ? s : state[rows[i].Instrument] = new float[32];
            rows[i].Features.CopyTo(reference.Input("x").Span);
            h.CopyTo(reference.Input("h_in").Span);
            reference.Run();
            reference.Output("h_out").Span.CopyTo(h);
            Assert.That(got.Prediction[i], Is.EqualTo(reference.Output("score").Span[0]), $"signal {i}, instrument {rows[i].Instrument}");
        }
    }

    [Test]
    public void MicroBatchDeliversEverySignalWithTheSinglePredictionAndFewerRuns()
    {
        FeatureSpec spec = ThirtyTwoFeatures();
        string path = TestData.SharedFile("models", "mlp_32.onnx");
        using OnnxModel single = OnnxModel.Load(path);
        using OnnxModel batched = OnnxModel.Load(path, new ModelOptions { BatchSize = 8 });
        (Recorded one, ProcessorCounters oneCounters, FeatureModelBinding b1) = RunStage(spec, single);
        (Recorded many, ProcessorCounters manyCounters, FeatureModelBinding b2) = RunStage(spec, batched, new FeatureModelBindingOptions { MicroBatchDeadline = TimeSpan.FromSeconds(1), MicroBatchSize = 8 }, batchEvery: 64);
        b1.Dispose();
        b2.Dispose();

        Assert.That(manyCounters.Inferences, Is.EqualTo(manyCounters.Triggers), "every trigger delivered");
        Assert.That(manyCounters.ModelRuns, Is.LessThan(manyCounters.Inferences / 2), "rows shared runs");
        Assert.That(many.Count, Is.EqualTo(one.Count));
        Assert.That(many.Sequence.AsSpan(0, many.Count).ToArray(), Is.EqualTo(one.Sequence.AsSpan(0, one.Count).ToArray()), "signals in trigger order");
        Assert.That(many.Prediction.AsSpan(0, many.Count).ToArray(), Is.EqualTo(one.Prediction.AsSpan(0, one.Count).ToArray()).Within(1e-5f));
        Assert.That(oneCounters.ModelRuns, Is.EqualTo(oneCounters.Inferences));
    }

    [Test]
    public void WindowedRecurrentAndBatchedStagesAllocateNothingPerEvent()
    {
        Tick[] ticks = ItchTicks.Decode(s_capture.Value);
        foreach ((string modelName, string input, int batch) in new[] { ("gru_32x8", "window", 1), ("lstm_step_8x32", "x", 1), ("linear_32", "features", 4) })
        {
            FeatureSpec spec = input == "features" ? ThirtyTwoFeatures() : Spec(input);
            using OnnxModel model = OnnxModel.Load(TestData.SharedFile("models", modelName + ".onnx"), new ModelOptions { BatchSize = batch });
            using var features = new FeatureEngine(spec);
            using var telemetry = new LatencyTelemetry();
            var books = new MarketBooks(expectedLiveOrders: 1 << 16, initialLevels: 4096);
            var options = batch > 1 ? new FeatureModelBindingOptions { MicroBatchDeadline = TimeSpan.FromMicroseconds(20), MicroBatchSize = batch } : null;
            using FeatureModelBinding binding = FeatureModelBinding.Create(spec, model, options);
            var processor = new TickProcessor<Recorder>(books, features, binding, telemetry, new Recorder(new Recorded(ticks.Length)));

            // The first half sets up books, feature rows, windows and state for every instrument.
            int half = ticks.Length / 2;
            for (int i = 0; i < half; i++)
            {
                processor.Process(ref ticks[i], (i & 7) == 7);
            }

            long inferences = processor.Counters.Inferences;
            int gen0 = GC.CollectionCount(0);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = half; i < ticks.Length; i++)
            {
                ticks[i].ReceiveTimestampNs = MonotonicClock.NowNs();
                processor.Process(ref ticks[i], (i & 7) == 7);
            }

            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, $"{modelName}: bytes allocated over {ticks.Length - half:N0} events");
            Assert.That(GC.CollectionCount(0) - gen0, Is.Zero, modelName);
            Assert.That(processor.Counters.Inferences - inferences, Is.GreaterThan(10_000), $"{modelName}: the measured half runs the model");
        }
    }

    [Test]
    public void ReplayWithMicroBatchingAccountsForEveryTrigger()
    {
        var source = new ItchReplaySource(s_capture.Value, ReplayPacing.AsFastAsPossible);
        var log = new PredictionLog(1 << 18);
        var options = new ReplayOptions { Binding = new FeatureModelBindingOptions { MicroBatchDeadline = TimeSpan.FromMicroseconds(50), MicroBatchSize = 4 } };
        ReplayReport report = ReplayRunner.Run(source, FeatureSpec.Load(Path.Combine(TestData.Samples, "demo.features.json")), Path.Combine(TestData.Samples, "demo.onnx"), new PredictionLogHandler(log), options);

        Assert.That(report.Run.Succeeded, Is.True);
        Assert.That(report.Processor.Inferences, Is.EqualTo(report.Processor.Triggers));
        Assert.That(report.Processor.ModelRuns, Is.InRange(1, report.Processor.Inferences));
        Assert.That(log.Count, Is.EqualTo(report.Processor.Inferences));
        Assert.That(report.ExecutionProvider, Is.EqualTo("CPU"));
        Assert.That(report.ProviderAttempts, Has.Count.EqualTo(1));
    }

    [Test]
    public void StageRefusesModelsThatDoNotTakeTheSpecsRows()
    {
        FeatureSpec spec = Spec("window");
        using OnnxModel tcn = OnnxModel.Load(TestData.SharedFile("models", "tcn_32x8.onnx"), new ModelOptions { BatchSize = 2 });
        Assert.That(() => FeatureModelBinding.Create(spec, tcn), Throws.TypeOf<ModelLoadException>().With.Message.Contains("BatchSize 1"));

        using OnnxModel mlp = OnnxModel.Load(TestData.SharedFile("models", "mlp_32.onnx"));
        Assert.That(() => FeatureModelBinding.Create(Spec("features"), mlp), Throws.TypeOf<ModelLoadException>().With.Message.Contains("8 features").And.Message.Contains("float32 [1, 32]"));

        using OnnxModel forest = OnnxModel.Load(TestData.SharedFile("data", "onnx-tree-models", "rf_iris.onnx"));
        FeatureSpec four = FeatureSpec.Parse("""{ "input": "float_input", "features": [ { "name": "spread_bps" }, { "name": "l1_imbalance" }, { "name": "microprice_offset_bps" }, { "name": "time_since_trade_ms" } ] }""", "iris.json");
        Assert.That(() => FeatureModelBinding.Create(four, forest), Throws.TypeOf<ModelLoadException>().With.Message.Contains("'output_label', which is int64 [1]"));
        FeatureSpec probability = FeatureSpec.Parse("""{ "input": "float_input", "output": "output_probability", "features": [ { "name": "spread_bps" }, { "name": "l1_imbalance" }, { "name": "microprice_offset_bps" }, { "name": "time_since_trade_ms" } ] }""", "iris.json");
        using FeatureModelBinding classifier = FeatureModelBinding.Create(probability, forest);
        Assert.That(classifier.Output.ClassLabels, Is.EqualTo(new[] { "0", "1", "2" }));
    }

    // mlp_32 and linear_32 take 32 features: the 8 repeated four times.
    private static FeatureSpec ThirtyTwoFeatures() =>
        FeatureSpec.Parse($$"""{ "input": "features", "features": [ {{string.Join(",", Enumerable.Repeat(EightFeatures.Trim()[1..^1], 4))}} ] }""", "features32.json");

    private static FeatureSpec Spec(string input) => FeatureSpec.Parse($$"""{ "input": "{{input}}", "features": {{EightFeatures}} }""", $"{input}.json");

    private static (Recorded Got, ProcessorCounters Counters, FeatureModelBinding Binding) RunStage(FeatureSpec spec, OnnxModel model, FeatureModelBindingOptions? options = null, int batchEvery = 1)
    {
        Tick[] ticks = ItchTicks.Decode(s_capture.Value);
        using var features = new FeatureEngine(spec);
        using var telemetry = new LatencyTelemetry();
        var books = new MarketBooks(expectedLiveOrders: 1 << 16, initialLevels: 4096);
        var recorded = new Recorded(ticks.Length);
        FeatureModelBinding binding = FeatureModelBinding.Create(spec, model, options);
        var processor = new TickProcessor<Recorder>(books, features, binding, telemetry, new Recorder(recorded));
        for (int i = 0; i < ticks.Length; i++)
        {
            processor.Process(ref ticks[i], i % batchEvery == batchEvery - 1 || i == ticks.Length - 1);
        }

        processor.OnStageStop();
        return (recorded, processor.Counters, binding);
    }

    private sealed class Recorded(int capacity)
    {
        public long[] Sequence { get; } = new long[capacity];

        public float[] Prediction { get; } = new float[capacity];

        public int Count { get; set; }
    }

    private readonly struct Recorder(Recorded recorded) : ISignalHandler
    {
        public void OnSignal(in Signal signal)
        {
            recorded.Sequence[recorded.Count] = signal.Sequence;
            recorded.Prediction[recorded.Count] = signal.Prediction;
            recorded.Count++;
        }
    }
}
