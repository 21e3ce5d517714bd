using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Engine.Inference;
using Engine.Inference.Compiled;

namespace Engine.Tests;

/// <summary>
/// The compiled path against independent references: PyTorch's outputs for ../shared/models, ONNX's own
/// operator tests, scikit-learn / LightGBM / XGBoost predictions, and ONNX Runtime's recorded outputs.
/// </summary>
[TestFixture]
public sealed class CompiledReferenceTests
{
    private static readonly string[] s_windowModels = ["mlp_32", "linear_32", "multihead_16", "gru_32x8", "lstm_32x8"];

    public static IEnumerable<string> SharedModels() => s_windowModels;

    [TestCaseSource(nameof(SharedModels))]
    public void SharedModelMatchesPyTorchOnTheCompiledPath(string name)
    {
        JsonElement m = SharedModel(name);
        string dir = Path.GetDirectoryName(TestData.SharedFile("models", "models.json"))!;
        double tolerance = m.GetProperty("tolerance_abs").GetDouble();
        JsonElement input = m.GetProperty("input");
        int batch = input.GetProperty("shape")[0].GetInt32();
        using CompiledModel model = Compile(Path.Combine(dir, m.GetProperty("file").GetString()!), new ModelOptions { BatchSize = batch });
        ReadFloats(Path.Combine(dir, input.GetProperty("file").GetString()!)).CopyTo(model.Input(input.GetProperty("name").GetString()!).Span);
        model.Run();

        float[] expected = ReadFloats(Path.Combine(dir, m.GetProperty("outputs_file").GetString()!));
        int offset = 0;
        foreach (JsonElement o in m.GetProperty("outputs").EnumerateArray())
        {
            ModelTensor output = model.Output(o.GetProperty("name").GetString()!);
            AssertClose(output.Span, expected.AsSpan(offset, output.ElementCount), tolerance, 0, $"{name}.{output.Name}");
            offset += output.ElementCount;
        }

        Assert.That(offset, Is.EqualTo(expected.Length), "every reference output compared");
    }

    [TestCase("gru_step_8x32")]
    [TestCase("lstm_step_8x32")]
    public void StepModelSteppedThroughTheWindowMatchesTheWindowModel(string name)
    {
        JsonElement m = SharedModel(name);
        string dir = Path.GetDirectoryName(TestData.SharedFile("models", "models.json"))!;
        const int Batch = 64, Steps = 32, Features = 8;
        using CompiledModel model = Compile(Path.Combine(dir, m.GetProperty("file").GetString()!), new ModelOptions { BatchSize = Batch });
        float[] window = ReadFloats(Path.Combine(dir, name.Replace("_step_8x32", "_32x8", StringComparison.Ordinal) + ".input.bin"));
        string[] states = [.. m.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("name").GetString()!).Where(n => n != "x")];
        foreach (string s in states)
        {
            model.Input(s).Span.Clear();
        }

        for (int t = 0; t < Steps; t++)
        {
            for (int b = 0; b < Batch; b++)
            {
                window.AsSpan(((b * Steps) + t) * Features, Features).CopyTo(model.Input("x").Span.Slice(b * Features, Features));
            }

            model.Run();
            foreach (string s in states)
            {
                model.Output(s.Replace("_in", "_out", StringComparison.Ordinal)).Span.CopyTo(model.Input(s).Span);
            }
        }

        AssertClose(model.Output("score").Span, ReadFloats(Path.Combine(dir, m.GetProperty("outputs_file").GetString()!)), m.GetProperty("tolerance_abs").GetDouble(), 0, $"{name} after {Steps} steps");
    }

    public static IEnumerable<TestCaseData> ReferenceCases()
    {
        (string Folder, string[] Names)[] sets =
        [
            ("onnx-backend-tests", ["test_add_bcast", "test_gemm_all_attributes", "test_gemm_default_vector_bias", "test_matmul_2d", "test_relu", "test_sigmoid", "test_tanh", "test_softmax_example"]),
            ("onnx-tract-cases", ["xgboost_regressor_tree", "xgboost_classifier_tree"]),
            ("onnx-sklearn-2018", ["SklearnRegDecisionTreeRegressor", "SklearnRegGradientBoostingRegressor", "SklearnRegRandomForestRegressor", "SklearnMclRandomForestClassifier", "SklearnBinGradientBoostingClassifier", "SklearnLinearRegression-Dec4", "SklearnRidge-Dec4", "SklearnStandardScalerFloat32", "SklearnLogitisticRegressionBinary"]),
        ];
        foreach ((string folder, string[] names) in sets)
        {
            foreach (string name in names)
            {
                yield return new TestCaseData(folder, name).SetName($"CompiledMatchesReference({folder}/{name})");
            }
        }
    }

    [TestCaseSource(nameof(ReferenceCases))]
    public void CompiledMatchesReference(string folder, string name)
    {
        string json = TestData.SharedFile("data", folder, name, "reference.json");
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        JsonElement tolerance = doc.RootElement.GetProperty("tolerance");
        RunCases(Path.Combine(Path.GetDirectoryName(json)!, "model.onnx"), doc.RootElement.GetProperty("cases"), tolerance.GetProperty("atol").GetDouble(), tolerance.GetProperty("rtol").GetDouble(), $"{folder}/{name}");
    }

    [TestCase("pipeline_lightgbm.onnx")]
    [TestCase("pipeline_xgboost.onnx")]
    [TestCase("rf_iris.onnx")]
    [TestCase("test_xgb.onnx")]
    public void CompiledTreesReproduceOnnxRuntimesRecordedOutputs(string file)
    {
        string json = TestData.SharedFile("data", "onnx-tree-models", "ort_reference.json");
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        RunCases(Path.Combine(Path.GetDirectoryName(json)!, file), doc.RootElement.GetProperty(file).GetProperty("cases"), 1e-5, 1e-5, file);
    }

    [TestCase("test_gru_defaults", "runtime weights")]
    [TestCase("test_lstm_defaults", "runtime weights")]
    [TestCase("test_layer_normalization_2d_axis1", "'LayerNormalization'")]
    [TestCase("test_ai_onnx_ml_binarizer", "'Binarizer'")]
    [TestCase("test_ai_onnx_ml_tree_ensemble_single_tree", "float64")]
    public void OperatorTestsTheCompiledPathDoesNotTakeAreRefusedWithTheReason(string name, string reason)
    {
        string path = TestData.SharedFile("data", "onnx-backend-tests", name, "model.onnx");
        Assert.That(ModelCompiler.TryCompile(path, null, out CompiledModel? model, out string whyNot), Is.False, $"{name} compiled: {model?.Describe()}");
        Assert.That(whyNot, Does.Contain(reason));
    }

    private static void RunCases(string modelPath, JsonElement cases, double atol, double rtol, string what)
    {
        int compared = 0;
        foreach (JsonElement c in cases.EnumerateArray())
        {
            JsonElement[] inputs = [.. c.GetProperty("inputs").EnumerateArray()];
            int batch = inputs[0].GetProperty("shape").GetArrayLength() > 1 ? inputs[0].GetProperty("shape")[0].GetInt32() : 1;
            using CompiledModel model = Compile(modelPath, new ModelOptions { BatchSize = batch, WarmupRuns = 0 });
            foreach (JsonElement i in inputs)
            {
                Floats(i.GetProperty("data"), []).CopyTo(model.Input(i.GetProperty("name").GetString()!).Span);
            }

            model.Run();
            foreach (JsonElement o in c.GetProperty("outputs").EnumerateArray())
            {
                string name = o.GetProperty("name").GetString()!;
                int index = model.Outputs.ToList().FindIndex(t => t.Name == name);
                Assert.That(index, Is.GreaterThanOrEqualTo(0), $"{what}: no output '{name}'; outputs {model.DescribeOutputs()}");
                float[] expected = Floats(o.GetProperty("data"), model.OutputInfo[index].Labels);
                bool label = model.OutputInfo[index].Kind is CompiledOutputKind.Int64Label or CompiledOutputKind.StringLabel;
                AssertClose(model.Outputs[index].Span, expected, label ? 0 : atol, label ? 0 : rtol, $"{what} case {c.GetProperty("id")} output '{name}'");
                compared++;
            }
        }

        Assert.That(compared, Is.GreaterThan(0), $"{what}: nothing compared");
    }

    internal static CompiledModel Compile(string path, ModelOptions options)
    {
        bool ok = ModelCompiler.TryCompile(path, options, out CompiledModel? model, out string whyNot);
        Assert.That(ok, Is.True, $"'{path}' did not compile: {whyNot}");
        return model!;
    }

    internal static JsonElement SharedModel(string name)
    {
        string json = TestData.SharedFile("models", "models.json");
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        return doc.RootElement.GetProperty("models").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name).Clone();
    }

    internal static float[] ReadFloats(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

    // Flattened reference data: numbers, the non-finite strings, and string labels (as their index in labels).
    private static float[] Floats(JsonElement data, IReadOnlyList<string> labels)
    {
        var list = new List<float>();
        Flatten(data, list, labels);
        return [.. list];
    }

    private static void Flatten(JsonElement e, List<float> into, IReadOnlyList<string> labels)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (JsonElement x in e.EnumerateArray())
                {
                    Flatten(x, into, labels);
                }

                break;
            case JsonValueKind.Number:
                into.Add((float)e.GetDouble());
                break;
            case JsonValueKind.String:
                string s = e.GetString()!;
                into.Add(s switch
                {
                    "NaN" => float.NaN,
                    "Infinity" => float.PositiveInfinity,
                    "-Infinity" => float.NegativeInfinity,
                    _ => labels.ToList().IndexOf(s) is int i and >= 0 ? i : throw new AssertionException($"label '{s}' is not one of {string.Join(", ", labels)}"),
                });
                break;
            default:
                throw new AssertionException($"unexpected JSON {e.ValueKind}");
        }
    }

    internal static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double atol, double rtol, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what);
        for (int i = 0; i < actual.Length; i++)
        {
            double diff = Math.Abs((double)actual[i] - expected[i]);
            if (!actual[i].Equals(expected[i]) && !(diff <= atol + (rtol * Math.Abs(expected[i]))))
            {
                Assert.Fail(string.Create(CultureInfo.InvariantCulture, $"{what}: element {i} is {actual[i]:G9}, expected {expected[i]:G9} (|Δ| {diff:G3} > {atol:G3} + {rtol:G3}·|expected|)"));
            }
        }
    }
}
