using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Engine.Inference;
using Engine.Native;
using HdrHistogram;

namespace Engine.LatencyHarness.Scenarios;

/// <summary>
/// Which execution provider actually runs each model when the engine asks for TensorRT, then CUDA, then CPU
/// (TensorRT's engine cache under <c>out/</c>, FP16 off and on): for <c>mlp_32</c>, <c>gru_32x8</c> and
/// <c>multihead_16</c>, every failed attempt with ONNX Runtime's reason, the outputs checked against the
/// models' reference outputs (<c>NAME.input.bin</c>/<c>NAME.output.bin</c>, row by row at batch 1), and
/// p50/p99 per call. The prepared GPU check (<c>tools/verify-gpu.sh</c>); on a CPU-only machine it runs on
/// CPU and reports the CUDA/TensorRT failures.
/// </summary>
public static class ProvidersScenario
{
    // FP16 keeps about 3 decimal digits: TensorRT's FP16 kernels are held to this instead of the model's own tolerance.
    private const double Fp16Tolerance = 2e-2;

    private static readonly string[] s_models = ["mlp_32", "gru_32x8", "multihead_16"];

    public static ScenarioResult Run(bool quick)
    {
        int calls = quick ? 2_000 : 20_000;
        var rows = new List<Row>();
        var ratios = new List<Ratio>();
        var notes = new List<string>
        {
            "providers asked for, in order: TensorRT, CUDA, CPU (the first that yields a session runs the model); TensorRT engine cache: " + EngineCache(),
            $"per model and FP16 setting: every reference row run one at a time (batch 1) and compared with NAME.output.bin (the model's tolerance_abs; {Fp16Tolerance} for TensorRT with FP16); then {calls:N0} timed calls of Run on those rows",
        };
        string? shared = Paths.SharedModels;
        if (shared is null)
        {
            notes.Add("../shared/models absent: nothing measured");
            return new ScenarioResult("providers", Machine.Describe(), rows, ratios, notes);
        }

        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(shared, "models.json")));
        foreach (string name in s_models)
        {
            JsonElement entry = manifest.RootElement.GetProperty("models").EnumerateArray().First(m => m.GetProperty("name").GetString() == name);
            foreach (bool fp16 in new[] { false, true })
            {
                Measure(shared, name, entry, fp16, calls, rows, ratios, notes);
            }
        }

        return new ScenarioResult("providers", Machine.Describe(), rows, ratios, notes);
    }

    private static string EngineCache()
    {
        string root = Paths.RepositoryRoot ?? AppContext.BaseDirectory;
        return Path.Combine(root, "out", "tensorrt-engines");
    }

    private static void Measure(string shared, string name, JsonElement entry, bool fp16, int calls, List<Row> rows, List<Ratio> ratios, List<string> notes)
    {
        string label = $"{name} (TensorRT FP16 {(fp16 ? "on" : "off")})";
        var options = new ModelOptions
        {
            Providers = [ExecutionProviderKind.TensorRt, ExecutionProviderKind.Cuda, ExecutionProviderKind.Cpu],
            TensorRtEngineCachePath = EngineCache(),
            TensorRtFp16 = fp16,
        };
        OnnxModel model;
        try
        {
            model = OnnxModel.Load(Path.Combine(shared, name + ".onnx"), options);
        }
        catch (ModelLoadException ex)
        {
            notes.Add($"{label}: no provider could run it: {ex.Message}");
            ratios.Add(new Ratio($"{label}: loaded", 0, "== 1"));
            return;
        }

        using (model)
        {
            notes.Add($"{label}: runs on {model.ExecutionProvider}; attempts: {string.Join("; ", model.ProviderAttempts)}");
            float[] inputs = ReadFloats(Path.Combine(shared, entry.GetProperty("input").GetProperty("file").GetString()!));
            float[] expected = ReadFloats(Path.Combine(shared, entry.GetProperty("outputs_file").GetString()!));
            ModelTensor input = model.Inputs[0];
            int rowsIn = inputs.Length / input.ElementCount;
            var outputs = entry.GetProperty("outputs").EnumerateArray().Select(o => (Name: o.GetProperty("name").GetString()!, Width: (int)(o.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).Aggregate(1L, (a, b) => a * b) / rowsIn))).ToArray();

            double worst = 0;
            for (int r = 0; r < rowsIn; r++)
            {
                inputs.AsSpan(r * input.ElementCount, input.ElementCount).CopyTo(input.Span);
                model.Run();
                int offset = 0;
                foreach ((string outName, int width) in outputs)
                {
                    ReadOnlySpan<float> actual = model.Output(outName).Span;
                    ReadOnlySpan<float> reference = expected.AsSpan((offset * rowsIn) + (r * width), width);
                    for (int e = 0; e < width; e++)
                    {
                        worst = Math.Max(worst, Math.Abs((double)actual[e] - reference[e]));
                    }

                    offset += width;
                }
            }

            double tolerance = fp16 && model.Provider == ExecutionProviderKind.TensorRt ? Fp16Tolerance : entry.GetProperty("tolerance_abs").GetDouble();
            ratios.Add(new Ratio($"{label} on {model.ExecutionProvider}: max |Δ| against the reference outputs", worst, "<= " + tolerance.ToString("G3", CultureInfo.InvariantCulture)));
            if (worst > tolerance)
            {
                notes.Add(string.Create(CultureInfo.InvariantCulture, $"{label}: OUTPUTS DISAGREE with the reference (max |Δ| {worst:G3} > {tolerance:G3})"));
            }

            var h = new LongHistogram(10_000_000_000, 3);
            long start = MonotonicClock.NowNs();
            for (int i = 0; i < calls; i++)
            {
                inputs.AsSpan(i % rowsIn * input.ElementCount, input.ElementCount).CopyTo(input.Span);
                long s = MonotonicClock.NowNs();
                model.Run();
                h.RecordValue(MonotonicClock.NowNs() - s);
            }

            double seconds = (MonotonicClock.NowNs() - start) / 1e9;
            rows.Add(Row.From($"{label}: Run on {model.ExecutionProvider}", h, calls / seconds, 0));
            ratios.Add(new Ratio($"{label} on {model.ExecutionProvider}: p50 per call, µs", h.GetValueAtPercentile(50) / 1000.0, "report"));
            ratios.Add(new Ratio($"{label} on {model.ExecutionProvider}: p99 per call, µs", h.GetValueAtPercentile(99) / 1000.0, "report"));
        }
    }

    private static float[] ReadFloats(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();
}
