using Engine.Inference;
using Google.Protobuf;
using Onnx;

namespace Engine.Tests;

/// <summary>The ONNX Runtime path: providers, refusals, contracts, classifier outputs, optimized-model cache, allocation.</summary>
[TestFixture]
public sealed class OnnxRuntimeTests
{
    private readonly List<string> _written = [];

    private static string Demo => Path.Combine(TestData.Samples, "demo.onnx");

    [TearDown]
    public void DeleteWrittenModels()
    {
        foreach (string path in _written)
        {
            File.Delete(path);
        }

        _written.Clear();
    }

    [Test]
    public void ProvidersAreTriedInOrderAndEachFailureIsReported()
    {
        using OnnxModel model = OnnxModel.Load(Demo, new ModelOptions { Providers = [ExecutionProviderKind.Cuda, ExecutionProviderKind.TensorRt, ExecutionProviderKind.Cpu] });

        // The provider that runs is the first attempt that succeeded; every attempt before it failed with ORT's reason.
        int first = model.ProviderAttempts.ToList().FindIndex(a => a.Succeeded);
        Assert.That(first, Is.EqualTo(model.ProviderAttempts.Count - 1));
        Assert.That(model.ProviderAttempts[first].Provider, Is.EqualTo(model.Provider));
        Assert.That(model.ExecutionProvider, Is.EqualTo(ExecutionProviders.Name(model.Provider)));
        for (int i = 0; i < first; i++)
        {
            Assert.That(model.ProviderAttempts[i].Error, Is.Not.Null.And.Not.Empty, model.ProviderAttempts[i].ToString());
        }

        if (model.Provider == ExecutionProviderKind.Cpu)
        {
            // No GPU libraries here: CUDA fails to load its library, and so does TensorRT, and the CPU runs the model.
            Assert.That(model.ProviderAttempts.Select(a => a.Provider), Is.EqualTo(new[] { ExecutionProviderKind.Cuda, ExecutionProviderKind.TensorRt, ExecutionProviderKind.Cpu }));
            Assert.That(model.ProviderAttempts[0].Error, Does.Contain("shared library").Or.Contain("cuda").IgnoreCase);
            Assert.That(model.ExecutionProvider, Is.EqualTo("CPU"));
        }

        model.Input("features").Span.Fill(1);
        model.Run();
        Assert.That(float.IsFinite(model.Outputs[0].Span[0]), Is.True);
    }

    [Test]
    public void LoadFallbacksAreExportedAsCountersWithTheirReason()
    {
        using OnnxModel model = OnnxModel.Load(Demo, new ModelOptions { Providers = [ExecutionProviderKind.Cuda, ExecutionProviderKind.Cpu] });
        var selection = new Engine.Inference.Compiled.ModelSelection(model, "ONNX Runtime", "test") { CompiledFallback = "compiled_disagreed" };
        using var telemetry = new Engine.Telemetry.LatencyTelemetry();
        Engine.Telemetry.EngineMetrics.RegisterModelLoad(telemetry.Counters, selection);
        string text = new Engine.Telemetry.PrometheusText().Render(telemetry).ToString();

        Assert.That(text, Does.Contain("engine_fallbacks_total{reason=\"compiled_disagreed\"} 1\n"));
        Assert.That(text, Does.Contain("engine_fallbacks_total{reason=\"compiled_unsupported\"} 0\n"));
        if (model.Provider == ExecutionProviderKind.Cpu)
        {
            Assert.That(text, Does.Contain("engine_fallbacks_total{reason=\"provider_cuda_failed\"} 1\n"), "no GPU here: CUDA failed, CPU runs it");
        }
        else
        {
            Assert.That(text, Does.Not.Contain("provider_cuda_failed"));
        }
    }

    [Test]
    public void OnlyUnavailableProvidersIsAClearErrorNamingEach()
    {
        try
        {
            using OnnxModel model = OnnxModel.Load(Demo, new ModelOptions { Providers = [ExecutionProviderKind.Cuda, ExecutionProviderKind.TensorRt] });
            Assert.Ignore($"A GPU provider is available here ({model.ExecutionProvider}): nothing to refuse.");
        }
        catch (ModelLoadException ex)
        {
            Assert.That(ex.Message, Does.Contain(Demo).And.Contain("CUDA: failed").And.Contain("TensorRT: failed"));
        }
    }

    [Test]
    public void EmptyProviderListIsAConfigurationError() =>
        Assert.That(() => OnnxModel.Load(Demo, new ModelOptions { Providers = [] }), Throws.TypeOf<ModelLoadException>().With.Message.Contains("Providers is empty"));

    [TestCase("FrobnicateTheBook", TensorProto.Types.DataType.Float, "FrobnicateTheBook", TestName = "UnknownOperatorIsRefusedNamingIt")]
    [TestCase("Identity", TensorProto.Types.DataType.String, "input 'x' is a tensor of string", TestName = "StringInputIsRefusedNamingTheType")]
    public void OneNodeModelIsRefusedNaming(string op, TensorProto.Types.DataType type, string named)
    {
        string path = WriteModel(op, g =>
        {
            g.Input.Add(Tensor("x", type, 1, 4));
            g.Output.Add(Tensor("y", type, 1, 4));
            g.Node.Add(Node(op, ["x"], ["y"]));
        });
        Assert.That(() => OnnxModel.Load(path), Throws.TypeOf<ModelLoadException>().With.Message.Contains(named).And.Message.Contains(path));
    }

    [Test]
    public void SequenceOutputIsRefusedNamingTheTypeAndTheOperator()
    {
        string path = WriteModel("sequence-out", g =>
        {
            g.Input.Add(Tensor("x", TensorProto.Types.DataType.Float, 1, 4));
            g.Output.Add(new ValueInfoProto
            {
                Name = "s",
                Type = new TypeProto { SequenceType = new TypeProto.Types.Sequence { ElemType = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } } } },
            });
            g.Node.Add(Node("SequenceConstruct", ["x", "x"], ["s"]));
        });
        Assert.That(() => OnnxModel.Load(path), Throws.TypeOf<ModelLoadException>()
            .With.Message.Contains("output 's' is a sequence of a tensor of Float").And.Message.Contains("SequenceConstruct"));
    }

    [Test]
    public void ContractMismatchNamesBothSides()
    {
        ModelContract Feeds(ModelElementType type, long[] shape, string name = "features", params TensorContract[] outputs) =>
            new([new TensorContract(name, type, shape)], outputs, "strategy 'alpha'");

        Assert.That(() => OnnxModel.Load(Demo, new ModelOptions { Contract = Feeds(ModelElementType.Float32, [1, 8]) }), Throws.TypeOf<ModelLoadException>()
            .With.Message.Contains("strategy 'alpha' feeds input 'features' as float32 [1, 8]").And.Message.Contains("is float32 [1, 9]").And.Message.Contains(Demo));
        Assert.That(() => OnnxModel.Load(Demo, new ModelOptions { Contract = Feeds(ModelElementType.Float64, [-1, 9]) }), Throws.TypeOf<ModelLoadException>()
            .With.Message.Contains("float64 [?, 9]").And.Message.Contains("float32 [1, 9]"));
        Assert.That(() => OnnxModel.Load(Demo, new ModelOptions { Contract = Feeds(ModelElementType.Float32, [1, 9], "x") }), Throws.TypeOf<ModelLoadException>()
            .With.Message.Contains("feeds input 'x'").And.Message.Contains("no such input").And.Message.Contains("'features' float32 [1, 9]"));
        Assert.That(() => OnnxModel.Load(Demo, new ModelOptions { Contract = new ModelContract([], [], "strategy 'alpha'") }), Throws.TypeOf<ModelLoadException>()
            .With.Message.Contains("input 'features' float32 [1, 9] is not fed by strategy 'alpha'"));
        Assert.That(() => OnnxModel.Load(Demo, new ModelOptions { Contract = Feeds(ModelElementType.Float32, [1, 9], "features", new TensorContract("score", ModelElementType.Float32, [1, 3])) }), Throws.TypeOf<ModelLoadException>()
            .With.Message.Contains("reads output 'score' as float32 [1, 3]").And.Message.Contains("is float32 [1, 1]"));

        using OnnxModel ok = OnnxModel.Load(Demo, new ModelOptions { Contract = Feeds(ModelElementType.Float32, [-1, 9], "features", new TensorContract("score", ModelElementType.Float32, [-1, 1])) });
        Assert.That(ok.Inputs[0].TypeText, Is.EqualTo("float32 [1, 9]"));
    }

    [Test]
    public void FedShapesResolveDynamicDimensionsAndOutputsFollow()
    {
        string path = TestData.SharedFile("models", "multihead_16.onnx");
        using OnnxModel model = OnnxModel.Load(path, new ModelOptions { Contract = new ModelContract([new TensorContract("features", ModelElementType.Float32, [4, 16])], []) });
        Assert.That(model.Input("features").TypeText, Is.EqualTo("float32 [4, 16]"));
        Assert.That(model.Output("direction").TypeText, Is.EqualTo("float32 [4, 3]"));
        Assert.That(model.Output("ret").TypeText, Is.EqualTo("float32 [4, 1]"));
        Assert.That(model.WarmupRunsDone, Is.EqualTo(new ModelOptions().WarmupRuns), "warm before Load returns");
    }

    [Test]
    public void ZipMapClassifierBindsItsProbabilitiesAsATensorWithClassLabels()
    {
        using OnnxModel model = OnnxModel.Load(TestData.SharedFile("data", "onnx-tree-models", "rf_iris.onnx"));
        ModelTensor probabilities = model.Output("output_probability");
        Assert.That(probabilities.TypeText, Is.EqualTo("float32 [1, 3]"));
        Assert.That(probabilities.ClassLabels, Is.EqualTo(new[] { "0", "1", "2" }));
        Assert.That(model.Output("output_label").TypeText, Is.EqualTo("int64 [1]"));
        Assert.That(model.Rewrites, Has.Count.EqualTo(1).And.Some.Contains("ZipMap removed"));

        float[] setosa = [5.1f, 3.5f, 1.4f, 0.2f];
        setosa.CopyTo(model.Input("float_input").Span);
        model.Run();
        Assert.That(model.Output("output_label").AsSpan<long>()[0], Is.Zero);
        Assert.That(probabilities.Span[0], Is.GreaterThan(0.9f));
        Assert.That(probabilities.Span[0] + probabilities.Span[1] + probabilities.Span[2], Is.EqualTo(1f).Within(1e-5));
    }

    [Test]
    public void StringClassLabelsAreBoundAsIndicesNamedByClassLabels()
    {
        using OnnxModel model = OnnxModel.Load(TestData.SharedFile("data", "onnx-sklearn-2018", "SklearnBinGradientBoostingClassifier", "model.onnx"));
        ModelTensor label = model.Output("label");
        Assert.That(label.TypeText, Is.EqualTo("int64 [1]"));
        Assert.That(label.ClassLabels, Is.EqualTo(new[] { "A", "B" }));
        Assert.That(model.Output("probabilities").ClassLabels, Is.EqualTo(new[] { "A", "B" }));
        Assert.That(model.Rewrites, Has.Count.EqualTo(2));
    }

    [Test]
    public void TensorOfAnotherTypeIsReadThroughAsSpanOnly()
    {
        using var t = new ModelTensor("label", [2], ModelElementType.Int64);
        t.AsSpan<long>()[1] = 7;
        Assert.That(t.GetAsDouble(1), Is.EqualTo(7));
        Assert.That(() => { _ = t.Span; }, Throws.InvalidOperationException.With.Message.Contains("int64 [2]"));
        Assert.That(() => { _ = t.AsSpan<int>(); }, Throws.InvalidOperationException);
        Assert.That(t.SizeInBytes, Is.EqualTo(16));
    }

    [Test]
    public void MultiOutputAndNonFloatOutputsAllocateNothingPerRun()
    {
        using OnnxModel multihead = OnnxModel.Load(TestData.SharedFile("models", "multihead_16.onnx"));
        using OnnxModel forest = OnnxModel.Load(TestData.SharedFile("data", "onnx-tree-models", "rf_iris.onnx"));
        multihead.Warmup(1000);
        forest.Warmup(1000);
        int gen0 = GC.CollectionCount(0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50_000; i++)
        {
            multihead.Input("features").Span[i & 15] = i;
            multihead.Run();
            forest.Input("float_input").Span[i & 3] = (i & 7) * 0.5f;
            forest.Run();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(GC.CollectionCount(0) - gen0, Is.Zero);
    }

    [Test]
    public void OptimizedModelCacheIsWrittenOnceThenRead()
    {
        string cache = Path.Combine(Path.GetTempPath(), $"engine-ort-cache-{Guid.NewGuid():N}");
        try
        {
            var options = new ModelOptions { OptimizedModelCache = cache };
            using OnnxModel first = OnnxModel.Load(Demo, options);
            Assert.That(first.OptimizedModelCacheHit, Is.False);
            Assert.That(Directory.GetFiles(cache), Has.Length.EqualTo(1).And.All.Contains(first.Sha256[..16]));

            using OnnxModel second = OnnxModel.Load(Demo, options);
            Assert.That(second.OptimizedModelCacheHit, Is.True);
            Assert.That(second.Sha256, Is.EqualTo(first.Sha256), "the hash is the source model's");
            float[] row = [1, -2, 3, 0.5f, -1, 2, 0.25f, 4, -3];
            row.CopyTo(first.Input("features").Span);
            row.CopyTo(second.Input("features").Span);
            first.Run();
            second.Run();
            Assert.That(second.Outputs[0].Span[0], Is.EqualTo(first.Outputs[0].Span[0]));
        }
        finally
        {
            Directory.Delete(cache, true);
        }
    }

    [Test]
    public void ExtraBindingsSwapBuffersAndRefuseMisfits()
    {
        using OnnxModel model = OnnxModel.Load(Demo);
        using var other = new ModelTensor("features", [1, 9]);
        using var wrong = new ModelTensor("features", [1, 8]);
        using var output = new ModelTensor("score", [1, 1]);
        OnnxBinding binding = model.CreateBinding([other], [output]);
        other.Span.Fill(1);
        model.Input("features").Span.Clear();
        model.Run(binding);
        float fromOther = output.Span[0];
        model.Run();
        Assert.That(model.Outputs[0].Span[0], Is.Not.EqualTo(fromOther), "the default binding reads the model's own zeroed input");

        Assert.That(() => model.CreateBinding([wrong], []), Throws.ArgumentException.With.Message.Contains("float32 [1, 8]").And.Message.Contains("float32 [1, 9]"));
        using OnnxModel stranger = OnnxModel.Load(Demo);
        Assert.That(() => stranger.Run(binding), Throws.ArgumentException);
    }

    /// <summary>Writes a one-node model (opset 17 and ai.onnx.ml 3) built by <paramref name="build"/> to a temporary file.</summary>
    private string WriteModel(string name, Action<GraphProto> build)
    {
        var graph = new GraphProto { Name = name };
        build(graph);
        var model = new ModelProto { IrVersion = 8, ProducerName = "engine-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 17 });
        string path = Path.Combine(Path.GetTempPath(), $"engine-{name}-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        _written.Add(path);
        return path;
    }

    private static ValueInfoProto Tensor(string name, TensorProto.Types.DataType type, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (long d in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    private static NodeProto Node(string op, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = op, Name = op.ToLowerInvariant() };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        return node;
    }
}
