using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Engine.Inference;
using Engine.Inference.Compiled;
using Engine.Native;
using HdrHistogram;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Engine.LatencyHarness.Scenarios;

/// <summary>
/// The compiled managed path against ONNX Runtime the fastest way (inputs and outputs in pinned buffers
/// bound once with <c>OrtIoBinding</c>, <c>RunWithBinding</c> per call, the engine's session options), same
/// model, batch 1, one thread, alternating rounds: <c>mlp_32</c> (with its FLOP floor: the model's FLOPs over
/// this core's measured FMA throughput) and the real LightGBM/XGBoost tree ensembles.
/// <see cref="Measure"/> is what the <c>inference</c> scenario calls; <c>compiled</c> runs it on its own.
/// </summary>
public static class CompiledScenario
{
    private const int BlockCalls = 64;

    public static ScenarioResult Run(bool quick)
    {
        (List<Row> rows, List<Ratio> ratios, List<string> notes) = Measure(quick);
        return new ScenarioResult("compiled", Machine.Describe(), rows, ratios, notes);
    }

    /// <summary>Rows, ratios (with targets) and notes of the compiled-vs-ORT comparison; empty with a note when ../shared is absent.</summary>
    public static (List<Row> Rows, List<Ratio> Ratios, List<string> Notes) Measure(bool quick)
    {
        int rounds = quick ? 3 : 9;
        int calls = quick ? 3_000 : 40_000;
        var rows = new List<Row>();
        var ratios = new List<Ratio>();
        var notes = new List<string>
        {
            $"{rounds} alternating rounds (compiled, ORT, compiled, ...) of {calls:N0} calls each per model; ratios are medians of per-round ratios; batch 1, one thread, inputs rotated through 256 random rows",
            "ORT peer: InferenceSession with the engine's options (intra-op 1, sequential, no spinning, denormals as zero, ORT_ENABLE_ALL), every tensor input and output bound once to pinned memory with OrtIoBinding, RunWithBinding per call",
        };
        string? shared = Paths.SharedModels;
        if (shared is null)
        {
            notes.Add("../shared/models absent: the compiled scenario measured nothing");
            return (rows, ratios, notes);
        }

        long clockNs = ClockOverheadNs();
        notes.Add(string.Create(CultureInfo.InvariantCulture, $"per-call times include one clock read (Stopwatch.GetTimestamp, p50 {clockNs} ns back to back) for both variants; the FLOP-floor ratios: throughput uses the per-call time of blocks of {BlockCalls} calls timed together, latency uses the single-call p50 minus that clock-read p50"));

        string mlp = Path.Combine(shared, "mlp_32.onnx");
        using (CompiledModel compiled = Compile(mlp))
        {
            long flops = DenseFlops(compiled);
            var throughput = new List<double>();
            double FloorNs()
            {
                double perNs = MeasureFmaThroughput(quick);
                throughput.Add(perNs);
                return flops / perNs;
            }

            Comparison c = Compare("mlp_32", compiled, mlp, rounds, calls, FloorNs, clockNs);
            double median = Stats.Median(throughput);
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"measured FMA throughput on this core, once per round ({(Vector512.IsHardwareAccelerated ? "Vector512" : "Vector256")} fused multiply-add, 16 independent chains, best of 3 runs): median {median:F1} FLOP/ns, range {throughput.Min():F1}–{throughput.Max():F1}"));
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"mlp_32 FLOP floor: {flops:N0} FLOPs (2·K·N per dense layer: 2·(32·64 + 64·64 + 64·1)) / {median:F1} FLOP/ns = {flops / median:F1} ns at the median throughput; the ratio divides each round's compiled p50 by that round's floor"));
            rows.AddRange(c.Rows);
            ratios.Add(new Ratio("mlp_32: ORT IoBinding p50 / compiled p50 (compiled path speed-up)", c.SpeedUpP50, ">= 10"));
            ratios.Add(new Ratio("mlp_32: ORT IoBinding p99 / compiled p99", c.SpeedUpP99, ">= 10"));
            ratios.Add(new Ratio("mlp_32: compiled per-call p50 (blocks of 64) / FLOP floor", c.FloorRatio, "<= 2"));
            ratios.Add(new Ratio("mlp_32: compiled single call p50 minus one clock read / FLOP floor (single call, latency)", c.LatencyFloorRatio, "<= 2"));
            ratios.Add(new Ratio("mlp_32: compiled bytes per call", c.CompiledBytesPerCall, "== 0"));
        }

        (string Name, string Path)[] trees =
        [
            ("LightGBM classifier (pipeline_lightgbm, 9 trees)", Path.Combine(shared, "..", "data", "onnx-tree-models", "pipeline_lightgbm.onnx")),
            ("XGBoost classifier (tract xgboost_classifier_tree, 30 trees)", Path.Combine(shared, "..", "data", "onnx-tract-cases", "xgboost_classifier_tree", "model.onnx")),
            ("XGBoost regressor (tract xgboost_regressor_tree)", Path.Combine(shared, "..", "data", "onnx-tract-cases", "xgboost_regressor_tree", "model.onnx")),
            ("XGBoost regressor (onnxmltools test_xgb)", Path.Combine(shared, "..", "data", "onnx-tree-models", "test_xgb.onnx")),
        ];
        foreach ((string name, string path) in trees)
        {
            if (!File.Exists(path))
            {
                notes.Add($"{name}: '{path}' absent, not measured");
                continue;
            }

            using CompiledModel compiled = Compile(path);
            Comparison c = Compare(name, compiled, path, rounds, calls);
            rows.AddRange(c.Rows);
            ratios.Add(new Ratio($"{name}: ORT TreeEnsemble p50 / compiled p50", c.SpeedUpP50, "> 1"));
            ratios.Add(new Ratio($"{name}: compiled bytes per call", c.CompiledBytesPerCall, "== 0"));
            if (c.PeerNote is { } note)
            {
                notes.Add($"{name}: {note}");
            }
        }

        return (rows, ratios, notes);
    }

    private sealed record Comparison(List<Row> Rows, double SpeedUpP50, double SpeedUpP99, double FloorRatio, double LatencyFloorRatio, double CompiledBytesPerCall, string? PeerNote);

    private static CompiledModel Compile(string path)
    {
        // The same load the engine does (Backend = Auto): it must pick the compiled kernel, or the comparison is void.
        ModelSelection s = ModelLoader.Load(path);
        if (s.Model is not CompiledModel compiled)
        {
            s.Model.Dispose();
            throw new InvalidOperationException($"'{path}' did not load on the compiled path: {s.Reason}");
        }

        return compiled;
    }

    private static Comparison Compare(string name, CompiledModel compiled, string path, int rounds, int calls, Func<double>? floorNs = null, long clockNs = 0)
    {
        using var peer = new OrtBoundPeer(path);
        ModelTensor input = compiled.Inputs[0];
        var rng = new Random(1);
        float[][] rowsIn = [.. Enumerable.Range(0, 256).Select(_ => Enumerable.Range(0, input.ElementCount).Select(_ => (float)((rng.NextDouble() * 8) - 2)).ToArray())];
        var compiledTotal = new LongHistogram(10_000_000_000, 3);
        var ortTotal = new LongHistogram(10_000_000_000, 3);
        var blocksTotal = new LongHistogram(10_000_000_000, 3);
        var speedUpP50 = new List<double>();
        var speedUpP99 = new List<double>();
        var floorRatios = new List<double>();
        var latencyFloorRatios = new List<double>();
        long compiledBytes = 0;
        double compiledSeconds = 0, ortSeconds = 0;
        float sink = 0;

        // Warm both by time, not by count: tiered compilation promotes hot methods only after ~100 ms of calls
        // (the compiled kernels opt out of it; the harness's own loops and ORT's managed wrapper do not).
        long warmUntil = MonotonicClock.NowNs() + (calls < 10_000 ? 300_000_000L : 1_000_000_000L);
        while (MonotonicClock.NowNs() < warmUntil)
        {
            sink += CompiledRound(compiled, input, rowsIn, 2_000, new LongHistogram(10_000_000_000, 3), out _);
            sink += PeerRound(peer, rowsIn, 2_000, new LongHistogram(10_000_000_000, 3), out _);
            sink += CompiledBlocks(compiled, input, rowsIn, 2_000 / BlockCalls, new LongHistogram(10_000_000_000, 3));
        }

        for (int round = 0; round < rounds; round++)
        {
            var c = new LongHistogram(10_000_000_000, 3);
            var o = new LongHistogram(10_000_000_000, 3);
            long before = GC.GetAllocatedBytesForCurrentThread();
            sink += CompiledRound(compiled, input, rowsIn, calls, c, out double seconds);
            compiledBytes += GC.GetAllocatedBytesForCurrentThread() - before;
            compiledSeconds += seconds;
            sink += PeerRound(peer, rowsIn, calls, o, out seconds);
            ortSeconds += seconds;
            var blocks = new LongHistogram(10_000_000_000, 3);
            sink += CompiledBlocks(compiled, input, rowsIn, calls / BlockCalls, blocks);
            blocksTotal.Add(blocks);
            if (floorNs is not null)
            {
                double floor = floorNs();
                floorRatios.Add(blocks.GetValueAtPercentile(50) / floor);
                // One call timed alone, as the stage sees it: the clock read inside every sample taken out.
                latencyFloorRatios.Add((c.GetValueAtPercentile(50) - clockNs) / floor);
            }

            speedUpP50.Add((double)o.GetValueAtPercentile(50) / c.GetValueAtPercentile(50));
            speedUpP99.Add((double)o.GetValueAtPercentile(99) / c.GetValueAtPercentile(99));
            compiledTotal.Add(c);
            ortTotal.Add(o);
        }

        GC.KeepAlive(sink);
        long total = (long)rounds * calls;
        var rows = new List<Row>
        {
            Row.From($"{name}: compiled", compiledTotal, total / compiledSeconds, (double)compiledBytes / total),
            Row.From($"{name}: ORT IoBinding", ortTotal, total / ortSeconds, 0),
            Row.From($"{name}: compiled, per call in blocks of {BlockCalls}", blocksTotal, 0, 0),
        };
        return new Comparison(rows, Stats.Median(speedUpP50), Stats.Median(speedUpP99), floorRatios.Count > 0 ? Stats.Median(floorRatios) : double.NaN, latencyFloorRatios.Count > 0 ? Stats.Median(latencyFloorRatios) : double.NaN, (double)compiledBytes / total, peer.Note);
    }

    private static float CompiledRound(CompiledModel model, ModelTensor input, float[][] rows, int calls, LongHistogram histogram, out double seconds)
    {
        // The output tensor is looked up once, as the peer keeps its output span (Outputs is an IReadOnlyList:
        // indexing it per call is two interface calls the model does not make).
        ModelTensor output = model.Outputs[^1];
        float sink = 0;
        long start = MonotonicClock.NowNs();
        for (int i = 0; i < calls; i++)
        {
            long s = MonotonicClock.NowNs();
            rows[i & 255].CopyTo(input.Span);
            model.Run();
            sink += output.Span[0];
            histogram.RecordValue(MonotonicClock.NowNs() - s);
        }

        seconds = (MonotonicClock.NowNs() - start) / 1e9;
        return sink;
    }

    // Per-call cost without a clock read per call: blocks of BlockCalls calls timed together, recorded as the block's mean.
    private static float CompiledBlocks(CompiledModel model, ModelTensor input, float[][] rows, int blocks, LongHistogram histogram)
    {
        ModelTensor output = model.Outputs[^1];
        float sink = 0;
        for (int b = 0; b < blocks; b++)
        {
            long s = MonotonicClock.NowNs();
            for (int i = 0; i < BlockCalls; i++)
            {
                rows[(b + i) & 255].CopyTo(input.Span);
                model.Run();
                sink += output.Span[0];
            }

            histogram.RecordValue((MonotonicClock.NowNs() - s) / BlockCalls);
        }

        return sink;
    }

    private static float PeerRound(OrtBoundPeer peer, float[][] rows, int calls, LongHistogram histogram, out double seconds)
    {
        float sink = 0;
        long start = MonotonicClock.NowNs();
        for (int i = 0; i < calls; i++)
        {
            long s = MonotonicClock.NowNs();
            sink += peer.Call(rows[i & 255]);
            histogram.RecordValue(MonotonicClock.NowNs() - s);
        }

        seconds = (MonotonicClock.NowNs() - start) / 1e9;
        return sink;
    }

    private static long DenseFlops(CompiledModel model)
    {
        long flops = 0;
        foreach (string k in model.Kernels)
        {
            // "dense K→N ... ×M rows"
            if (!k.StartsWith("dense ", StringComparison.Ordinal))
            {
                continue;
            }

            string[] kn = k[6..k.IndexOf(' ', 6)].Split('→');
            int rows = int.Parse(k[(k.IndexOf('×', StringComparison.Ordinal) + 1)..k.IndexOf(" rows", StringComparison.Ordinal)], CultureInfo.InvariantCulture);
            flops += 2L * int.Parse(kn[0], CultureInfo.InvariantCulture) * int.Parse(kn[1], CultureInfo.InvariantCulture) * rows;
        }

        return flops;
    }

    private static long ClockOverheadNs()
    {
        var h = new LongHistogram(10_000_000_000, 3);
        for (int i = 0; i < 100_000; i++)
        {
            long a = MonotonicClock.NowNs();
            h.RecordValue(MonotonicClock.NowNs() - a);
        }

        return h.GetValueAtPercentile(50);
    }

    // Peak FMA throughput of this core: 16 independent dependency chains (enough to cover FMA latency × pipes),
    // on the widest vectors the JIT accelerates; best of several runs.
    private static double MeasureFmaThroughput(bool quick)
    {
        int iterations = quick ? 500_000 : 2_000_000;
        double best = 0;
        for (int run = 0; run < 3; run++)
        {
            long start = MonotonicClock.NowNs();
            float sink = Vector512.IsHardwareAccelerated ? Fma512(iterations) : Fma256(iterations);
            long ns = MonotonicClock.NowNs() - start;
            GC.KeepAlive(sink);
            int lanes = Vector512.IsHardwareAccelerated ? 16 : 8;
            best = Math.Max(best, (double)iterations * 16 * lanes * 2 / ns);
        }

        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Fma512(int iterations)
    {
        Vector512<float> m = Vector512.Create(0.9999f), c = Vector512.Create(0.0001f);
        Vector512<float> a0 = Vector512<float>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        Vector512<float> a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector512.MultiplyAddEstimate(a0, m, c); a1 = Vector512.MultiplyAddEstimate(a1, m, c);
            a2 = Vector512.MultiplyAddEstimate(a2, m, c); a3 = Vector512.MultiplyAddEstimate(a3, m, c);
            a4 = Vector512.MultiplyAddEstimate(a4, m, c); a5 = Vector512.MultiplyAddEstimate(a5, m, c);
            a6 = Vector512.MultiplyAddEstimate(a6, m, c); a7 = Vector512.MultiplyAddEstimate(a7, m, c);
            a8 = Vector512.MultiplyAddEstimate(a8, m, c); a9 = Vector512.MultiplyAddEstimate(a9, m, c);
            a10 = Vector512.MultiplyAddEstimate(a10, m, c); a11 = Vector512.MultiplyAddEstimate(a11, m, c);
            a12 = Vector512.MultiplyAddEstimate(a12, m, c); a13 = Vector512.MultiplyAddEstimate(a13, m, c);
            a14 = Vector512.MultiplyAddEstimate(a14, m, c); a15 = Vector512.MultiplyAddEstimate(a15, m, c);
        }

        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Fma256(int iterations)
    {
        Vector256<float> m = Vector256.Create(0.9999f), c = Vector256.Create(0.0001f);
        Vector256<float> a0 = Vector256<float>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        Vector256<float> a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector256.MultiplyAddEstimate(a0, m, c); a1 = Vector256.MultiplyAddEstimate(a1, m, c);
            a2 = Vector256.MultiplyAddEstimate(a2, m, c); a3 = Vector256.MultiplyAddEstimate(a3, m, c);
            a4 = Vector256.MultiplyAddEstimate(a4, m, c); a5 = Vector256.MultiplyAddEstimate(a5, m, c);
            a6 = Vector256.MultiplyAddEstimate(a6, m, c); a7 = Vector256.MultiplyAddEstimate(a7, m, c);
            a8 = Vector256.MultiplyAddEstimate(a8, m, c); a9 = Vector256.MultiplyAddEstimate(a9, m, c);
            a10 = Vector256.MultiplyAddEstimate(a10, m, c); a11 = Vector256.MultiplyAddEstimate(a11, m, c);
            a12 = Vector256.MultiplyAddEstimate(a12, m, c); a13 = Vector256.MultiplyAddEstimate(a13, m, c);
            a14 = Vector256.MultiplyAddEstimate(a14, m, c); a15 = Vector256.MultiplyAddEstimate(a15, m, c);
        }

        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15);
    }

    /// <summary>
    /// ONNX Runtime the fastest way for any model with float32 inputs: each float32 or int64 tensor output in
    /// pinned memory bound once; outputs that are not tensors (a ZipMap's maps) are left unbound, so ORT skips them.
    /// </summary>
    private sealed class OrtBoundPeer : IDisposable
    {
        private readonly SessionOptions _options;
        private readonly InferenceSession _session;
        private readonly RunOptions _run = new();
        private readonly OrtIoBinding _binding;
        private readonly List<IDisposable> _owned = [];
        private readonly AlignedBuffer<float> _input;
        private readonly AlignedBuffer<float> _firstOutput;

        public OrtBoundPeer(string path)
        {
            _options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            _options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            _options.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
            _options.AddSessionConfigEntry("session.set_denormal_as_zero", "1");
            _session = new InferenceSession(path, _options);
            _binding = _session.CreateIoBinding();
            string inputName = _session.InputNames[0];
            long[] inShape = Shape(_session.InputMetadata[inputName]);
            _input = new AlignedBuffer<float>((int)inShape.Aggregate(1L, (a, b) => a * b));
            _owned.Add(_input);
            _binding.BindInput(inputName, Own(OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, inShape, _input.Address, _input.Length * sizeof(float))));
            AlignedBuffer<float>? first = null;
            var skipped = new List<string>();
            foreach (string name in _session.OutputNames)
            {
                NodeMetadata meta = _session.OutputMetadata[name];
                if (!meta.IsTensor || meta.ElementDataType is not (TensorElementType.Float or TensorElementType.Int64))
                {
                    skipped.Add(name);
                    continue;
                }

                long[] shape = Shape(meta);
                int count = (int)shape.Aggregate(1L, (a, b) => a * b);
                if (meta.ElementDataType == TensorElementType.Float)
                {
                    var buffer = new AlignedBuffer<float>(count);
                    _owned.Add(buffer);
                    first ??= buffer;
                    _binding.BindOutput(name, Own(OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, shape, buffer.Address, count * sizeof(float))));
                }
                else
                {
                    var buffer = new AlignedBuffer<long>(count);
                    _owned.Add(buffer);
                    _binding.BindOutput(name, Own(OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Int64, shape, buffer.Address, count * sizeof(long))));
                }
            }

            _firstOutput = first ?? new AlignedBuffer<float>(1);
            Note = skipped.Count == 0 ? null : $"ORT peer leaves the non-tensor output(s) {string.Join(", ", skipped)} unbound (ORT then skips the ZipMap); the compiled model still computes every output";
        }

        public string? Note { get; }

        public float Call(float[] row)
        {
            row.CopyTo(_input.Span);
            _session.RunWithBinding(_run, _binding);
            return _firstOutput[0];
        }

        public void Dispose()
        {
            _binding.Dispose();
            _run.Dispose();
            _session.Dispose();
            _options.Dispose();
            foreach (IDisposable d in _owned)
            {
                d.Dispose();
            }
        }

        private static long[] Shape(NodeMetadata meta) => [.. meta.Dimensions.Select(d => d > 0 ? (long)d : 1L)];

        private OrtValue Own(OrtValue v)
        {
            _owned.Add(v);
            return v;
        }
    }
}
