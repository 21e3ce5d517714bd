using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Engine.Native;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Engine.Inference.Compiled;

/// <summary>
/// The rule a compiled kernel must meet against ONNX Runtime before it is used: on every check input and
/// every output element, <c>|compiled − ORT| ≤ AbsoluteTolerance + RelativeTolerance·|ORT|</c>.
/// </summary>
/// <param name="AbsoluteTolerance">Absolute part (default 1e-5, the PyTorch-vs-ORT tolerance of the shared MLPs).</param>
/// <param name="RelativeTolerance">Relative part (default 1e-4).</param>
/// <param name="GeneratedCases">Generated inputs (seeded, so every load checks the same ones).</param>
/// <param name="ReferenceCases">Most reference inputs read from <c>NAME.input.bin</c> beside <c>NAME.onnx</c>.</param>
public sealed record AgreementRule(double AbsoluteTolerance = 1e-5, double RelativeTolerance = 1e-4, int GeneratedCases = 48, int ReferenceCases = 64)
{
    /// <summary>The rule as text, e.g. <c>|Δ| ≤ 1e-05 + 1e-04·|ORT|</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"|Δ| ≤ {AbsoluteTolerance:0e+00} + {RelativeTolerance:0e+00}·|ORT|");
}

/// <summary>What a load decided: the model that runs, which back-end it is and why.</summary>
/// <param name="Model">The model (owned by the caller).</param>
/// <param name="Backend">"compiled" or "ONNX Runtime".</param>
/// <param name="Reason">Why, in one line a report or the CLI prints.</param>
public sealed record ModelSelection(InferenceModel Model, string Backend, string Reason)
{
    /// <summary>The compiled-path fallbacks <see cref="CompiledFallback"/> can name, as exported (label <c>reason</c>).</summary>
    public static IReadOnlyList<string> CompiledFallbacks { get; } = ["compiled_unsupported", "compiled_disagreed", "compiled_unbindable"];

    /// <summary>
    /// Set when <see cref="ModelBackend.Auto"/> wanted the compiled kernel and fell back to ONNX Runtime:
    /// <c>compiled_unsupported</c> (the compiler does not take the graph), <c>compiled_disagreed</c>
    /// (outside the agreement rule), <c>compiled_unbindable</c> (the caller cannot bind it). Null otherwise,
    /// including when ONNX Runtime was asked for.
    /// </summary>
    public string? CompiledFallback { get; init; }
}

/// <summary>
/// Loads a model on the back-end <see cref="ModelOptions.Backend"/> asks for. <see cref="ModelBackend.Auto"/>
/// compiles the graph, runs it and an ONNX Runtime session on the same inputs (the model's own reference
/// rows when <c>NAME.input.bin</c> sits beside it, plus generated rows), and keeps the compiled kernel only
/// if every output agrees under <see cref="AgreementRule"/>; otherwise it loads <see cref="OnnxModel"/>
/// and says why (the unsupported operator, or the first disagreeing element).
/// </summary>
/// <remarks>Cold path: compile (≈ ms), one ORT session and a hundred runs each. Call on the thread that will run the model.</remarks>
public static class ModelLoader
{
    /// <summary>Loads <paramref name="path"/>; throws <see cref="ModelLoadException"/> when no back-end can run it as asked.</summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="options">Shapes, warm-up, session settings and <see cref="ModelOptions.Backend"/>.</param>
    /// <param name="rule">The agreement rule (default <see cref="AgreementRule"/>'s).</param>
    /// <param name="usable">
    /// The caller's own check of a compiled model that agreed (e.g. whether the stage can bind it the way the
    /// feature spec asks): null when it can use it, else the reason it cannot, and Auto then loads ONNX Runtime
    /// with that reason (Compiled refuses).
    /// </param>
    public static ModelSelection Load(string path, ModelOptions? options = null, AgreementRule? rule = null, Func<InferenceModel, string?>? usable = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new ModelOptions();
        rule ??= new AgreementRule();
        // Before any session exists: ONNX Runtime applies set_denormal_as_zero once per process (on the thread
        // of the first session), and the compiled kernels never see it; the mode is per thread, set it here.
        DenormalModeResult? denormals = options.DenormalsAsZero ? DenormalMode.SetOnCurrentThread() : null;
        ModelSelection selection = Select(path, options, rule, usable);
        selection.Model.Denormals = denormals;
        return selection;
    }

    private static ModelSelection Select(string path, ModelOptions options, AgreementRule rule, Func<InferenceModel, string?>? usable)
    {
        if (options.Backend == ModelBackend.Ort)
        {
            return new ModelSelection(OnnxModel.Load(path, options), "ONNX Runtime", "ONNX Runtime: asked for (Backend = Ort)");
        }

        var clock = Stopwatch.StartNew();
        if (!ModelCompiler.TryCompile(path, options, out CompiledModel? compiled, out string whyNot))
        {
            if (options.Backend == ModelBackend.Compiled)
            {
                throw new ModelLoadException($"Model '{path}' cannot run on the compiled path (Backend = Compiled): {whyNot}.");
            }

            return new ModelSelection(OnnxModel.Load(path, options), "ONNX Runtime", $"ONNX Runtime: the compiled path does not take this model: {whyNot}") { CompiledFallback = "compiled_unsupported" };
        }

        string verdict;
        bool agrees;
        try
        {
            (agrees, verdict) = Agreement.Check(compiled, rule, options);
        }
        catch (OnnxRuntimeException ex)
        {
            compiled.Dispose();
            throw new ModelLoadException($"ONNX Runtime refused model '{path}', so the compiled kernel could not be checked against it: {ex.Message}", ex);
        }

        string? unusable = agrees ? usable?.Invoke(compiled) : null;
        if (agrees && unusable is null)
        {
            compiled.AddLoadTime(clock.Elapsed - compiled.LoadTime);
            return new ModelSelection(compiled, "compiled", $"compiled: {verdict}");
        }

        compiled.Dispose();
        if (unusable is not null)
        {
            return options.Backend == ModelBackend.Compiled
                ? throw new ModelLoadException($"Model '{path}' compiled and agrees with ONNX Runtime, but cannot be used on the compiled path (Backend = Compiled): {unusable}")
                : new ModelSelection(OnnxModel.Load(path, options), "ONNX Runtime", $"ONNX Runtime: the compiled kernel agrees, but {unusable}") { CompiledFallback = "compiled_unbindable" };
        }

        if (options.Backend == ModelBackend.Compiled)
        {
            throw new ModelLoadException($"Model '{path}': the compiled kernel disagrees with ONNX Runtime (Backend = Compiled): {verdict}.");
        }

        return new ModelSelection(OnnxModel.Load(path, options), "ONNX Runtime", $"ONNX Runtime: the compiled kernel disagreed with it: {verdict}") { CompiledFallback = "compiled_disagreed" };
    }
}

/// <summary>Runs a compiled model and an ONNX Runtime session on the same inputs and compares every output element.</summary>
internal static class Agreement
{
    public static (bool Agrees, string Verdict) Check(CompiledModel model, AgreementRule rule, ModelOptions modelOptions)
    {
        List<float[][]> cases = Cases(model, rule, out int referenceCases);
        // The engine's own session settings: this may be the process's first session, and ONNX Runtime takes
        // the denormal setting of the first session only.
        using SessionOptions options = OnnxModel.CreateSessionOptions(modelOptions);
        using var session = new InferenceSession(model.Path, options);
        double worst = 0;
        string worstAt = "none";
        foreach (float[][] inputs in cases)
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                inputs[i].CopyTo(model.Inputs[i].Span);
            }

            model.Run();
            var feeds = new List<NamedOnnxValue>();
            for (int i = 0; i < inputs.Length; i++)
            {
                feeds.Add(NamedOnnxValue.CreateFromTensor(model.Inputs[i].Name, new DenseTensor<float>(inputs[i], [.. model.Inputs[i].Shape.Select(d => (int)d)])));
            }

            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run(feeds);
            for (int o = 0; o < model.Outputs.Count; o++)
            {
                ModelTensor output = model.Outputs[o];
                CompiledOutput info = model.OutputInfo[o];
                double[] expected = ToDoubles(results.First(r => r.Name == output.Name), info);
                string? broken = Compare(output.Name, info.Kind, output.Span, expected, rule, ref worst, ref worstAt);
                if (broken is not null)
                {
                    return (false, broken);
                }
            }
        }

        string from = referenceCases > 0 ? $"{referenceCases} reference and {cases.Count - referenceCases} generated inputs" : $"{cases.Count} generated inputs";
        string largest = worst == 0 ? "every output bit-identical" : string.Create(CultureInfo.InvariantCulture, $"largest |Δ| {worst:G3} on '{worstAt}'");
        return (true, $"agrees with ONNX Runtime on {from} ({largest}; rule {rule})");
    }

    /// <summary>
    /// Compares one output: null when it agrees, else the first element that breaks the rule. Labels (int64 or
    /// string-class indices) must be equal exactly, so a wrong class never passes as "close"; values compare
    /// under <paramref name="rule"/>. <paramref name="expected"/> is double so int64 labels arrive exact (to 2^53).
    /// </summary>
    internal static string? Compare(string name, CompiledOutputKind kind, ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, AgreementRule rule, ref double worst, ref string worstAt)
    {
        if (expected.Length != actual.Length)
        {
            return $"output '{name}' has {actual.Length} elements, ONNX Runtime gave {expected.Length}";
        }

        bool exact = kind is CompiledOutputKind.Int64Label or CompiledOutputKind.StringLabel;
        for (int e = 0; e < expected.Length; e++)
        {
            double a = actual[e];
            double diff = Math.Abs(a - expected[e]);
            bool same = a.Equals(expected[e]);
            if (!same && (exact || !(diff <= rule.AbsoluteTolerance + (rule.RelativeTolerance * Math.Abs(expected[e])))))
            {
                string what = exact ? "labels must be equal" : $"|Δ| {diff:G3} breaks {rule}";
                return string.Create(CultureInfo.InvariantCulture, $"output '{name}' element {e} is {a:G9}, ONNX Runtime gives {expected[e]:G17} ({what})");
            }

            if (!same && diff > worst)
            {
                worst = diff;
                worstAt = name;
            }
        }

        return null;
    }

    private static double[] ToDoubles(DisposableNamedOnnxValue value, CompiledOutput info)
    {
        if (info.Kind == CompiledOutputKind.ZipMap)
        {
            var rows = new List<double>();
            foreach (NamedOnnxValue map in value.AsEnumerable<NamedOnnxValue>())
            {
                if (long.TryParse(info.Labels[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                {
                    IDictionary<long, float> d = map.AsDictionary<long, float>();
                    rows.AddRange(info.Labels.Select(l => (double)d[long.Parse(l, CultureInfo.InvariantCulture)]));
                }
                else
                {
                    IDictionary<string, float> d = map.AsDictionary<string, float>();
                    rows.AddRange(info.Labels.Select(l => (double)d[l]));
                }
            }

            return [.. rows];
        }

        return value.ElementType switch
        {
            TensorElementType.Float => [.. value.AsTensor<float>().Select(v => (double)v)],
            TensorElementType.Int64 => [.. value.AsTensor<long>().Select(v => (double)v)],
            TensorElementType.String => [.. value.AsTensor<string>().Select(s => (double)Array.IndexOf([.. info.Labels], s))],
            _ => throw new ModelLoadException($"Output '{value.Name}' is {value.ElementType}, which the agreement check does not compare."),
        };
    }

    // The model's own reference rows first (NAME.input.bin beside NAME.onnx, single-input models), then
    // seeded generated rows: normal values at three scales, zeros, and for tree inputs the split thresholds
    // themselves and values just either side of them, so every branch direction is exercised.
    private static List<float[][]> Cases(CompiledModel model, AgreementRule rule, out int referenceCases)
    {
        var cases = new List<float[][]>();
        string reference = System.IO.Path.ChangeExtension(model.Path, ".input.bin");
        if (model.Inputs.Count == 1 && File.Exists(reference))
        {
            float[] all = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(reference)).ToArray();
            int size = model.Inputs[0].ElementCount;
            for (int at = 0; at + size <= all.Length && cases.Count < rule.ReferenceCases; at += size)
            {
                cases.Add([all[at..(at + size)]]);
            }
        }

        referenceCases = cases.Count;
        var rng = new Random(20240607);
        for (int c = 0; c < rule.GeneratedCases; c++)
        {
            var inputs = new float[model.Inputs.Count][];
            for (int i = 0; i < inputs.Length; i++)
            {
                ModelTensor t = model.Inputs[i];
                inputs[i] = new float[t.ElementCount];
                float scale = (c % 3) switch { 0 => 0.1f, 1 => 1f, _ => 10f };
                IReadOnlyList<float[]>? probes = model.Probes.GetValueOrDefault(t.Name);
                int width = (int)t.Shape[^1];
                for (int e = 0; e < inputs[i].Length; e++)
                {
                    float[]? thresholds = probes is not null && e % width < probes.Count ? probes[e % width] : null;
                    if (c == 0)
                    {
                        inputs[i][e] = 0f;
                    }
                    else if (thresholds is { Length: > 0 })
                    {
                        float th = thresholds[rng.Next(thresholds.Length)];
                        inputs[i][e] = (c % 4) switch { 0 => th, 1 => th + (MathF.Abs(th) * 1e-3f) + 1e-3f, 2 => th - (MathF.Abs(th) * 1e-3f) - 1e-3f, _ => th + ((float)(rng.NextDouble() - 0.5) * 2f * (MathF.Abs(th) + 1f)) };
                    }
                    else
                    {
                        inputs[i][e] = scale * Normal(rng);
                    }
                }
            }

            cases.Add(inputs);
        }

        return cases;
    }

    private static float Normal(Random rng) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
}
