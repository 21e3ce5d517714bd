using Engine.Features;
using Engine.Inference;
using Engine.Inference.Compiled;
using Engine.Native;
using HdrHistogram;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Engine.LatencyHarness.Scenarios;

/// <summary>
/// The cost of one ONNX Runtime inference, batch 1, three ways, same model, same session options, in
/// rotating rounds of one run:
/// <list type="bullet">
/// <item><b>engine</b>: what the stage does per trigger, <see cref="FeatureModelBinding.Write"/> then
/// <see cref="FeatureModelBinding.TryRun"/> and the prediction read (row models: the row copied into the
/// pinned input bound once; windowed: the row pushed into the instrument's window, run through the
/// binding of the window's start; recurrent: one step, state swapped by binding);</item>
/// <item><b>raw</b>: a hand-written <c>RunWithBinding</c> loop: ORT's own <c>OrtValue</c>s over pinned
/// arrays, bound once, the new input copied in (the whole window for window models; for the step model
/// the state copied from output to input after each run);</item>
/// <item><b>naive</b>: <c>NamedOnnxValue</c> over a new <c>DenseTensor</c>, results read and disposed, as
/// ORT's getting-started documentation shows.</item>
/// </list>
/// </summary>
public static class InferenceScenario
{
    private const long HighestNs = 10_000_000_000;
    private const int Inputs = 256;

    public static ScenarioResult Run(bool quick)
    {
        int rounds = quick ? 3 : 9;
        int calls = quick ? 2_000 : 20_000;
        var cases = new List<Case> { new("demo", Path.Combine(Paths.Samples, "demo.onnx"), FeatureModelKind.Row) };
        var notes = new List<string>
        {
            $"{rounds} rounds of {calls:N0} calls per variant; each round runs engine, raw and naive in a rotating order; ratios are the median of per-round ratios",
            "batch 1, one thread; every session: intra-op threads 1, sequential, spinning off, denormals as zero, ORT_ENABLE_ALL; CPU execution provider; the engine's load sets FTZ/DAZ on the measuring thread, so all three variants run flushed",
            $"p99.9 ratios rest on the {calls / 1000} slowest calls of each round (median of per-round ratios): read them against the platform's own stalls",
            "window models: engine pushes one new row (the window is read in place); raw copies the 32x8 window into its bound input; naive wraps the window array",
            "gru_step_8x32: one new tick of a GRU with hidden 32; raw copies h_out back into h_in after each run, naive passes h as a second NamedOnnxValue",
        };
        if (Paths.SharedModels is { } shared)
        {
            cases.Add(new("mlp_32", Path.Combine(shared, "mlp_32.onnx"), FeatureModelKind.Row));
            cases.Add(new("multihead_16", Path.Combine(shared, "multihead_16.onnx"), FeatureModelKind.Row));
            cases.Add(new("gru_32x8", Path.Combine(shared, "gru_32x8.onnx"), FeatureModelKind.Window));
            cases.Add(new("lstm_32x8", Path.Combine(shared, "lstm_32x8.onnx"), FeatureModelKind.Window));
            cases.Add(new("gru_step_8x32", Path.Combine(shared, "gru_step_8x32.onnx"), FeatureModelKind.Recurrent));
        }
        else
        {
            notes.Add("../shared/models absent: only the demo model measured");
        }

        var rows = new List<Row>();
        var ratios = new List<Ratio>();
        foreach (Case c in cases)
        {
            Measure(c, rounds, calls, rows, ratios);
        }

        if (Paths.SharedModels is { } models)
        {
            MeasureStatefulStepAsTheEngineLoadsIt(Path.Combine(models, "gru_step_8x32.onnx"), rounds, calls, rows, ratios, notes);
        }

        // The compiled managed path against ONNX Runtime, in the same run (issue 5's compiled-path targets).
        (List<Row> compiledRows, List<Ratio> compiledRatios, List<string> compiledNotes) = CompiledScenario.Measure(quick);
        rows.AddRange(compiledRows);
        ratios.AddRange(compiledRatios);
        notes.AddRange(compiledNotes);
        return new ScenarioResult("inference", Machine.Describe(), rows, ratios, notes);
    }

    private static void Measure(Case c, int rounds, int calls, List<Row> rows, List<Ratio> ratios)
    {
        using OnnxModel model = OnnxModel.Load(c.Path);
        ModelTensor input = c.Kind == FeatureModelKind.Recurrent ? model.Input("x") : model.Inputs[0];
        int features = (int)input.Shape[^1];
        var spec = new FeatureSpec([.. Enumerable.Repeat(new FeatureDefinition(FeatureKind.SpreadBps), features)], input.Name, source: c.Name);
        using FeatureModelBinding binding = FeatureModelBinding.Create(spec, model);

        var rng = new Random(1);
        float[][] featureRows = [.. Enumerable.Range(0, Inputs).Select(_ => Random(rng, features))];
        // What the raw and naive peers feed per call: the row, or for window models a whole window.
        float[][] fed = c.Kind == FeatureModelKind.Window ? [.. Enumerable.Range(0, Inputs).Select(_ => Random(rng, input.ElementCount))] : featureRows;

        using var session = new InferenceSession(c.Path, RawSessionOptions());
        using var raw = new RawLoop(session, c.Kind);
        var engine = new EngineCall(binding, featureRows);
        var rawCall = new RawCall(raw, fed);
        var naive = new NaiveCall(session, c.Kind, fed, [.. input.Shape.Select(d => (int)d)]);

        // Warm every path with the same round methods (JIT tiers, OSR, ORT's first runs; fills the engine's window).
        for (int i = 0; i < 3; i++)
        {
            Round(ref engine, 2_000, new LongHistogram(HighestNs, 3), out _, out _);
            Round(ref rawCall, 2_000, new LongHistogram(HighestNs, 3), out _, out _);
            Round(ref naive, 2_000, new LongHistogram(HighestNs, 3), out _, out _);
        }

        var totals = new[] { new LongHistogram(HighestNs, 3), new LongHistogram(HighestNs, 3), new LongHistogram(HighestNs, 3) };
        long[] bytes = new long[3];
        double[] seconds = new double[3];
        var perRound = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        for (int round = 0; round < rounds; round++)
        {
            var h = new[] { new LongHistogram(HighestNs, 3), new LongHistogram(HighestNs, 3), new LongHistogram(HighestNs, 3) };
            for (int k = 0; k < 3; k++)
            {
                // Rotate which variant goes first so none always follows the naive one's garbage.
                int v = (round + k) % 3;
                long b;
                double s;
                switch (v)
                {
                    case 0:
                        Round(ref engine, calls, h[0], out b, out s);
                        break;
                    case 1:
                        Round(ref rawCall, calls, h[1], out b, out s);
                        break;
                    default:
                        Round(ref naive, calls, h[2], out b, out s);
                        break;
                }

                bytes[v] += b;
                seconds[v] += s;
            }

            Add(perRound, "p50 raw", (double)h[0].GetValueAtPercentile(50) / h[1].GetValueAtPercentile(50));
            Add(perRound, "p99 raw", (double)h[0].GetValueAtPercentile(99) / h[1].GetValueAtPercentile(99));
            Add(perRound, "p50 naive", (double)h[0].GetValueAtPercentile(50) / h[2].GetValueAtPercentile(50));
            Add(perRound, "p99 naive", (double)h[0].GetValueAtPercentile(99) / h[2].GetValueAtPercentile(99));
            Add(perRound, "p99.9 raw", (double)h[0].GetValueAtPercentile(99.9) / h[1].GetValueAtPercentile(99.9));
            Add(perRound, "p99.9 naive", (double)h[0].GetValueAtPercentile(99.9) / h[2].GetValueAtPercentile(99.9));
            for (int v = 0; v < 3; v++)
            {
                totals[v].Add(h[v]);
            }
        }

        long total = (long)rounds * calls;
        string engineName = c.Kind switch
        {
            FeatureModelKind.Window => "engine (window push + TryRun)",
            FeatureModelKind.Recurrent => "engine (recurrent step)",
            _ => "engine (row write + Run)",
        };
        rows.Add(Row.From($"{c.Name}: {engineName}", totals[0], total / seconds[0], (double)bytes[0] / total));
        rows.Add(Row.From($"{c.Name}: raw RunWithBinding loop", totals[1], total / seconds[1], (double)bytes[1] / total));
        rows.Add(Row.From($"{c.Name}: naive Run(NamedOnnxValue)", totals[2], total / seconds[2], (double)bytes[2] / total));
        ratios.Add(new($"{c.Name}: engine p50 / raw RunWithBinding p50", Stats.Median(perRound["p50 raw"]), "<= 1.1"));
        ratios.Add(new($"{c.Name}: engine p99 / raw RunWithBinding p99", Stats.Median(perRound["p99 raw"]), "<= 1.1"));
        ratios.Add(new($"{c.Name}: engine p99.9 / raw RunWithBinding p99.9", Stats.Median(perRound["p99.9 raw"]), "<= 1.1"));
        ratios.Add(new($"{c.Name}: engine p50 / naive p50", Stats.Median(perRound["p50 naive"]), "<= 1"));
        ratios.Add(new($"{c.Name}: engine p99 / naive p99", Stats.Median(perRound["p99 naive"]), "<= 1"));
        ratios.Add(new($"{c.Name}: engine p99.9 / naive p99.9", Stats.Median(perRound["p99.9 naive"]), "<= 1"));
        ratios.Add(new($"{c.Name}: engine bytes per call", (double)bytes[0] / total, "== 0"));
    }

    /// <summary>
    /// The stateful GRU step (hidden 32) per new tick as the engine runs it by default: loaded with
    /// <see cref="ModelBackend.Auto"/> (the compiled kernel when it agrees with ONNX Runtime), each tick's
    /// row written and one step run with the instrument's state.
    /// </summary>
    private static void MeasureStatefulStepAsTheEngineLoadsIt(string path, int rounds, int calls, List<Row> rows, List<Ratio> ratios, List<string> notes)
    {
        ModelSelection selection = ModelLoader.Load(path);
        using InferenceModel model = selection.Model;
        var spec = new FeatureSpec([.. Enumerable.Repeat(new FeatureDefinition(FeatureKind.SpreadBps), 8)], "x", source: "gru_step_8x32");
        using FeatureModelBinding binding = FeatureModelBinding.Create(spec, model);
        var rng = new Random(2);
        float[][] featureRows = [.. Enumerable.Range(0, Inputs).Select(_ => Random(rng, 8))];
        var engine = new EngineCall(binding, featureRows);
        for (int i = 0; i < 3; i++)
        {
            Round(ref engine, 2_000, new LongHistogram(HighestNs, 3), out _, out _);
        }

        var total = new LongHistogram(HighestNs, 3);
        var p99 = new List<double>();
        long bytes = 0;
        double seconds = 0;
        for (int round = 0; round < rounds; round++)
        {
            var h = new LongHistogram(HighestNs, 3);
            Round(ref engine, calls, h, out long b, out double s);
            bytes += b;
            seconds += s;
            p99.Add(h.GetValueAtPercentile(99) / 1000.0);
            total.Add(h);
        }

        long count = (long)rounds * calls;
        rows.Add(Row.From($"gru_step_8x32: engine default back-end ({model.ExecutionProvider}) recurrent step per new tick", total, count / seconds, (double)bytes / count));
        ratios.Add(new("gru_step_8x32: engine p99 per new tick, µs (stateful GRU step, hidden 32, default back-end)", Stats.Median(p99), "< 2"));
        notes.Add($"gru_step_8x32 default back-end: {model.ExecutionProvider} ({selection.Reason})");
    }

    private static void Round<T>(ref T call, int calls, LongHistogram histogram, out long bytes, out double seconds) where T : struct, ICall
    {
        float sink = 0;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        long start = MonotonicClock.NowNs();
        for (int i = 0; i < calls; i++)
        {
            long s = MonotonicClock.NowNs();
            sink += call.Call(i);
            histogram.RecordValue(MonotonicClock.NowNs() - s);
        }

        seconds = (MonotonicClock.NowNs() - start) / 1e9;
        bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        GC.KeepAlive(sink);
    }

    private static SessionOptions RawSessionOptions()
    {
        var so = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        so.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
        so.AddSessionConfigEntry("session.set_denormal_as_zero", "1");
        return so;
    }

    private static float[] Random(Random rng, int count) => [.. Enumerable.Range(0, count).Select(_ => (float)rng.NextDouble())];

    private static void Add(Dictionary<string, List<double>> lists, string key, double value)
    {
        if (!lists.TryGetValue(key, out List<double>? list))
        {
            lists[key] = list = [];
        }

        list.Add(value);
    }

    private sealed record Case(string Name, string Path, FeatureModelKind Kind);

    private interface ICall
    {
        float Call(int i);
    }

    /// <summary>The stage's per-trigger calls on one instrument.</summary>
    private readonly struct EngineCall(FeatureModelBinding binding, float[][] rows) : ICall
    {
        public float Call(int i)
        {
            binding.Write(0, rows[i & (Inputs - 1)]);
            binding.TryRun(0);
            return binding.Prediction[0];
        }
    }

    private readonly struct RawCall(RawLoop loop, float[][] fed) : ICall
    {
        public float Call(int i) => loop.Call(fed[i & (Inputs - 1)]);
    }

    /// <summary>ORT's IoBinding used by hand: pinned arrays wrapped in OrtValues, bound once, RunWithBinding per call.</summary>
    private sealed class RawLoop : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly RunOptions _run = new();
        private readonly OrtIoBinding _binding;
        private readonly List<OrtValue> _values = [];
        private readonly float[] _input;
        private readonly float[] _output;
        private readonly float[]? _stateIn;
        private readonly float[]? _stateOut;
        private readonly Dictionary<string, float[]> _byName = new(StringComparer.Ordinal);

        public RawLoop(InferenceSession session, FeatureModelKind kind)
        {
            _session = session;
            _binding = session.CreateIoBinding();
            float[]? first = null;
            foreach (string name in session.InputNames)
            {
                float[] data = Bind(name, session.InputMetadata[name], input: true);
                first ??= data;
                if (kind == FeatureModelKind.Recurrent && name == "h_in")
                {
                    _stateIn = data;
                }
            }

            float[]? firstOut = null;
            foreach (string name in session.OutputNames)
            {
                float[] data = Bind(name, session.OutputMetadata[name], input: false);
                firstOut ??= data;
                if (kind == FeatureModelKind.Recurrent && name == "h_out")
                {
                    _stateOut = data;
                }
            }

            _input = kind == FeatureModelKind.Recurrent ? _byName["x"] : first!;
            _output = firstOut!;
        }

        public float Call(float[] input)
        {
            input.CopyTo(_input, 0);
            _session.RunWithBinding(_run, _binding);
            if (_stateOut is not null)
            {
                _stateOut.CopyTo(_stateIn!, 0);
            }

            return _output[0];
        }

        public void Dispose()
        {
            _binding.Dispose();
            _run.Dispose();
            foreach (OrtValue v in _values)
            {
                v.Dispose();
            }
        }

        private float[] Bind(string name, NodeMetadata meta, bool input)
        {
            long[] shape = [.. meta.Dimensions.Select(d => d > 0 ? (long)d : 1L)];
            float[] data = GC.AllocateArray<float>((int)shape.Aggregate(1L, (a, d) => a * d), pinned: true);
            OrtValue value = OrtValue.CreateTensorValueFromMemory(data, shape);
            _values.Add(value);
            _byName[name] = data;
            if (input)
            {
                _binding.BindInput(name, value);
            }
            else
            {
                _binding.BindOutput(name, value);
            }

            return data;
        }
    }

    /// <summary>ORT's getting-started pattern: a new DenseTensor and NamedOnnxValue list per call, results read and disposed.</summary>
    private readonly struct NaiveCall(InferenceSession session, FeatureModelKind kind, float[][] fed, int[] dims) : ICall
    {
        private readonly float[] _h = new float[32];
        private readonly string _inputName = kind == FeatureModelKind.Recurrent ? "x" : session.InputNames[0];

        public float Call(int i)
        {
            var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor(_inputName, new DenseTensor<float>(fed[i & (Inputs - 1)], dims)) };
            if (kind == FeatureModelKind.Recurrent)
            {
                inputs.Add(NamedOnnxValue.CreateFromTensor("h_in", new DenseTensor<float>(_h, [1, 32])));
            }

            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run(inputs);
            if (kind == FeatureModelKind.Recurrent)
            {
                int k = 0;
                foreach (float v in results[1].AsEnumerable<float>())
                {
                    _h[k++] = v;
                }
            }

            return results[0].AsEnumerable<float>().First();
        }
    }
}
