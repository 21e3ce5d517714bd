using Microsoft.ML.OnnxRuntime;

namespace Engine.Inference;

/// <summary>How an <see cref="OnnxModel"/> session is built. Defaults are the latency settings measured on this project's machines.</summary>
public sealed record ModelOptions
{
    /// <summary>Intra-op threads. 1: a second thread never helped a batch-1 model, and 0 starts a spinning thread per core.</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>Whether ORT's own threads spin between runs. Off: they would steal the dedicated cores.</summary>
    public bool AllowSpinning { get; init; }

    /// <summary>Flush denormal floats to zero. Applies on the thread that creates the session, so create it on the inference thread.</summary>
    public bool DenormalsAsZero { get; init; } = true;

    /// <summary>Graph optimization level.</summary>
    public GraphOptimizationLevel OptimizationLevel { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>Rows per run: the size given to a dynamic first (batch) dimension.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>Sizes for other symbolic dimensions, by their name in the model (e.g. <c>length</c> of a sequence input).</summary>
    public IReadOnlyDictionary<string, int> SymbolicDimensions { get; init; } = new Dictionary<string, int>();

    /// <summary>Runs done at load on zeroed inputs, so the first live call is not the first call. The model is not returned (not ready) before they are done.</summary>
    public int WarmupRuns { get; init; } = 64;

    /// <summary>
    /// Folder for optimized models; null to skip. The first load of a model saves ONNX Runtime's optimized
    /// graph there (named by the model's SHA-256, the optimization level and the provider); later loads
    /// read it back with graph optimization off, which is faster. Delete the folder after upgrading ONNX Runtime.
    /// </summary>
    public string? OptimizedModelCache { get; init; }

    /// <summary>
    /// Execution providers to try, in order; the first that yields a session runs the model, and each
    /// failure before it is kept in <see cref="OnnxModel.ProviderAttempts"/>. Default: CPU only.
    /// </summary>
    public IReadOnlyList<ExecutionProviderKind> Providers { get; init; } = [ExecutionProviderKind.Cpu];

    /// <summary>GPU device for CUDA and TensorRT.</summary>
    public int DeviceId { get; init; }

    /// <summary>Folder where TensorRT keeps the engines it builds (building one takes seconds to minutes); null disables the cache.</summary>
    public string? TensorRtEngineCachePath { get; init; }

    /// <summary>Let TensorRT run in FP16 where it judges it safe (faster on tensor cores; outputs differ in the last bits).</summary>
    public bool TensorRtFp16 { get; init; }

    /// <summary>
    /// Refuse a GPU session that would leave some nodes on ONNX Runtime's CPU kernels
    /// (<c>session.disable_cpu_ep_fallback</c>), so the provider reported is the one that runs every node.
    /// The next provider in <see cref="Providers"/> is tried instead. Off by default.
    /// </summary>
    public bool RequireProviderForEveryNode { get; init; }

    /// <summary>
    /// What the caller feeds and reads, checked at load; null to skip the check. A fed input's fixed
    /// dimensions also resolve the model's dynamic ones (before <see cref="SymbolicDimensions"/> and
    /// <see cref="BatchSize"/>).
    /// </summary>
    public ModelContract? Contract { get; init; }

    /// <summary>Which back-end runs the model when it is loaded through <see cref="Compiled.ModelLoader"/> (the replay does): compiled when it agrees with ONNX Runtime (Auto), ONNX Runtime, or compiled only.</summary>
    public ModelBackend Backend { get; init; } = ModelBackend.Auto;

    /// <summary>
    /// The size of dimension <paramref name="index"/> of a model input declared as <paramref name="declared"/>
    /// (positive when fixed) with the symbolic name <paramref name="symbol"/>: the fixed size, else the size the
    /// caller feeds (<paramref name="fed"/>, positive when known), else <see cref="SymbolicDimensions"/>, else
    /// <see cref="BatchSize"/> for the first dimension; 0 when none of these resolves it. Every back-end
    /// resolves shapes by this one rule.
    /// </summary>
    public long ResolveDimension(int index, long declared, string? symbol, long fed = 0)
    {
        if (declared > 0)
        {
            return declared;
        }

        if (fed > 0)
        {
            return fed;
        }

        if (!string.IsNullOrEmpty(symbol) && SymbolicDimensions.TryGetValue(symbol, out int size))
        {
            return size;
        }

        return index == 0 ? BatchSize : 0;
    }
}
