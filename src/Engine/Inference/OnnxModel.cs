using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Engine.Inference;

/// <summary>
/// An ONNX Runtime session prepared for latency: every input and output is a pinned buffer bound
/// once through <see cref="OrtIoBinding"/>, and <see cref="Run"/> is a single <c>RunWithBinding</c>
/// that allocates nothing.
/// </summary>
/// <remarks>
/// Create it on the thread that will call <see cref="Run"/> (denormal flushing is per creating
/// thread). <see cref="Load"/> is a cold path (session creation ≈ 1 ms, plus warm-up runs); the
/// model is warmed before it returns. <see cref="Run"/> must not be called concurrently.
/// </remarks>
public sealed class OnnxModel : InferenceModel
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _sessionOptions;
    private readonly RunOptions _runOptions;
    private readonly OrtIoBinding _binding;
    private readonly ModelTensor[] _inputs;
    private readonly ModelTensor[] _outputs;

    private OnnxModel(string path, string sha256, InferenceSession session, SessionOptions sessionOptions, ModelTensor[] inputs, ModelTensor[] outputs, TimeSpan loadTime)
    {
        Path = path;
        Sha256 = sha256;
        _session = session;
        _sessionOptions = sessionOptions;
        _inputs = inputs;
        _outputs = outputs;
        _loadTime = loadTime;
        _runOptions = new RunOptions();
        _binding = session.CreateIoBinding();
        foreach (ModelTensor input in inputs)
        {
            _binding.BindInput(input.Name, input.Value);
        }

        foreach (ModelTensor output in outputs)
        {
            _binding.BindOutput(output.Name, output.Value);
        }
    }

    private TimeSpan _loadTime;

    /// <inheritdoc />
    public override string Path { get; }

    /// <inheritdoc />
    public override string Sha256 { get; }

    /// <inheritdoc />
    public override string ExecutionProvider { get; } = "CPU";

    /// <inheritdoc />
    public override TimeSpan LoadTime => _loadTime;

    /// <inheritdoc />
    public override IReadOnlyList<ModelTensor> Inputs => _inputs;

    /// <inheritdoc />
    public override IReadOnlyList<ModelTensor> Outputs => _outputs;

    /// <summary>
    /// Loads, binds and warms a model. Every input and output must be a float32 tensor whose dimensions
    /// are fixed or resolvable (a dynamic first dimension takes <see cref="ModelOptions.BatchSize"/>).
    /// Throws <see cref="ModelLoadException"/> saying which input or output does not fit and why.
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
        string sha;
        using (FileStream stream = File.OpenRead(full))
        {
            sha = Convert.ToHexStringLower(SHA256.HashData(stream));
        }

        SessionOptions sessionOptions = CreateSessionOptions(options);
        InferenceSession session;
        try
        {
            session = new InferenceSession(full, sessionOptions);
        }
        catch (OnnxRuntimeException ex)
        {
            sessionOptions.Dispose();
            throw new ModelLoadException($"ONNX Runtime refused model '{full}': {ex.Message}", ex);
        }

        var tensors = new List<ModelTensor>();
        try
        {
            ModelTensor[] inputs = [.. session.InputNames.Select(n => Track(tensors, new ModelTensor(n, Resolve(full, "input", n, session.InputMetadata[n], options))))];
            ModelTensor[] outputs = [.. session.OutputNames.Select(n => Track(tensors, new ModelTensor(n, Resolve(full, "output", n, session.OutputMetadata[n], options))))];
            var model = new OnnxModel(full, sha, session, sessionOptions, inputs, outputs, TimeSpan.Zero);
            model.Warmup(options.WarmupRuns);
            model._loadTime = clock.Elapsed;
            return model;
        }
        catch
        {
            foreach (ModelTensor t in tensors)
            {
                t.Dispose();
            }

            session.Dispose();
            sessionOptions.Dispose();
            throw;
        }
    }

    /// <summary>Runs the model on the bound inputs; results are in the bound outputs. No allocation.</summary>
    public override void Run() => _session.RunWithBinding(_runOptions, _binding);

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        _binding.Dispose();
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

    private static ModelTensor Track(List<ModelTensor> list, ModelTensor t)
    {
        list.Add(t);
        return t;
    }

    private static SessionOptions CreateSessionOptions(ModelOptions options)
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
        if (options.OptimizedModelPath is { } optimized)
        {
            so.OptimizedModelFilePath = optimized;
        }

        return so;
    }

    private static long[] Resolve(string path, string role, string name, NodeMetadata meta, ModelOptions options)
    {
        if (!meta.IsTensor || meta.ElementDataType != TensorElementType.Float)
        {
            string type = meta.IsTensor ? meta.ElementDataType.ToString() : meta.OnnxValueType.ToString();
            throw new ModelLoadException($"Model '{path}' {role} '{name}' is {type}; the engine binds float32 tensors only.");
        }

        int[] dims = meta.Dimensions;
        string[] symbolic = meta.SymbolicDimensions;
        var shape = new long[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] > 0)
            {
                shape[i] = dims[i];
                continue;
            }

            string symbol = i < symbolic.Length ? symbolic[i] : string.Empty;
            if (!string.IsNullOrEmpty(symbol) && options.SymbolicDimensions.TryGetValue(symbol, out int size))
            {
                shape[i] = size;
            }
            else if (i == 0)
            {
                shape[i] = options.BatchSize;
            }
            else
            {
                throw new ModelLoadException($"Model '{path}' {role} '{name}' has dynamic dimension {i} ('{symbol}'); give its size in ModelOptions.SymbolicDimensions.");
            }
        }

        return shape;
    }
}
