namespace Engine.Inference;

/// <summary>An ONNX Runtime execution provider the engine can ask for.</summary>
public enum ExecutionProviderKind
{
    /// <summary>ONNX Runtime's own CPU kernels. Always available.</summary>
    Cpu,

    /// <summary>NVIDIA CUDA (needs a GPU, the CUDA 13 runtime and cuDNN 9 on the host; NuGet does not carry them).</summary>
    Cuda,

    /// <summary>NVIDIA TensorRT (needs what CUDA needs plus TensorRT 10); builds an engine per model, cached in <see cref="ModelOptions.TensorRtEngineCachePath"/>.</summary>
    TensorRt,
}

/// <summary>
/// One try of an execution provider while loading a model: which provider, whether a session came out of
/// it, and if not, why (ONNX Runtime's own message, e.g. "Failed to load shared library" when the CUDA
/// libraries are missing).
/// </summary>
/// <param name="Provider">The provider tried.</param>
/// <param name="Succeeded">True when the session was created with it.</param>
/// <param name="Error">Why it failed; null when it succeeded.</param>
public sealed record ProviderAttempt(ExecutionProviderKind Provider, bool Succeeded, string? Error)
{
    /// <summary>The provider's short name as the engine reports it: <c>CPU</c>, <c>CUDA</c>, <c>TensorRT</c>.</summary>
    public string Name => ExecutionProviders.Name(Provider);

    /// <inheritdoc />
    public override string ToString() => Succeeded ? $"{Name}: ok" : $"{Name}: failed ({Error})";
}

/// <summary>Names of execution providers.</summary>
public static class ExecutionProviders
{
    /// <summary>The short name the engine reports: <c>CPU</c>, <c>CUDA</c>, <c>TensorRT</c>.</summary>
    public static string Name(ExecutionProviderKind kind) => kind switch
    {
        ExecutionProviderKind.Cpu => "CPU",
        ExecutionProviderKind.Cuda => "CUDA",
        ExecutionProviderKind.TensorRt => "TensorRT",
        _ => kind.ToString(),
    };

    /// <summary>Parses <c>cpu</c>, <c>cuda</c>, <c>tensorrt</c> (or <c>trt</c>), case-insensitively.</summary>
    public static bool TryParse(string text, out ExecutionProviderKind kind)
    {
        ArgumentNullException.ThrowIfNull(text);
        switch (text.Trim().ToUpperInvariant())
        {
            case "CPU":
                kind = ExecutionProviderKind.Cpu;
                return true;
            case "CUDA":
                kind = ExecutionProviderKind.Cuda;
                return true;
            case "TENSORRT" or "TRT":
                kind = ExecutionProviderKind.TensorRt;
                return true;
            default:
                kind = default;
                return false;
        }
    }
}
