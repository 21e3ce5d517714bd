using System.Globalization;
using System.Text.Json;
using Engine.Inference;

namespace Engine.Tests;

/// <summary>
/// Every model in ../shared/data/onnx-* (ONNX's operator tests, scikit-learn, LightGBM and XGBoost
/// exports, a trained bidirectional LSTM) through <see cref="OnnxModel"/>, against the reference outputs
/// in each folder's reference.json: |expected − actual| ≤ atol + rtol·|expected|, NaN only where NaN is
/// expected. String class labels are compared through the tensor's <see cref="ModelTensor.ClassLabels"/>.
/// </summary>
[TestFixture]
public sealed class ConformanceTests
{
    // onnx-tree-models' references were recorded from ONNX Runtime itself (a regression baseline) and carry no tolerance.
    private const double BaselineRtol = 1e-5;
    private const double BaselineAtol = 1e-6;

    public static IEnumerable<TestCaseData> Cases()
    {
        string data = Path.Combine(TestData.Shared, "data");
        if (!Directory.Exists(data))
        {
            // The body skips with the reason; NUnit needs one case to run it.
            yield return new TestCaseData("(shared data absent)", string.Empty).SetName("Conformance(shared data absent)");
            yield break;
        }

        foreach (string folder in Directory.GetDirectories(data, "onnx-*").Order(StringComparer.Ordinal))
        {
            foreach (string reference in Directory.GetFiles(folder, "reference.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                string name = Path.GetRelativePath(data, Path.GetDirectoryName(reference)!);
                yield return new TestCaseData(name, string.Empty).SetName($"Conformance({name})");
            }

            string baseline = Path.Combine(folder, "ort_reference.json");
            if (File.Exists(baseline))
            {
                using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(baseline));
                foreach (JsonProperty model in doc.RootElement.EnumerateObject())
                {
                    string name = Path.Combine(Path.GetFileName(folder), model.Name);
                    yield return new TestCaseData(name, model.Name).SetName($"Conformance({name})");
                }
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void ModelReproducesItsReferenceOutputs(string name, string baselineKey)
    {
        string root = Path.Combine(TestData.Shared, "data");
        string modelPath;
        JsonElement spec;
        double rtol, atol;
        if (baselineKey.Length == 0)
        {
            string reference = TestData.SharedFile("data", name, "reference.json");
            spec = JsonDocument.Parse(File.ReadAllText(reference)).RootElement;
            modelPath = Path.Combine(Path.GetDirectoryName(reference)!, spec.GetProperty("model").GetString()!);
            rtol = spec.GetProperty("tolerance").GetProperty("rtol").GetDouble();
            atol = spec.GetProperty("tolerance").GetProperty("atol").GetDouble();
        }
        else
        {
            string baseline = TestData.SharedFile("data", Path.GetDirectoryName(name)!, "ort_reference.json");
            spec = JsonDocument.Parse(File.ReadAllText(baseline)).RootElement.GetProperty(baselineKey);
            modelPath = Path.Combine(root, name);
            (rtol, atol) = (BaselineRtol, BaselineAtol);
        }

        int compared = 0;
        OnnxModel? model = null;
        string? loadedFor = null;
        try
        {
            foreach (JsonElement c in spec.GetProperty("cases").EnumerateArray())
            {
                // Cases of one model usually share input shapes: load once per distinct set of shapes.
                ModelContract contract = FedInputs(c, name);
                string shapes = string.Join(";", contract.Inputs.Select(i => i.TypeText));
                if (shapes != loadedFor)
                {
                    model?.Dispose();
                    model = OnnxModel.Load(modelPath, new ModelOptions { Contract = contract, WarmupRuns = 1 });
                    loadedFor = shapes;
                }

                foreach (JsonElement input in c.GetProperty("inputs").EnumerateArray())
                {
                    ModelTensor tensor = model!.Input(input.GetProperty("name").GetString()!);
                    double[] values = Numbers(input.GetProperty("data"));
                    Assert.That(values, Has.Length.EqualTo(tensor.ElementCount), $"{name}: input '{tensor.Name}' size");
                    for (int i = 0; i < values.Length; i++)
                    {
                        tensor.SetFromDouble(i, values[i]);
                    }
                }

                model!.Run();
                foreach (JsonElement expected in c.GetProperty("outputs").EnumerateArray())
                {
                    ModelTensor actual = model.Output(expected.GetProperty("name").GetString()!);
                    string what = $"{name} case {c.GetProperty("id")} output '{actual.Name}'";
                    CompareOutput(actual, expected, rtol, atol, what);
                    compared++;
                }
            }
        }
        finally
        {
            model?.Dispose();
        }

        Assert.That(compared, Is.GreaterThan(0), $"{name}: no output compared");
    }

    /// <summary>The inputs of a reference case as a contract: names, element types and the exact shapes fed.</summary>
    private static ModelContract FedInputs(JsonElement c, string source)
    {
        var inputs = new List<TensorContract>();
        foreach (JsonElement input in c.GetProperty("inputs").EnumerateArray())
        {
            string dtype = input.GetProperty("dtype").GetString()!;
            Assert.That(ModelElementTypes.TryParse(dtype, out ModelElementType type), Is.True, $"{source}: input dtype {dtype}");
            inputs.Add(new TensorContract(input.GetProperty("name").GetString()!, type, [.. input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())]));
        }

        return new ModelContract(inputs, [], $"reference case of {source}");
    }

    private static void CompareOutput(ModelTensor actual, JsonElement expected, double rtol, double atol, string what)
    {
        JsonElement data = expected.GetProperty("data");
        Assert.That(data.GetArrayLength(), Is.EqualTo(actual.ElementCount), $"{what}: {actual.TypeText} against reference shape {expected.GetProperty("shape")}");
        if (expected.GetProperty("dtype").GetString() == "string")
        {
            // String classes: the engine binds class indices and names them through ClassLabels.
            Assert.That(actual.ClassLabels, Is.Not.Null, $"{what}: string labels without ClassLabels");
            string[] labels = [.. Enumerable.Range(0, actual.ElementCount).Select(i => actual.ClassLabels![(int)actual.GetAsDouble(i)])];
            Assert.That(labels, Is.EqualTo(data.EnumerateArray().Select(e => e.GetString()).ToArray()), what);
            return;
        }

        double[] want = Numbers(data);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < want.Length; i++)
        {
            double got = actual.GetAsDouble(i);
            if (double.IsNaN(want[i]) || double.IsInfinity(want[i]))
            {
                Assert.That(got, Is.EqualTo(want[i]), $"{what}[{i}]");
                continue;
            }

            double excess = Math.Abs(got - want[i]) - (atol + (rtol * Math.Abs(want[i])));
            if (!(excess <= worst))
            {
                worst = double.IsNaN(excess) ? double.PositiveInfinity : excess;
                at = i;
            }
        }

        Assert.That(at, Is.EqualTo(-1), () => $"{what}: element [{at}] is {actual.GetAsDouble(at).ToString("R", CultureInfo.InvariantCulture)}, expected {want[at].ToString("R", CultureInfo.InvariantCulture)} (atol {atol}, rtol {rtol})");
    }

    private static double[] Numbers(JsonElement data) => [.. data.EnumerateArray().Select(e => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String => e.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            string s => double.Parse(s, CultureInfo.InvariantCulture),
            null => double.NaN,
        },
        JsonValueKind.True => 1,
        JsonValueKind.False => 0,
        _ => throw new FormatException($"unexpected reference value {e}"),
    })];
}
