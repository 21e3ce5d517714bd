using System.Runtime.InteropServices;
using Engine.Inference;
using Engine.Inference.Compiled;

namespace Engine.Tests;

/// <summary>Windowed models, stateful step models and micro-batching, against the PyTorch references in ../shared/models.</summary>
[TestFixture]
public sealed class SequenceModelTests
{
    private const int Sequences = 64;
    private const int Steps = 32;
    private const int Features = 8;
    private const double Tolerance = 1e-4;

    [Test]
    public void FeatureWindowKeepsTheLatestRowsContiguousOldestFirst()
    {
        using var window = new FeatureWindow(4, 2);
        Assert.That(window.Latest.ToArray(), Is.All.Zero);
        for (int r = 1; r <= 11; r++)
        {
            window.Push([r, -r]);
            float[] expected = [.. Enumerable.Range(r - 3, 4).SelectMany(k => k < 1 ? new float[] { 0, 0 } : [k, -k])];
            Assert.That(window.Latest.ToArray(), Is.EqualTo(expected), $"after row {r}");
            Assert.That(window.IsFull, Is.EqualTo(r >= 4));
        }

        window.Clear();
        Assert.That(window.Rows, Is.Zero);
        Assert.That(window.Latest.ToArray(), Is.All.Zero);
        Assert.That(() => window.Push([1, 2, 3]), Throws.ArgumentException);
    }

    [TestCase("gru_32x8")]
    [TestCase("lstm_32x8")]
    [TestCase("tcn_32x8")]
    public void WindowedModelFedRowByRowMatchesPyTorch(string name)
    {
        float[] window = Floats(name + ".input.bin");
        float[] expected = Floats(name + ".output.bin");
        using OnnxModel model = OnnxModel.Load(TestData.SharedFile("models", name + ".onnx"));
        using var windowed = new WindowedModel(model);
        Assert.That((windowed.Length, windowed.Features), Is.EqualTo((Steps, Features)));

        // Each reference sequence is one instrument; rows arrive interleaved across instruments, as ticks do.
        for (int t = 0; t < Steps; t++)
        {
            for (int b = 0; b < Sequences; b++)
            {
                windowed.Push(b, window.AsSpan(((b * Steps) + t) * Features, Features));
                bool ran = windowed.TryRun(b);
                Assert.That(ran, Is.EqualTo(t == Steps - 1), $"instrument {b} runs only with a full window");
                if (ran)
                {
                    Assert.That(windowed.Outputs[0].Span[0], Is.EqualTo(expected[b]).Within(Tolerance), $"{name} sequence {b}");
                }
            }
        }
    }

    [Test]
    public void EveryWindowStartReadsTheRowsWhereTheyLie()
    {
        using OnnxModel model = OnnxModel.Load(TestData.SharedFile("models", "gru_32x8.onnx"));
        using var windowed = new WindowedModel(model);
        ModelTensor input = model.Input("window");
        var rng = new Random(5);
        float[] row = new float[Features];
        for (int r = 0; r < (3 * Steps) + 5; r++)
        {
            for (int f = 0; f < Features; f++)
            {
                row[f] = (float)((rng.NextDouble() * 2) - 1);
            }

            windowed.Push(7, row);
            if (!windowed.TryRun(7))
            {
                continue;
            }

            float bound = windowed.Outputs[0].Span[0];
            // The same window copied into the model's own input and run through the default binding.
            windowed.Window(7).CopyTo(input.Span);
            model.Run();
            Assert.That(bound, Is.EqualTo(model.Outputs[0].Span[0]), $"row {r}: the binding of start {r % Steps} reads the latest window");
        }
    }

    [TestCase("gru_step_8x32", "gru_32x8")]
    [TestCase("lstm_step_8x32", "lstm_32x8")]
    public void StepModelSteppedThroughTheWindowReproducesTheWindowModel(string step, string window)
    {
        float[] rows = Floats(window + ".input.bin");
        float[] expected = Floats(window + ".output.bin");
        Assert.That(Floats(step + ".output.bin"), Is.EqualTo(expected).Within(Tolerance), "the step model's reference is the window model's");
        using OnnxModel model = OnnxModel.Load(TestData.SharedFile("models", step + ".onnx"));
        using var recurrent = new RecurrentModel(model);
        Assert.That(recurrent.StepInput.Name, Is.EqualTo("x"));
        Assert.That(recurrent.StatePairs.Select(p => p.Input), Is.EqualTo(step.StartsWith("lstm", StringComparison.Ordinal) ? new[] { "h_in", "c_in" } : new[] { "h_in" }));

        float[] scores = RunInterleaved(recurrent, rows);
        for (int b = 0; b < Sequences; b++)
        {
            Assert.That(scores[b], Is.EqualTo(expected[b]).Within(Tolerance), $"{step} sequence {b} after {Steps} steps");
            Assert.That(recurrent.Steps(b), Is.EqualTo(Steps));
        }

        // Reset brings each instrument back to the zero state: the same steps give the same scores.
        for (int b = 0; b < Sequences; b++)
        {
            recurrent.Reset(b);
            Assert.That(recurrent.State(b, "h_in").ToArray(), Is.All.Zero);
        }

        Assert.That(RunInterleaved(recurrent, rows), Is.EqualTo(scores));
    }

    [TestCase("gru_step_8x32", "gru_32x8")]
    [TestCase("lstm_step_8x32", "lstm_32x8")]
    public void CompiledStepModelKeepsPerInstrumentStateAndReproducesTheWindowModel(string step, string window)
    {
        float[] rows = Floats(window + ".input.bin");
        float[] expected = Floats(window + ".output.bin");
        ModelSelection selection = ModelLoader.Load(TestData.SharedFile("models", step + ".onnx"), new ModelOptions { Backend = ModelBackend.Compiled });
        using InferenceModel model = selection.Model;
        Assert.That(model, Is.TypeOf<CompiledModel>(), selection.Reason);
        using var recurrent = new RecurrentModel(model);

        // 64 instruments stepped in turn: each one's state must be its own (copied in and out of the kernel).
        float[] scores = RunInterleaved(recurrent, rows);
        for (int b = 0; b < Sequences; b++)
        {
            Assert.That(scores[b], Is.EqualTo(expected[b]).Within(Tolerance), $"{step} compiled, sequence {b} after {Steps} steps");
        }

        recurrent.Reset(5);
        Assert.That(recurrent.State(5, "h_in").ToArray(), Is.All.Zero);

        float[] row = [1, 2, 3, 4, 5, 6, 7, 8];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20_000; i++)
        {
            recurrent.Step(i & 63, row);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "compiled recurrent steps allocate nothing");
    }

    [Test]
    public void RecurrentStateIsTheModelsOutputSwappedByBinding()
    {
        using OnnxModel model = OnnxModel.Load(TestData.SharedFile("models", "gru_step_8x32.onnx"));
        using var recurrent = new RecurrentModel(model);
        float[] x = [0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f, 0.7f, -0.8f];

        // The same step run by hand: h_in zeros, then h_in = h_out.
        x.CopyTo(model.Input("x").Span);
        model.Input("h_in").Span.Clear();
        model.Run();
        float[] h1 = model.Output("h_out").Span.ToArray();
        h1.CopyTo(model.Input("h_in").Span);
        model.Run();
        float[] h2 = model.Output("h_out").Span.ToArray();

        recurrent.Step(3, x);
        Assert.That(recurrent.State(3, "h_in").ToArray(), Is.EqualTo(h1));
        recurrent.Step(3, x);
        Assert.That(recurrent.State(3, "h_in").ToArray(), Is.EqualTo(h2));
        Assert.That(recurrent.State(4, "h_in").ToArray(), Is.Empty, "an instrument without steps has no state yet");
        Assert.That(() => recurrent.State(3, "x"), Throws.ArgumentException.With.Message.Contains("h_in"));
    }

    [Test]
    public void ModelWithoutStateIsRefusedAsRecurrent()
    {
        using OnnxModel model = OnnxModel.Load(TestData.SharedFile("models", "mlp_32.onnx"));
        Assert.That(() => new RecurrentModel(model), Throws.TypeOf<ModelLoadException>().With.Message.Contains("no state"));
        Assert.That(() => new WindowedModel(model), Throws.TypeOf<ModelLoadException>().With.Message.Contains("[1, window, features]"));
    }

    [Test]
    public void WindowedAndRecurrentRunsAllocateNothing()
    {
        using OnnxModel gru = OnnxModel.Load(TestData.SharedFile("models", "gru_32x8.onnx"));
        using OnnxModel step = OnnxModel.Load(TestData.SharedFile("models", "lstm_step_8x32.onnx"));
        using var windowed = new WindowedModel(gru);
        using var recurrent = new RecurrentModel(step);
        float[] row = [1, 2, 3, 4, 5, 6, 7, 8];
        for (int i = 0; i < 4; i++)
        {
            windowed.Prepare(i);
            recurrent.Prepare(i);
        }

        for (int i = 0; i < 200; i++)
        {
            windowed.Push(i & 3, row);
            windowed.TryRun(i & 3);
            recurrent.Step(i & 3, row);
        }

        int gen0 = GC.CollectionCount(0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20_000; i++)
        {
            row[i & 7] = i * 1e-4f;
            windowed.Push(i & 3, row);
            windowed.TryRun(i & 3);
            recurrent.Step(i & 3, row);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(GC.CollectionCount(0) - gen0, Is.Zero);
    }

    [Test]
    public void MicroBatchScoresEachRowAsASingleRunWould()
    {
        string path = TestData.SharedFile("models", "multihead_16.onnx");
        using OnnxModel single = OnnxModel.Load(path);
        using OnnxModel batched = OnnxModel.Load(path, new ModelOptions { BatchSize = 8 });
        using var batcher = new MicroBatcher(batched, TimeSpan.FromMicroseconds(50));
        Assert.That(batcher.Capacity, Is.EqualTo(8));

        var rng = new Random(9);
        float[][] rows = [.. Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, 16).Select(_ => (float)rng.NextDouble()).ToArray())];
        foreach (int k in new[] { 1, 3, 8 })
        {
            for (int r = 0; r < k; r++)
            {
                Assert.That(batcher.Add(rows[r], 1_000), Is.EqualTo(r));
            }

            Assert.That(batcher.Flush(), Is.EqualTo(k));
            for (int r = 0; r < k; r++)
            {
                rows[r].CopyTo(single.Input("features").Span);
                single.Run();
                Assert.That(batcher.Output(r, 0).ToArray(), Is.EqualTo(single.Output("direction").Span.ToArray()).Within(1e-6), $"batch of {k}, row {r}, direction");
                Assert.That(batcher.Output(r, 1)[0], Is.EqualTo(single.Output("ret").Span[0]).Within(1e-6), $"batch of {k}, row {r}, ret");
                Assert.That(batcher.InputRow(r).ToArray(), Is.EqualTo(rows[r]));
            }
        }

        Assert.That((batcher.Runs, batcher.RowsScored), Is.EqualTo((3L, 12L)));
        Assert.That(batcher.Flush(), Is.Zero, "nothing waiting, nothing run");
    }

    [Test]
    public void MicroBatchIsDueWhenFullOrPastItsDeadline()
    {
        using OnnxModel batched = OnnxModel.Load(TestData.SharedFile("models", "mlp_32.onnx"), new ModelOptions { BatchSize = 2 });
        using var batcher = new MicroBatcher(batched, TimeSpan.FromMicroseconds(10));
        float[] row = new float[32];
        Assert.That(batcher.IsDue(0), Is.False, "empty");
        batcher.Add(row, 1_000);
        Assert.That(batcher.IsDue(10_999), Is.False, "9.999 µs after the first row");
        Assert.That(batcher.IsDue(11_000), Is.True, "10 µs after the first row");
        batcher.Add(row, 1_001);
        Assert.That(batcher.IsDue(1_002), Is.True, "full");
        Assert.That(() => batcher.Add(row, 1_003), Throws.InvalidOperationException.With.Message.Contains("full"));
        batcher.Flush();

        int gen0 = GC.CollectionCount(0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20_000; i++)
        {
            row[i & 31] = i;
            batcher.Add(row, i);
            if (batcher.IsDue(i))
            {
                batcher.Flush();
            }
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(GC.CollectionCount(0) - gen0, Is.Zero);
    }

    [Test]
    public void MicroBatchNeedsADynamicBatch()
    {
        using OnnxModel fixedBatch = OnnxModel.Load(TestData.SharedFile("data", "onnx-sklearn-2018", "SklearnStandardScalerFloat32", "model.onnx"));
        Assert.That(() => new MicroBatcher(fixedBatch, TimeSpan.FromMicroseconds(10)), Throws.TypeOf<ModelLoadException>().With.Message.Contains("dynamic batch"));
    }

    private static float[] RunInterleaved(RecurrentModel recurrent, float[] rows)
    {
        float[] scores = new float[Sequences];
        for (int t = 0; t < Steps; t++)
        {
            for (int b = 0; b < Sequences; b++)
            {
                recurrent.Step(b, rows.AsSpan(((b * Steps) + t) * Features, Features));
                scores[b] = recurrent.Model.Output("score").Span[0];
            }
        }

        return scores;
    }

    private static float[] Floats(string file) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(TestData.SharedFile("models", file))).ToArray();
}
