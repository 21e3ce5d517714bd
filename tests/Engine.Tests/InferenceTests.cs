using System.Runtime.InteropServices;
using System.Text.Json;
using Engine.Features;
using Engine.Inference;

namespace Engine.Tests;

/// <summary>Every PyTorch export in ../shared/models through the engine's inference layer, against PyTorch's own outputs.</summary>
[TestFixture]
public sealed class InferenceTests
{
    public static IEnumerable<string> ModelNames()
    {
        string json = Path.Combine(TestData.Shared, "models", "models.json");
        if (!File.Exists(json))
        {
            // The test body skips with the reason; NUnit needs at least one case to run it.
            yield return "(shared models absent)";
            yield break;
        }

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        foreach (JsonElement m in doc.RootElement.GetProperty("models").EnumerateArray())
        {
            yield return m.GetProperty("name").GetString()!;
        }
    }

    [TestCaseSource(nameof(ModelNames))]
    public void ReferenceModelMatchesPyTorch(string name)
    {
        JsonElement m = Model(name);
        string dir = Path.GetDirectoryName(TestData.SharedFile("models", "models.json"))!;
        double tolerance = m.GetProperty("tolerance_abs").GetDouble();
        int batch = m.GetProperty("outputs")[0].GetProperty("shape")[0].GetInt32();
        using OnnxModel model = OnnxModel.Load(Path.Combine(dir, m.GetProperty("file").GetString()!), new ModelOptions { BatchSize = batch });
        float[] expected = ReadFloats(Path.Combine(dir, m.GetProperty("outputs_file").GetString()!));

        if (m.TryGetProperty("stateful", out JsonElement stateful) && stateful.GetBoolean())
        {
            StepThroughWindow(m, model, dir, expected, tolerance);
            return;
        }

        JsonElement input = m.GetProperty("input");
        float[] x = ReadFloats(Path.Combine(dir, input.GetProperty("file").GetString()!));
        ModelTensor bound = model.Input(input.GetProperty("name").GetString()!);
        Assert.That(bound.ElementCount, Is.EqualTo(x.Length), "input size");
        x.CopyTo(bound.Span);
        model.Run();

        int offset = 0;
        foreach (JsonElement o in m.GetProperty("outputs").EnumerateArray())
        {
            ModelTensor output = model.Output(o.GetProperty("name").GetString()!);
            AssertClose(output.Span, expected.AsSpan(offset, output.ElementCount), tolerance, $"{name}.{output.Name}");
            offset += output.ElementCount;
        }

        Assert.That(offset, Is.EqualTo(expected.Length), "every reference output compared");
    }

    [Test]
    public void RunWithBindingAllocatesNothing()
    {
        using OnnxModel model = OnnxModel.Load(Path.Combine(TestData.Samples, "demo.onnx"));
        model.Warmup(1000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100_000; i++)
        {
            model.Input("features").Span[0] = i;
            model.Run();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void ModelThatDoesNotFitTheSpecStopsStartUpNamingBothSides()
    {
        string modelPath = Path.Combine(TestData.Samples, "demo.onnx");
        using OnnxModel model = OnnxModel.Load(modelPath);
        FeatureSpec eight = FeatureSpec.Parse("""{ "input": "features", "features": [ """ + string.Join(",", Enumerable.Repeat("""{ "name": "spread_bps" }""", 8)) + "] }", "eight.json");
        Assert.That(() => FeatureModelBinding.Create(eight, model), Throws.TypeOf<ModelLoadException>()
            .With.Message.Contains("eight.json").And.Message.Contains("8 features").And.Message.Contains(modelPath).And.Message.Contains("[1, 9]"));

        FeatureSpec wrongName = FeatureSpec.Parse("""{ "input": "x", "features": [ { "name": "spread_bps" } ] }""", "wrong.json");
        Assert.That(() => FeatureModelBinding.Create(wrongName, model), Throws.TypeOf<ModelLoadException>()
            .With.Message.Contains("wrong.json").And.Message.Contains("input 'x'").And.Message.Contains("'features' float32 [1, 9]"));

        FeatureSpec wrongOutput = FeatureSpec.Parse("""{ "input": "features", "output": "alpha", "features": [ """ + string.Join(",", Enumerable.Repeat("""{ "name": "spread_bps" }""", 9)) + "] }", "out.json");
        Assert.That(() => FeatureModelBinding.Create(wrongOutput, model), Throws.TypeOf<ModelLoadException>().With.Message.Contains("'alpha'").And.Message.Contains("'score'"));
    }

    [Test]
    public void MissingModelFileIsAClearError() =>
        Assert.That(() => OnnxModel.Load("/nonexistent/model.onnx"), Throws.TypeOf<ModelLoadException>().With.Message.Contains("/nonexistent/model.onnx"));

    [Test]
    public void GarbageModelFileIsRefusedWithOrtsReason()
    {
        string path = Path.Combine(Path.GetTempPath(), $"garbage-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);
        try
        {
            Assert.That(() => OnnxModel.Load(path), Throws.TypeOf<ModelLoadException>().With.Message.Contains("ONNX Runtime refused").And.Message.Contains(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void ModelRecordsItsHashAndProvider()
    {
        string path = Path.Combine(TestData.Samples, "demo.onnx");
        using OnnxModel model = OnnxModel.Load(path);
        Assert.That(model.Sha256, Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)))));
        Assert.That(model.ExecutionProvider, Is.EqualTo("CPU"));
        Assert.That(model.Inputs.Single().Shape, Is.EqualTo(new long[] { 1, 9 }));
    }

    private static void StepThroughWindow(JsonElement m, OnnxModel model, string dir, float[] expected, double tolerance)
    {
        // The step model carries the window model's weights: feed the window model's input one time step at a time.
        string windowModel = m.GetProperty("name").GetString()!.Replace("_step_8x32", "_32x8", StringComparison.Ordinal);
        float[] window = ReadFloats(Path.Combine(dir, windowModel + ".input.bin"));
        const int Batch = 64, Steps = 32, Features = 8;
        Assert.That(window, Has.Length.EqualTo(Batch * Steps * Features));
        ModelTensor x = model.Input("x");
        string[] states = [.. m.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("name").GetString()!).Where(n => n != "x")];
        foreach (string s in states)
        {
            model.Input(s).Span.Clear();
        }

        for (int t = 0; t < Steps; t++)
        {
            for (int b = 0; b < Batch; b++)
            {
                window.AsSpan((((b * Steps) + t) * Features), Features).CopyTo(x.Span.Slice(b * Features, Features));
            }

            model.Run();
            foreach (string s in states)
            {
                model.Output(s.Replace("_in", "_out", StringComparison.Ordinal)).Span.CopyTo(model.Input(s).Span);
            }
        }

        AssertClose(model.Output("score").Span, expected, tolerance, $"{m.GetProperty("name").GetString()} after {Steps} steps");
    }

    private static JsonElement Model(string name)
    {
        string json = TestData.SharedFile("models", "models.json");
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
        return doc.RootElement.GetProperty("models").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name).Clone();
    }

    private static float[] ReadFloats(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

    private static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double tolerance, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = Math.Abs(actual[i] - expected[i]);
            if (d > worst)
            {
                worst = d;
                at = i;
            }
        }

        Assert.That(worst, Is.LessThanOrEqualTo(tolerance), $"{what}: max |diff| {worst:G3} at [{at}] exceeds {tolerance:G3}");
    }
}
