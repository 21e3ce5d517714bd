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

    /// <summary>Sizes for other symbolic dimensions, by their name in the model.</summary>
    public IReadOnlyDictionary<string, int> SymbolicDimensions { get; init; } = new Dictionary<string, int>();

    /// <summary>Runs done at load on zeroed inputs, so the first live call is not the first call.</summary>
    public int WarmupRuns { get; init; } = 64;

    /// <summary>Which back-end runs the model when it is loaded through <see cref="Compiled.ModelLoader"/> (the replay does): compiled when it agrees with ONNX Runtime (Auto), ONNX Runtime, or compiled only.</summary>
    public ModelBackend Backend { get; init; } = ModelBackend.Auto;

    /// <summary>Where to save the optimized model (speeds up later loads); null to skip.</summary>
    public string? OptimizedModelPath { get; init; }
}
