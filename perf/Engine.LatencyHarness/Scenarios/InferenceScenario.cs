using Engine.Inference;
using Engine.Native;
using HdrHistogram;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Engine.LatencyHarness.Scenarios;

/// <summary>
/// The cost of one ONNX Runtime call, batch 1, through the engine (<see cref="OnnxModel.Run"/>:
/// pinned inputs and outputs bound once, <c>RunWithBinding</c>) next to the naive API
/// (<c>NamedOnnxValue</c> over a new <c>DenseTensor</c>, results read and disposed, as ORT's getting-started
/// documentation shows), same model, same session options, alternating rounds in one run.
/// </summary>
public static class InferenceScenario
{
    public static ScenarioResult Run(bool quick)
    {
        int rounds = quick ? 3 : 9;
        int calls = quick ? 3_000 : 40_000;
        var models = new List<(string Name, string Path, string Input)> { ("demo", System.IO.Path.Combine(Paths.Samples, "demo.onnx"), "features") };
        var notes = new List<string> { $"{rounds} alternating rounds (engine, naive, engine, ...) of {calls:N0} calls each; ratios are the median of per-round ratios" };
        if (Paths.SharedModels is { } shared)
        {
            models.Add(("mlp_32", System.IO.Path.Combine(shared, "mlp_32.onnx"), "features"));
        }
        else
        {
            notes.Add("../shared/models absent: mlp_32 not measured");
        }

        var rows = new List<Row>();
        var ratios = new List<Ratio>();
        foreach ((string name, string path, string input) in models)
        {
            (List<Row> modelRows, List<Ratio> modelRatios) = Measure(name, path, input, rounds, calls);
            rows.AddRange(modelRows);
            ratios.AddRange(modelRatios);
        }

        return new ScenarioResult("inference", Machine.Describe(), rows, ratios, notes);
    }

    private static (List<Row>, List<Ratio>) Measure(string name, string path, string inputName, int rounds, int calls)
    {
        using OnnxModel engine = OnnxModel.Load(path);
        ModelTensor input = engine.Input(inputName);
        int width = input.ElementCount;
        int[] dims = [.. input.Shape.Select(d => (int)d)];
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        using var naive = new InferenceSession(path, options);

        var rng = new Random(1);
        float[][] rowsIn = [.. Enumerable.Range(0, 256).Select(_ => Enumerable.Range(0, width).Select(_ => (float)rng.NextDouble()).ToArray())];
        var engineTotal = new LongHistogram(10_000_000_000, 3);
        var naiveTotal = new LongHistogram(10_000_000_000, 3);
        var perRound = new List<double>();
        var p99PerRound = new List<double>();
        long engineBytes = 0, naiveBytes = 0;
        double engineSeconds = 0, naiveSeconds = 0;
        float sink = 0;

        // Warm both paths with the same round methods (JIT tiers, on-stack replacement, ORT's first runs).
        for (int i = 0; i < 3; i++)
        {
            sink += EngineRound(engine, input, rowsIn, 2_000, new LongHistogram(10_000_000_000, 3), out _);
            sink += NaiveRound(naive, inputName, rowsIn, dims, 2_000, new LongHistogram(10_000_000_000, 3), out _);
        }

        for (int round = 0; round < rounds; round++)
        {
            var e = new LongHistogram(10_000_000_000, 3);
            var n = new LongHistogram(10_000_000_000, 3);
            long before = GC.GetAllocatedBytesForCurrentThread();
            sink += EngineRound(engine, input, rowsIn, calls, e, out double seconds);
            engineBytes += GC.GetAllocatedBytesForCurrentThread() - before;
            engineSeconds += seconds;

            before = GC.GetAllocatedBytesForCurrentThread();
            sink += NaiveRound(naive, inputName, rowsIn, dims, calls, n, out seconds);
            naiveBytes += GC.GetAllocatedBytesForCurrentThread() - before;
            naiveSeconds += seconds;

            perRound.Add((double)e.GetValueAtPercentile(50) / n.GetValueAtPercentile(50));
            p99PerRound.Add((double)e.GetValueAtPercentile(99) / n.GetValueAtPercentile(99));
            engineTotal.Add(e);
            naiveTotal.Add(n);
        }

        GC.KeepAlive(sink);
        long total = (long)rounds * calls;
        var rows = new List<Row>
        {
            Row.From($"{name}: engine OnnxModel.Run (IoBinding)", engineTotal, total / engineSeconds, (double)engineBytes / total),
            Row.From($"{name}: naive Run(NamedOnnxValue)", naiveTotal, total / naiveSeconds, (double)naiveBytes / total),
        };
        var ratios = new List<Ratio>
        {
            new($"{name}: engine p50 / naive p50", Median(perRound), "<= 1"),
            new($"{name}: engine p99 / naive p99", Median(p99PerRound), "<= 1"),
            new($"{name}: engine bytes per call", (double)engineBytes / total, "== 0"),
        };
        return (rows, ratios);
    }

    private static float EngineRound(OnnxModel model, ModelTensor input, float[][] rows, int calls, LongHistogram histogram, out double seconds)
    {
        float sink = 0;
        long start = MonotonicClock.NowNs();
        for (int i = 0; i < calls; i++)
        {
            long s = MonotonicClock.NowNs();
            sink += EngineCall(model, input, rows[i & 255]);
            histogram.RecordValue(MonotonicClock.NowNs() - s);
        }

        seconds = (MonotonicClock.NowNs() - start) / 1e9;
        return sink;
    }

    private static float NaiveRound(InferenceSession session, string inputName, float[][] rows, int[] dims, int calls, LongHistogram histogram, out double seconds)
    {
        float sink = 0;
        long start = MonotonicClock.NowNs();
        for (int i = 0; i < calls; i++)
        {
            long s = MonotonicClock.NowNs();
            sink += NaiveCall(session, inputName, rows[i & 255], dims);
            histogram.RecordValue(MonotonicClock.NowNs() - s);
        }

        seconds = (MonotonicClock.NowNs() - start) / 1e9;
        return sink;
    }

    private static float EngineCall(OnnxModel model, ModelTensor input, float[] features)
    {
        features.CopyTo(input.Span);
        model.Run();
        return model.Outputs[0].Span[0];
    }

    private static float NaiveCall(InferenceSession session, string inputName, float[] features, int[] dims)
    {
        var tensor = new DenseTensor<float>(features, dims);
        var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor(inputName, tensor) };
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run(inputs);
        return results[0].AsEnumerable<float>().First();
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
