using Engine.Inference;
using Engine.Inference.Compiled;
using Onnx;

namespace Engine.Tests;

/// <summary>The compiled path's loader (agreement with ONNX Runtime, fallback with a reason), allocation, and its leaf kernels.</summary>
[TestFixture]
public sealed class CompiledModelTests
{
    [TestCase("mlp_32")]
    [TestCase("linear_32")]
    [TestCase("multihead_16")]
    [TestCase("gru_32x8")]
    [TestCase("lstm_32x8")]
    [TestCase("gru_step_8x32")]
    [TestCase("lstm_step_8x32")]
    public void AutoPicksTheCompiledKernelWhenItAgreesWithOnnxRuntime(string name)
    {
        string path = TestData.SharedFile("models", name + ".onnx");
        ModelSelection s = ModelLoader.Load(path);
        using InferenceModel model = s.Model;
        Assert.That(s.Backend, Is.EqualTo("compiled"), s.Reason);
        Assert.That(model.ExecutionProvider, Is.EqualTo("compiled"));
        Assert.That(s.Reason, Does.Contain("agrees with ONNX Runtime").And.Contain("generated inputs"));
        Assert.That(model.Sha256, Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)))));
    }

    [Test]
    public void AutoChecksAgainstTheModelsOwnReferenceRowsWhenTheyAreBesideIt()
    {
        ModelSelection s = ModelLoader.Load(TestData.SharedFile("models", "mlp_32.onnx"));
        using InferenceModel model = s.Model;
        Assert.That(s.Reason, Does.Contain("64 reference and 48 generated inputs"));
    }

    [TestCase("onnx-tree-models", "rf_iris.onnx")]
    [TestCase("onnx-tree-models", "pipeline_lightgbm.onnx")]
    [TestCase("onnx-tree-models", "pipeline_xgboost.onnx")]
    [TestCase("onnx-tree-models", "test_xgb.onnx")]
    [TestCase("onnx-tract-cases", "xgboost_classifier_tree/model.onnx")]
    [TestCase("onnx-tract-cases", "xgboost_regressor_tree/model.onnx")]
    [TestCase("onnx-sklearn-2018", "SklearnBinGradientBoostingClassifier/model.onnx")]
    [TestCase("onnx-sklearn-2018", "SklearnMclRandomForestClassifier/model.onnx")]
    public void TreeEnsemblesAgreeWithOnnxRuntimesTreeEnsembleOnThresholdProbes(string folder, string file)
    {
        ModelSelection s = ModelLoader.Load(TestData.SharedFile(["data", folder, .. file.Split('/')]));
        using InferenceModel model = s.Model;
        Assert.That(s.Backend, Is.EqualTo("compiled"), s.Reason);
    }

    [Test]
    public void UnsupportedOperatorFallsBackToOnnxRuntimeNamingIt()
    {
        ModelSelection s = ModelLoader.Load(TestData.SharedFile("models", "tcn_32x8.onnx"));
        using InferenceModel model = s.Model;
        Assert.That(s.Backend, Is.EqualTo("ONNX Runtime"));
        Assert.That(model, Is.TypeOf<OnnxModel>());
        Assert.That(s.Reason, Does.Contain("operator 'Conv'").And.Contain("/c1/Conv"));
    }

    [Test]
    public void KernelThatDisagreesFallsBackToOnnxRuntimeSayingWhere()
    {
        // A rule no float kernel meets unless bit-identical: the dense sums round differently from MLAS.
        var exact = new AgreementRule(AbsoluteTolerance: -1, RelativeTolerance: 0);
        ModelSelection s = ModelLoader.Load(TestData.SharedFile("models", "mlp_32.onnx"), null, exact);
        using InferenceModel model = s.Model;
        Assert.That(s.Backend, Is.EqualTo("ONNX Runtime"));
        Assert.That(s.Reason, Does.Contain("disagreed").And.Contain("output 'score' element 0"));
    }

    [Test]
    public void CallerCanDeclineACompiledModelAndGetOnnxRuntimeWithItsReason()
    {
        ModelSelection s = ModelLoader.Load(TestData.SharedFile("models", "mlp_32.onnx"), null, null, m => m is CompiledModel ? "the stage binds this model through ONNX Runtime only" : null);
        using InferenceModel model = s.Model;
        Assert.That(model, Is.TypeOf<OnnxModel>());
        Assert.That(s.Reason, Is.EqualTo("ONNX Runtime: the compiled kernel agrees, but the stage binds this model through ONNX Runtime only"));
    }

    [Test]
    public void LoadingGruThroughTheLoaderOnOnnxRuntimeFlushesDenormalsOnTheLoadingThread()
    {
        string path = TestData.SharedFile("models", "gru_32x8.onnx");
        RequireDenormalControl();
        ModelSelection? s = null;
        bool? flushing = null;
        float product = -1;
        OnThread(() =>
        {
            // As the replay does for a windowed binding: the kernel agrees, the caller needs ORT.
            s = ModelLoader.Load(path, usable: m => m is CompiledModel ? "windowed models run through ONNX Runtime" : null);
            s.Model.Run();
            flushing = Engine.Native.DenormalMode.IsFlushingOnCurrentThread();
            product = NativeTests.DenormalProduct();
        });
        using InferenceModel model = s!.Model;
        Assert.That(model, Is.TypeOf<OnnxModel>(), s.Reason);
        Assert.That(model.Denormals is { Applied: true, Flushing: true }, Is.True, model.Denormals?.Detail);
        Assert.That(flushing, Is.True);
        Assert.That(NativeTests.Bits(product), Is.Zero);
    }

    [TestCase(ModelBackend.Ort)]
    [TestCase(ModelBackend.Auto)]
    public void ModelsLoadedWithDenormalsAsZeroFlushTheirOwnDenormalProducts(ModelBackend backend)
    {
        RequireDenormalControl();
        // y = x * 0.01 with x = 1e-38 (itself denormal): 0 with FTZ/DAZ, about 1e-40 without.
        GraphProto g = Graph("denormal", [("x", 4)], [("y", 4)]);
        var c = new TensorProto { Name = "c", DataType = (int)TensorProto.Types.DataType.Float };
        c.Dims.Add(4);
        c.FloatData.Add([0.01f, 0.01f, 0.01f, 0.01f]);
        g.Initializer.Add(c);
        AddNode(g, "Mul", ["x", "c"], ["y"]);
        string path = Save(g);
        try
        {
            float[] flushed = Run(path, new ModelOptions { Backend = backend }, out string flushedBackend);
            float[] kept = Run(path, new ModelOptions { Backend = backend, DenormalsAsZero = false }, out _);
            // As bits: this thread may itself flush denormals, and would then read a denormal as zero.
            Assert.That(flushed.Select(NativeTests.Bits), Is.All.Zero, flushedBackend);
            Assert.That(kept.Select(NativeTests.Bits), Is.All.Not.Zero, "the same model on a thread that keeps denormals");
            if (backend == ModelBackend.Ort)
            {
                Assert.That(flushedBackend, Is.EqualTo("ONNX Runtime"));
            }
        }
        finally
        {
            File.Delete(path);
        }

        static float[] Run(string path, ModelOptions options, out string backend)
        {
            float[] y = [];
            string b = string.Empty;
            OnThread(() =>
            {
                // A thread that starts without the mode, whatever the test runner's threads inherited.
                Engine.Native.DenormalMode.SetOnCurrentThread(false);
                ModelSelection s = ModelLoader.Load(path, options);
                using InferenceModel m = s.Model;
                // Parsed, not a literal: a method JIT-compiled on a flushing thread gets a denormal literal as 0.
                m.Inputs[0].Span.Fill(NativeTests.Tiny());
                m.Run();
                y = m.Outputs[0].Span.ToArray();
                b = s.Backend;
            });
            backend = b;
            return y;
        }
    }

    [Test]
    public void LabelsMustAgreeExactlyWhileValuesAgreeWithinTheRule()
    {
        var rule = new AgreementRule();
        double worst = 0;
        string at = "none";
        // At 1e6 the value rule allows |Δ| ≈ 100: a label off by one would pass it.
        Assert.That(Agreement.Compare("value", CompiledOutputKind.Tensor, [1_000_000f], [1_000_001d], rule, ref worst, ref at), Is.Null);
        Assert.That(Agreement.Compare("label", CompiledOutputKind.Int64Label, [1_000_000f], [1_000_001d], rule, ref worst, ref at), Does.Contain("labels must be equal").And.Contain("1000001"));
        Assert.That(Agreement.Compare("label", CompiledOutputKind.StringLabel, [2f], [1d], rule, ref worst, ref at), Does.Contain("labels must be equal"));
        Assert.That(Agreement.Compare("label", CompiledOutputKind.Int64Label, [16_777_216f], [16_777_217d], rule, ref worst, ref at), Is.Not.Null, "a label float32 rounds is not the same label");
        Assert.That(Agreement.Compare("label", CompiledOutputKind.Int64Label, [7f, 1_000_000f], [7d, 1_000_000d], rule, ref worst, ref at), Is.Null);
    }

    [Test]
    public void BackendCompiledRefusesAModelItCannotRunNamingTheOperator()
    {
        // Resolved outside the lambda: a skip (no ../shared) must not be taken for the exception under test.
        string tcn = TestData.SharedFile("models", "tcn_32x8.onnx");
        Assert.That(() => ModelLoader.Load(tcn, new ModelOptions { Backend = ModelBackend.Compiled }),
            Throws.TypeOf<ModelLoadException>().With.Message.Contains("Backend = Compiled").And.Message.Contains("'Conv'"));
    }

    [Test]
    public void BackendOrtLoadsOnnxRuntime()
    {
        ModelSelection s = ModelLoader.Load(TestData.SharedFile("models", "mlp_32.onnx"), new ModelOptions { Backend = ModelBackend.Ort });
        using InferenceModel model = s.Model;
        Assert.That(model, Is.TypeOf<OnnxModel>());
        Assert.That(s.Reason, Does.Contain("Backend = Ort"));
    }

    [TestCase("models/mlp_32.onnx")]
    [TestCase("models/gru_32x8.onnx")]
    [TestCase("models/lstm_step_8x32.onnx")]
    [TestCase("data/onnx-tree-models/rf_iris.onnx")]
    [TestCase("data/onnx-tract-cases/xgboost_classifier_tree/model.onnx")]
    public void RunAllocatesNothing(string file)
    {
        using CompiledModel model = CompiledReferenceTests.Compile(TestData.SharedFile(file.Split('/')), new ModelOptions());
        ModelTensor input = model.Inputs[0];
        model.Warmup(1000);
        int gen0 = GC.CollectionCount(0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200_000; i++)
        {
            input.Span[i % input.ElementCount] = i * 1e-5f;
            model.Run();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(GC.CollectionCount(0) - gen0, Is.Zero);
    }

    [Test]
    public void DemoModelCompilesToOneDotProduct()
    {
        using CompiledModel model = CompiledReferenceTests.Compile(Path.Combine(TestData.Samples, "demo.onnx"), new ModelOptions());
        Assert.That(model.Kernels, Has.Count.EqualTo(1));
        Assert.That(model.Kernels[0], Does.StartWith("dense 9→1"));
        Assert.That(model.Inputs.Single().Shape, Is.EqualTo(new long[] { 1, 9 }));
    }

    [Test]
    public void MatMulAddActivationChainsFuseIntoDenseLayersAndAgreeWithOnnxRuntime()
    {
        // features[batch, 20] → MatMul(20×37) → Add(bias) → Tanh → MatMul(37×5) → Add → Sigmoid → Softmax
        var rng = new Random(3);
        GraphProto g = Graph("fused", [("x", 20)], [("y", 5)]);
        AddNode(g, "MatMul", ["x", "w1"], ["m1"]);
        AddNode(g, "Add", ["m1", "b1"], ["a1"]);
        AddNode(g, "Tanh", ["a1"], ["t1"]);
        AddNode(g, "MatMul", ["t1", "w2"], ["m2"]);
        AddNode(g, "Add", ["b2", "m2"], ["a2"]);
        AddNode(g, "Sigmoid", ["a2"], ["s2"]);
        AddNode(g, "Softmax", ["s2"], ["y"]);
        g.Initializer.Add(Tensor("w1", [20, 37], rng));
        g.Initializer.Add(Tensor("b1", [37], rng));
        g.Initializer.Add(Tensor("w2", [37, 5], rng));
        g.Initializer.Add(Tensor("b2", [1, 5], rng));
        string path = Save(g);
        try
        {
            using CompiledModel model = CompiledReferenceTests.Compile(path, new ModelOptions { BatchSize = 3 });
            Assert.That(model.Kernels, Has.Count.EqualTo(3), string.Join("\n", model.Kernels));
            Assert.That(model.Kernels[0], Does.StartWith("dense 20→37 tanh ×3 rows"));
            Assert.That(model.Kernels[1], Does.StartWith("dense 37→5 sigmoid ×3 rows"));
            ModelSelection s = ModelLoader.Load(path, new ModelOptions { BatchSize = 3 });
            using InferenceModel selected = s.Model;
            Assert.That(s.Backend, Is.EqualTo("compiled"), s.Reason);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void BroadcastingElementwiseOperatorsAgreeWithOnnxRuntime()
    {
        // y = (x[batch, 3, 4] − c[4]) · d[3, 1]: both operands broadcast through index tables.
        var rng = new Random(5);
        GraphProto g = Graph("broadcast", [("x", 4)], [("y", 4)]);
        g.Input[0].Type.TensorType.Shape.Dim.Insert(1, new TensorShapeProto.Types.Dimension { DimValue = 3 });
        g.Output[0].Type.TensorType.Shape.Dim.Insert(1, new TensorShapeProto.Types.Dimension { DimValue = 3 });
        AddNode(g, "Sub", ["x", "c"], ["s"]);
        AddNode(g, "Mul", ["s", "d"], ["y"]);
        g.Initializer.Add(Tensor("c", [4], rng));
        g.Initializer.Add(Tensor("d", [3, 1], rng));
        string path = Save(g);
        try
        {
            ModelSelection s = ModelLoader.Load(path, new ModelOptions { BatchSize = 2 });
            using InferenceModel model = s.Model;
            Assert.That(s.Backend, Is.EqualTo("compiled"), s.Reason);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase("Relu")]
    [TestCase("None")]
    [TestCase("Sigmoid")]
    [TestCase("Tanh")]
    public void DenseRowsMatchANaiveProductForEveryShapeAndTail(string activationName)
    {
        var activation = Enum.Parse<Activation>(activationName); // Activation is internal: the case names it
        var rng = new Random(7);
        foreach (int n in new[] { 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 100 })
        {
            foreach (int k in new[] { 1, 2, 3, 8, 9, 31, 64 })
            {
                float[] w = [.. Enumerable.Range(0, n * k).Select(_ => (float)(rng.NextDouble() - 0.5))];
                float[] b = [.. Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5))];
                float[] x = [.. Enumerable.Range(0, k).Select(_ => (float)(rng.NextDouble() - 0.5))];
                float[] y = new float[n + 1];
                y[n] = 12345f; // the element after the row must survive
                using var weights = new DenseWeights(w, b, n, k);
                unsafe
                {
                    fixed (float* px = x, py = y)
                    {
                        weights.Row(px, py, activation);
                    }
                }

                for (int o = 0; o < n; o++)
                {
                    double expected = b[o];
                    for (int i = 0; i < k; i++)
                    {
                        expected += (double)w[(o * k) + i] * x[i];
                    }

                    double activated = activation switch
                    {
                        Activation.Relu => Math.Max(0, expected),
                        Activation.Sigmoid => 1 / (1 + Math.Exp(-expected)),
                        Activation.Tanh => Math.Tanh(expected),
                        _ => expected,
                    };
                    Assert.That(y[o], Is.EqualTo(activated).Within(1e-5), $"{activation} N={n} K={k} output {o}");
                }

                Assert.That(y[n], Is.EqualTo(12345f), $"N={n} K={k} wrote past the row");
            }
        }
    }

    [Test]
    public void ReluInTheDenseKernelKeepsNaNAndZeroesNegatives()
    {
        // ReLU is applied in registers on the wide path and as a scalar on the narrow one: both must agree
        // with ORT's Relu, which passes NaN through.
        foreach (int n in new[] { 2, 20, 64 })
        {
            const int k = 8;
            float[] w = new float[n * k];
            for (int o = 0; o < n; o++)
            {
                w[o * k] = o % 3 == 0 ? 1f : -1f;
            }

            float[] x = [float.NaN, 0, 0, 0, 0, 0, 0, 0];
            float[] x2 = [2, 0, 0, 0, 0, 0, 0, 0];
            float[] y = new float[n], y2 = new float[n];
            using var weights = new DenseWeights(w, null, n, k);
            unsafe
            {
                fixed (float* px = x, px2 = x2, py = y, py2 = y2)
                {
                    weights.Row(px, py, Activation.Relu);
                    weights.Row(px2, py2, Activation.Relu);
                }
            }

            Assert.That(y, Is.All.NaN, $"N={n}");
            for (int o = 0; o < n; o++)
            {
                Assert.That(y2[o], Is.EqualTo(o % 3 == 0 ? 2f : 0f), $"N={n} output {o}");
            }
        }
    }

    [TestCase("NONE", "L1", 3)]
    [TestCase("LOGISTIC", "L1", 2)]
    [TestCase("SOFTMAX", "MAX", 3)]
    [TestCase("SOFTMAX_ZERO", "L2", 4)]
    [TestCase("LOGISTIC", "L2", 1)]
    [TestCase("NONE", "MAX", 1)]
    public void LinearClassifiersAndNormalizersCompileAndAgreeWithOnnxRuntime(string transform, string norm, int classes)
    {
        // The loader runs the compiled model beside ONNX Runtime on generated inputs and keeps it only if every
        // output agrees (labels exactly): a wrong label rule or transform would make it fall back. (Not every
        // LOGISTIC model agrees: see LinearClassifierKernel.MlasLogistic on saturated scores.)
        var rng = new Random(classes);
        const int k = 5;
        int columns = classes == 1 ? 2 : classes;
        var g = new GraphProto { Name = $"linear-classifier-{transform}-{norm}" };
        g.Input.Add(Info("x", k));
        g.Output.Add(new ValueInfoProto { Name = "label", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Int64, Shape = BatchShape() } } });
        g.Output.Add(Info("probabilities", columns));
        var classifier = new NodeProto { OpType = "LinearClassifier", Name = "classifier", Domain = "ai.onnx.ml" };
        classifier.Input.Add("x");
        classifier.Output.Add(["label", "scores"]);
        classifier.Attribute.Add(new AttributeProto { Name = "coefficients", Type = AttributeProto.Types.AttributeType.Floats, Floats = { Enumerable.Range(0, classes * k).Select(_ => (float)(rng.NextDouble() - 0.5)) } });
        classifier.Attribute.Add(new AttributeProto { Name = "intercepts", Type = AttributeProto.Types.AttributeType.Floats, Floats = { Enumerable.Range(0, classes).Select(_ => (float)(rng.NextDouble() - 0.5)) } });
        classifier.Attribute.Add(new AttributeProto { Name = "classlabels_ints", Type = AttributeProto.Types.AttributeType.Ints, Ints = { Enumerable.Range(0, columns).Select(i => 10L + (7L * i)) } });
        classifier.Attribute.Add(new AttributeProto { Name = "post_transform", Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8(transform) });
        g.Node.Add(classifier);
        var normalizer = new NodeProto { OpType = "Normalizer", Name = "normalizer", Domain = "ai.onnx.ml" };
        normalizer.Input.Add("scores");
        normalizer.Output.Add("probabilities");
        normalizer.Attribute.Add(new AttributeProto { Name = "norm", Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8(norm) });
        g.Node.Add(normalizer);
        string path = Save(g, ml: true);
        try
        {
            ModelSelection s = ModelLoader.Load(path, new ModelOptions { BatchSize = 2 });
            using InferenceModel model = s.Model;
            Assert.That(s.Backend, Is.EqualTo("compiled"), s.Reason);
            var compiled = (CompiledModel)model;
            Assert.That(compiled.Kernels[0], Does.StartWith($"linear classifier 5→{classes}"));
            Assert.That(compiled.Kernels[1], Does.StartWith($"normalizer {norm}"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void TheLinearClassifiersLogisticIsOnnxRuntimesBitForBit()
    {
        // Identity coefficients make ORT's scores the inputs themselves, so its logistic can be read directly.
        var g = new GraphProto { Name = "logistic-probe" };
        g.Input.Add(Info("x", 3));
        g.Output.Add(new ValueInfoProto { Name = "label", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Int64, Shape = BatchShape() } } });
        g.Output.Add(Info("scores", 3));
        var classifier = new NodeProto { OpType = "LinearClassifier", Name = "classifier", Domain = "ai.onnx.ml" };
        classifier.Input.Add("x");
        classifier.Output.Add(["label", "scores"]);
        classifier.Attribute.Add(new AttributeProto { Name = "coefficients", Type = AttributeProto.Types.AttributeType.Floats, Floats = { 1, 0, 0, 0, 1, 0, 0, 0, 1 } });
        classifier.Attribute.Add(new AttributeProto { Name = "intercepts", Type = AttributeProto.Types.AttributeType.Floats, Floats = { 0, 0, 0 } });
        classifier.Attribute.Add(new AttributeProto { Name = "classlabels_ints", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0, 1, 2 } });
        classifier.Attribute.Add(new AttributeProto { Name = "post_transform", Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8("LOGISTIC") });
        g.Node.Add(classifier);
        string path = Save(g, ml: true);
        try
        {
            using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(path);
            var values = Enumerable.Range(-120, 241).Select(i => i / 3.001f).ToArray();
            int compared = 0;
            for (int i = 0; i + 3 <= values.Length; i += 3)
            {
                float[] x = values[i..(i + 3)];
                var input = Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("x", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x, [1, 3]));
                using var results = session.Run([input]);
                float[] ort = [.. results.First(r => r.Name == "scores").AsEnumerable<float>()];
                for (int c = 0; c < 3; c++)
                {
                    Assert.That(BitConverter.SingleToInt32Bits(LinearClassifierKernel.MlasLogistic(x[c])), Is.EqualTo(BitConverter.SingleToInt32Bits(ort[c])), $"logistic({x[c]:R}): ORT {ort[c]:R}");
                    compared++;
                }
            }

            Assert.That(compared, Is.EqualTo(240));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase("post_transform")]
    [TestCase("aggregate_function")]
    public void ATreeEnsembleWithAnUnknownTransformOrAggregateIsRefusedNotRunAsTheDefault(string attribute)
    {
        // ONNX Runtime refuses a post_transform or aggregate_function outside the spec; the compiled path must
        // not score it as NONE or SUM.
        var g = new GraphProto { Name = "tree-bogus-" + attribute };
        g.Input.Add(Info("x", 2));
        g.Output.Add(Info("y", 1));
        var trees = new NodeProto { OpType = "TreeEnsembleRegressor", Name = "trees", Domain = "ai.onnx.ml" };
        trees.Input.Add("x");
        trees.Output.Add("y");
        trees.Attribute.Add(new AttributeProto { Name = "nodes_treeids", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0 } });
        trees.Attribute.Add(new AttributeProto { Name = "nodes_nodeids", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0 } });
        trees.Attribute.Add(new AttributeProto { Name = "nodes_featureids", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0 } });
        trees.Attribute.Add(new AttributeProto { Name = "nodes_truenodeids", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0 } });
        trees.Attribute.Add(new AttributeProto { Name = "nodes_falsenodeids", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0 } });
        trees.Attribute.Add(new AttributeProto { Name = "nodes_values", Type = AttributeProto.Types.AttributeType.Floats, Floats = { 0f } });
        trees.Attribute.Add(new AttributeProto { Name = "nodes_modes", Type = AttributeProto.Types.AttributeType.Strings, Strings = { Google.Protobuf.ByteString.CopyFromUtf8("LEAF") } });
        trees.Attribute.Add(new AttributeProto { Name = "target_treeids", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0 } });
        trees.Attribute.Add(new AttributeProto { Name = "target_nodeids", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0 } });
        trees.Attribute.Add(new AttributeProto { Name = "target_ids", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0 } });
        trees.Attribute.Add(new AttributeProto { Name = "target_weights", Type = AttributeProto.Types.AttributeType.Floats, Floats = { 0.5f } });
        trees.Attribute.Add(new AttributeProto { Name = attribute, Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8("BOGUS") });
        g.Node.Add(trees);
        string path = Save(g, ml: true);
        try
        {
            Assert.That(ModelCompiler.TryCompile(path, null, out CompiledModel? model, out string whyNot), Is.False, model?.Describe());
            Assert.That(whyNot, Does.Contain(attribute + " BOGUS"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void VectorActivationsMatchTheMathLibrary()
    {
        float[] xs = [.. Enumerable.Range(-2000, 4001).Select(i => i / 50f), -100f, 100f, float.MinValue, float.MaxValue, 1e-6f, -1e-6f];
        float[] tanh = new float[xs.Length], sigmoid = new float[xs.Length];
        unsafe
        {
            fixed (float* px = xs, pt = tanh, ps = sigmoid)
            {
                Simd.Apply(px, pt, xs.Length, Activation.Tanh);
                Simd.Apply(px, ps, xs.Length, Activation.Sigmoid);
            }
        }

        for (int i = 0; i < xs.Length; i++)
        {
            Assert.That(tanh[i], Is.EqualTo(Math.Tanh(xs[i])).Within(2e-7), $"tanh({xs[i]})");
            Assert.That(sigmoid[i], Is.EqualTo(1 / (1 + Math.Exp(-(double)xs[i]))).Within(2e-7), $"sigmoid({xs[i]})");
        }
    }

    private static void RequireDenormalControl()
    {
        if (Engine.Native.DenormalMode.IsFlushingOnCurrentThread() is null)
        {
            Assert.Ignore("FTZ/DAZ are set on x86-64 Linux only");
        }
    }

    private static void OnThread(Action body)
    {
        Exception? error = null;
        var t = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception ex)
            {
                error = ex;
            }
        });
        t.Start();
        t.Join();
        if (error is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
        }
    }

    private static GraphProto Graph(string name, (string Name, int Width)[] inputs, (string Name, int Width)[] outputs)
    {
        var g = new GraphProto { Name = name };
        foreach ((string n, int w) in inputs)
        {
            g.Input.Add(Info(n, w));
        }

        foreach ((string n, int w) in outputs)
        {
            g.Output.Add(Info(n, w));
        }

        return g;
    }

    private static TensorShapeProto BatchShape()
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        return shape;
    }

    private static ValueInfoProto Info(string name, int width)
    {
        TensorShapeProto shape = BatchShape();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = width });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } } };
    }

    private static void AddNode(GraphProto g, string op, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{g.Node.Count}" };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        g.Node.Add(node);
    }

    private static TensorProto Tensor(string name, long[] dims, Random rng)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.Add(dims);
        t.FloatData.Add(Enumerable.Range(0, (int)dims.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)(rng.NextDouble() - 0.5)));
        return t;
    }

    private static string Save(GraphProto g, bool ml = false)
    {
        var model = new ModelProto { IrVersion = 7, ProducerName = "engine tests", Graph = g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 13 });
        if (ml)
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = "ai.onnx.ml", Version = 1 });
        }

        string path = Path.Combine(Path.GetTempPath(), $"compiled-{g.Name}-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));
        return path;
    }
}
