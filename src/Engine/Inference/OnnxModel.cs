using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using Engine.Native;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace Engine.Inference;

/// <summary>
/// An ONNX Runtime session prepared for latency: every input and output is a pinned buffer bound
/// once through <see cref="OrtIoBinding"/>, and <see cref="Run()"/> is a single <c>RunWithBinding</c>
/// that allocates nothing.
/// </summary>
/// <remarks>
/// Create it on the thread that will call <see cref="Run()"/> (denormal flushing is per creating
/// thread). <see cref="Load"/> is a cold path (session creation ≈ 1 ms, a probe run, warm-up runs);
/// the model is warm, and so ready, when it returns. <see cref="Run()"/> must not be called concurrently.
/// Extra bindings (<see cref="CreateBinding"/>) let windowed, recurrent and batched runners swap whole
/// sets of buffers without rebinding per call.
/// </remarks>
public sealed class OnnxModel : InferenceModel
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _sessionOptions;
    private readonly RunOptions _runOptions;
    private readonly OnnxBinding _binding;
    private readonly ModelTensor[] _inputs;
    private readonly ModelTensor[] _outputs;
    private readonly bool[] _inputBatchDynamic;
    private readonly bool[] _outputBatchDynamic;
    private readonly List<OnnxBinding> _bindings = [];
    private TimeSpan _loadTime;

    private OnnxModel(string path, string sha256, Session created, ModelTensor[] inputs, bool[] inputBatchDynamic, ModelTensor[] outputs, bool[] outputBatchDynamic)
    {
        Path = path;
        Sha256 = sha256;
        _session = created.InferenceSession;
        _sessionOptions = created.Options;
        Provider = created.Provider;
        ProviderAttempts = created.Attempts;
        OptimizedModelCacheHit = created.FromCache;
        _inputs = inputs;
        _outputs = outputs;
        _inputBatchDynamic = inputBatchDynamic;
        _outputBatchDynamic = outputBatchDynamic;
        _runOptions = new RunOptions();
        _binding = CreateBinding([], []);
    }

    /// <inheritdoc />
    public override string Path { get; }

    /// <inheritdoc />
    public override string Sha256 { get; }

    /// <inheritdoc />
    public override string ExecutionProvider => ExecutionProviders.Name(Provider);

    /// <summary>The execution provider the session was created with (the first of <see cref="ModelOptions.Providers"/> that worked).</summary>
    public ExecutionProviderKind Provider { get; }

    /// <summary>Every provider tried, in order, with the reason each one before <see cref="Provider"/> failed.</summary>
    public IReadOnlyList<ProviderAttempt> ProviderAttempts { get; }

    /// <summary>What the loader changed in the graph so its outputs bind as tensors (ZipMap removed, string classes indexed); empty for most models.</summary>
    public IReadOnlyList<string> Rewrites { get; private init; } = [];

    /// <summary>True when the session was read from <see cref="ModelOptions.OptimizedModelCache"/>.</summary>
    public bool OptimizedModelCacheHit { get; }

    /// <summary>Warm-up runs done before <see cref="Load"/> returned.</summary>
    public int WarmupRunsDone { get; private set; }

    /// <inheritdoc />
    public override TimeSpan LoadTime => _loadTime;

    /// <inheritdoc />
    public override IReadOnlyList<ModelTensor> Inputs => _inputs;

    /// <inheritdoc />
    public override IReadOnlyList<ModelTensor> Outputs => _outputs;

    /// <summary>
    /// Loads, checks, binds and warms a model. Inputs and outputs must be tensors of a
    /// <see cref="ModelElementType"/>, with dimensions fixed or resolvable (a dynamic first dimension takes
    /// <see cref="ModelOptions.BatchSize"/>, named ones <see cref="ModelOptions.SymbolicDimensions"/>;
    /// output shapes are read from a probe run). Classifier outputs that converters emit as a sequence of
    /// maps (ZipMap) or as strings are bound as tensors (see <see cref="Rewrites"/> and
    /// <see cref="ModelTensor.ClassLabels"/>). Throws <see cref="ModelLoadException"/> saying which
    /// input, output, operator or type does not fit and why.
    /// </summary>
    public static OnnxModel Load(string path, ModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new ModelOptions();
        string full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new ModelLoadException($"Model file '{full}' does not exist.");
        }

        var clock = Stopwatch.StartNew();
        // ONNX Runtime applies set_denormal_as_zero once per process, on the thread of the first session
        // created: set the mode on this thread (the one that will run the model) explicitly.
        DenormalModeResult? denormals = options.DenormalsAsZero ? DenormalMode.SetOnCurrentThread() : null;
        byte[] bytes = File.ReadAllBytes(full);
        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        ModelProto? proto = TryParse(bytes);
        var labels = new Dictionary<string, string[]>(StringComparer.Ordinal);
        List<string> rewrites = proto is null ? [] : ClassifierOutputs.Rewrite(proto, labels);
        byte[] sessionBytes = rewrites.Count > 0 ? proto!.ToByteArray() : bytes;

        Session created = CreateSession(full, sessionBytes, sha, options);
        var tensors = new List<ModelTensor>();
        OnnxModel? model = null;
        try
        {
            var inputDynamic = new List<bool>();
            ModelTensor[] inputs = [.. created.InferenceSession.InputNames.Select(n => Track(tensors, CreateInput(full, n, created.InferenceSession.InputMetadata[n], options, inputDynamic)))];
            var outputDynamic = new List<bool>();
            ModelTensor[] outputs = ProbeOutputs(full, created.InferenceSession, inputs, proto, labels, outputDynamic, tensors);
            model = new OnnxModel(full, sha, created, inputs, [.. inputDynamic], outputs, [.. outputDynamic]) { Rewrites = rewrites, Denormals = denormals };
            options.Contract?.Check(model);
            model.Warmup(options.WarmupRuns);
            model.WarmupRunsDone = options.WarmupRuns;
            model._loadTime = clock.Elapsed;
            return model;
        }
        catch
        {
            // Ownership moves to the caller only when the model is returned; until then free everything here.
            if (model is not null)
            {
                model.Dispose();
            }
            else
            {
                foreach (ModelTensor t in tensors)
                {
                    t.Dispose();
                }

                created.InferenceSession.Dispose();
                created.Options.Dispose();
            }

            throw;
        }
    }

    /// <summary>Runs the model on the bound inputs; results are in the bound outputs. No allocation on the CPU provider.</summary>
    public override void Run() => _binding.RunOn(_session, _runOptions);

    /// <summary>Runs the model with <paramref name="binding"/>'s tensors (one made by <see cref="CreateBinding"/> of this model). No allocation on the CPU provider.</summary>
    public void Run(OnnxBinding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        if (!ReferenceEquals(binding.Owner, this))
        {
            ThrowForeignBinding();
        }

        binding.RunOn(_session, _runOptions);
    }

    /// <summary>
    /// Binds a set of tensors once: the model's own inputs and outputs, with those named in
    /// <paramref name="inputs"/> and <paramref name="outputs"/> replaced by the given tensors (same name and
    /// element type, same shape except a smaller first dimension where the model's batch is dynamic).
    /// Cold path (allocates); the binding lives until it or the model is disposed. The caller keeps
    /// ownership of the replacement tensors and disposes them after the binding.
    /// </summary>
    public OnnxBinding CreateBinding(IReadOnlyList<ModelTensor> inputs, IReadOnlyList<ModelTensor> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        ModelTensor[] boundInputs = Replace(_inputs, _inputBatchDynamic, inputs, "input");
        ModelTensor[] boundOutputs = Replace(_outputs, _outputBatchDynamic, outputs, "output");
        // On a GPU provider ORT copies a CPU input to the device when it is bound, not when it runs:
        // such bindings rebind their inputs before each run so the run sees the current values.
        var binding = new OnnxBinding(this, _session.CreateIoBinding(), boundInputs, boundOutputs, rebindInputsEachRun: Provider != ExecutionProviderKind.Cpu);
        _bindings.Add(binding);
        return binding;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        foreach (OnnxBinding b in _bindings)
        {
            b.Dispose();
        }

        _runOptions.Dispose();
        _session.Dispose();
        _sessionOptions.Dispose();
        foreach (ModelTensor t in _inputs)
        {
            t.Dispose();
        }

        foreach (ModelTensor t in _outputs)
        {
            t.Dispose();
        }
    }

    private ModelTensor[] Replace(ModelTensor[] own, bool[] batchDynamic, IReadOnlyList<ModelTensor> replacements, string role)
    {
        var bound = (ModelTensor[])own.Clone();
        foreach (ModelTensor r in replacements)
        {
            int i = Array.FindIndex(own, t => t.Name == r.Name);
            if (i < 0)
            {
                throw new ArgumentException($"Model '{Path}' has no {role} '{r.Name}'; its {role}s are {string.Join(", ", own.Select(t => $"'{t.Name}' {t.TypeText}"))}.", role + "s");
            }

            ModelTensor m = own[i];
            bool fits = r.ElementType == m.ElementType && r.Shape.Count == m.Shape.Count;
            for (int d = 0; fits && d < m.Shape.Count; d++)
            {
                fits = r.Shape[d] == m.Shape[d] || (d == 0 && batchDynamic[i] && r.Shape[0] < m.Shape[0]);
            }

            if (!fits)
            {
                throw new ArgumentException($"Cannot bind {r.TypeText} to model '{Path}' {role} '{m.Name}' {m.TypeText}.", role + "s");
            }

            bound[i] = r;
        }

        return bound;
    }

    private static void ThrowForeignBinding() => throw new ArgumentException("The binding belongs to another model.");

    private static ModelProto? TryParse(byte[] bytes)
    {
        try
        {
            return ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            // Not a model OnnxSharp can read: ONNX Runtime gives the reason when it tries.
            return null;
        }
    }

    private static ModelTensor Track(List<ModelTensor> list, ModelTensor t)
    {
        list.Add(t);
        return t;
    }

    private static ModelTensor CreateInput(string path, string name, NodeMetadata meta, ModelOptions options, List<bool> batchDynamic)
    {
        ModelElementType type = TensorType(path, "input", name, meta, null);
        long[] shape = Resolve(path, name, meta, options);
        batchDynamic.Add(meta.Dimensions.Length > 0 && meta.Dimensions[0] <= 0);
        return new ModelTensor(name, shape, type);
    }

    private static ModelElementType TensorType(string path, string role, string name, NodeMetadata meta, ModelProto? proto)
    {
        if (meta.IsTensor && ModelElementTypes.TryFromOrt(meta.ElementDataType, out ModelElementType type))
        {
            return type;
        }

        string producer = proto is null ? string.Empty : ClassifierOutputs.ProducerOf(proto, name) is { } op ? $" (made by {op})" : string.Empty;
        throw new ModelLoadException($"Model '{path}' {role} '{name}' is {Describe(meta)}{producer}; the engine binds tensors of {string.Join(", ", Enum.GetValues<ModelElementType>().Select(ModelElementTypes.Name))} only.");
    }

    private static string Describe(NodeMetadata meta)
    {
        if (meta.IsTensor)
        {
            return $"a tensor of {(meta.ElementDataType == TensorElementType.String ? "string" : meta.ElementDataType.ToString())}";
        }

        return meta.OnnxValueType switch
        {
            OnnxValueType.ONNX_TYPE_SEQUENCE => $"a sequence of {Describe(meta.AsSequenceMetadata().ElementMeta)}",
            OnnxValueType.ONNX_TYPE_MAP => $"a map from {meta.AsMapMetadata().KeyDataType} to {Describe(meta.AsMapMetadata().ValueMetadata)}",
            _ => meta.OnnxValueType.ToString(),
        };
    }

    private static long[] Resolve(string path, string name, NodeMetadata meta, ModelOptions options)
    {
        int[] dims = meta.Dimensions;
        string[] symbolic = meta.SymbolicDimensions;
        TensorContract? fed = options.Contract?.Inputs.FirstOrDefault(c => c.Name == name && c.Shape.Count == dims.Length);
        var shape = new long[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            string symbol = i < symbolic.Length ? symbolic[i] : string.Empty;
            // The caller's contract, when it states what it feeds, resolves a dynamic dimension first.
            shape[i] = options.ResolveDimension(i, dims[i], symbol, fed is null ? 0 : fed.Shape[i]);
            if (shape[i] <= 0)
            {
                throw new ModelLoadException($"Model '{path}' input '{name}' has dynamic dimension {i} ('{symbol}'); give its size in ModelOptions.SymbolicDimensions or the shape fed in ModelOptions.Contract.");
            }
        }

        return shape;
    }

    // Output shapes can depend on the inputs' (dynamic dims, ops like TopK): run once with ORT allocating
    // the outputs, read their shapes, and allocate pinned buffers of exactly those.
    private static ModelTensor[] ProbeOutputs(string path, InferenceSession session, ModelTensor[] inputs, ModelProto? proto, Dictionary<string, string[]> labels, List<bool> batchDynamic, List<ModelTensor> tensors)
    {
        var types = new ModelElementType[session.OutputNames.Count];
        for (int i = 0; i < types.Length; i++)
        {
            string name = session.OutputNames[i];
            NodeMetadata meta = session.OutputMetadata[name];
            types[i] = TensorType(path, "output", name, meta, proto);
            batchDynamic.Add(meta.Dimensions.Length > 0 && meta.Dimensions[0] <= 0);
        }

        long[][] shapes;
        using (OrtIoBinding probe = session.CreateIoBinding())
        using (var run = new RunOptions())
        {
            foreach (ModelTensor input in inputs)
            {
                probe.BindInput(input.Name, input.Value);
            }

            foreach (string name in session.OutputNames)
            {
                probe.BindOutputToDevice(name, OrtMemoryInfo.DefaultInstance);
            }

            try
            {
                session.RunWithBinding(run, probe);
            }
            catch (OnnxRuntimeException ex)
            {
                throw new ModelLoadException($"ONNX Runtime could not run model '{path}' on zeroed inputs ({string.Join("; ", inputs.Select(t => $"'{t.Name}' {t.TypeText}"))}): {ex.Message}", ex);
            }

            using IDisposableReadOnlyCollection<OrtValue> values = probe.GetOutputValues();
            shapes = [.. values.Select(v => v.GetTensorTypeAndShape().Shape)];
        }

        var outputs = new ModelTensor[types.Length];
        for (int i = 0; i < outputs.Length; i++)
        {
            string name = session.OutputNames[i];
            if (Array.Exists(shapes[i], d => d <= 0))
            {
                throw new ModelLoadException($"Model '{path}' output '{name}' came out of a probe run with shape [{string.Join(", ", shapes[i])}]; the engine binds outputs of fixed, non-empty shape only.");
            }

            outputs[i] = Track(tensors, new ModelTensor(name, shapes[i], types[i]));
            if (labels.TryGetValue(name, out string[]? classes))
            {
                outputs[i].ClassLabels = classes;
            }
        }

        return outputs;
    }

    private static Session CreateSession(string path, byte[] model, string sha, ModelOptions options)
    {
        var attempts = new List<ProviderAttempt>();
        if (options.Providers.Count == 0)
        {
            throw new ModelLoadException($"No execution provider given for model '{path}' (ModelOptions.Providers is empty).");
        }

        foreach (ExecutionProviderKind provider in options.Providers)
        {
            // TensorRT sessions hold compiled nodes that cannot be saved as ONNX; TensorRT caches its own engines.
            string? cacheFile = options.OptimizedModelCache is { } dir && provider != ExecutionProviderKind.TensorRt
                ? System.IO.Path.Combine(dir, $"{sha[..16]}.{options.OptimizationLevel}.{ExecutionProviders.Name(provider)}.onnx")
                : null;
            if (cacheFile is not null && File.Exists(cacheFile))
            {
                // An optimized model needs no second optimization; if the file is unreadable, fall through and rebuild it.
                if (TryCreate(provider, options, attempts, s => s.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, so => new InferenceSession(cacheFile, so), out Session? cached))
                {
                    return cached with { FromCache = true };
                }

                attempts.RemoveAt(attempts.Count - 1);
            }

            if (cacheFile is not null)
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(cacheFile)!);
            }

            if (TryCreate(provider, options, attempts, s =>
            {
                if (cacheFile is not null)
                {
                    s.OptimizedModelFilePath = cacheFile;
                }
            }, so => new InferenceSession(model, so), out Session? created))
            {
                return created;
            }
        }

        if (attempts.Count == 1)
        {
            throw new ModelLoadException($"ONNX Runtime refused model '{path}' with the {attempts[0].Name} provider: {attempts[0].Error}");
        }

        throw new ModelLoadException($"ONNX Runtime refused model '{path}' with every provider tried: {string.Join("; ", attempts)}.");
    }

    private static bool TryCreate(ExecutionProviderKind provider, ModelOptions options, List<ProviderAttempt> attempts, Action<SessionOptions> adjust, Func<SessionOptions, InferenceSession> create, [NotNullWhen(true)] out Session? session)
    {
        SessionOptions so = CreateSessionOptions(options);
        OrtTensorRTProviderOptions? trt = null;
        try
        {
            adjust(so);
            switch (provider)
            {
                case ExecutionProviderKind.Cuda:
                    so.AppendExecutionProvider_CUDA(options.DeviceId);
                    break;
                case ExecutionProviderKind.TensorRt:
                    trt = new OrtTensorRTProviderOptions();
                    trt.UpdateOptions(TensorRtOptions(options));
                    so.AppendExecutionProvider_Tensorrt(trt);
                    break;
                default:
                    break;
            }

            if (provider != ExecutionProviderKind.Cpu && options.RequireProviderForEveryNode)
            {
                so.AddSessionConfigEntry("session.disable_cpu_ep_fallback", "1");
            }

            InferenceSession created = create(so);
            attempts.Add(new ProviderAttempt(provider, true, null));
            session = new Session(created, so, provider, attempts, false);
            return true;
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            // A provider whose libraries are missing throws here (CUDA: "Failed to load shared library");
            // keep the reason and let the caller try the next provider.
            so.Dispose();
            attempts.Add(new ProviderAttempt(provider, false, ex.Message.Trim()));
            session = null;
            return false;
        }
        finally
        {
            trt?.Dispose();
        }
    }

    private static Dictionary<string, string> TensorRtOptions(ModelOptions options)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["device_id"] = options.DeviceId.ToString(CultureInfo.InvariantCulture),
            ["trt_fp16_enable"] = options.TensorRtFp16 ? "1" : "0",
        };
        if (options.TensorRtEngineCachePath is { } cache)
        {
            Directory.CreateDirectory(cache);
            d["trt_engine_cache_enable"] = "1";
            d["trt_engine_cache_path"] = cache;
        }

        return d;
    }

    /// <summary>ONNX Runtime session options with the engine's latency settings from <paramref name="options"/> (threads, spinning, denormals, optimization level); every session the engine creates starts from these. The caller owns the result.</summary>
    internal static SessionOptions CreateSessionOptions(ModelOptions options)
    {
        var so = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = options.OptimizationLevel,
        };
        so.AddSessionConfigEntry("session.intra_op.allow_spinning", options.AllowSpinning ? "1" : "0");
        so.AddSessionConfigEntry("session.inter_op.allow_spinning", options.AllowSpinning ? "1" : "0");
        so.AddSessionConfigEntry("session.set_denormal_as_zero", options.DenormalsAsZero ? "1" : "0");
        return so;
    }

    private sealed record Session(InferenceSession InferenceSession, SessionOptions Options, ExecutionProviderKind Provider, IReadOnlyList<ProviderAttempt> Attempts, bool FromCache);
}
