using Engine.Native;

namespace Engine.Inference;

/// <summary>
/// A model the inference stage can run: fixed-shape inputs and outputs in pinned, aligned memory
/// (<see cref="ModelTensor"/>: float32 for features, other element types where models need them),
/// written and read in place, and one <see cref="Run"/> per inference. <see cref="OnnxModel"/> runs it
/// through ONNX Runtime; other back-ends (compiled managed kernels) derive from this too.
/// </summary>
/// <remarks>
/// The stage calls <see cref="Run"/> once per inference through this base class: one indirect call
/// (about a nanosecond, which dynamic PGO usually devirtualizes) next to a model that costs hundreds.
/// Not thread-safe: one thread runs a model. Ownership: the creator disposes it; tensor spans are valid
/// until then.
/// </remarks>
public abstract class InferenceModel : IDisposable
{
    /// <summary>Full path of the model file.</summary>
    public abstract string Path { get; }

    /// <summary>SHA-256 of the model file, lower-case hex.</summary>
    public abstract string Sha256 { get; }

    /// <summary>What runs the model (e.g. "CPU", "CUDA", "compiled").</summary>
    public abstract string ExecutionProvider { get; }

    /// <summary>Load, preparation and warm-up time.</summary>
    public abstract TimeSpan LoadTime { get; }

    /// <summary>Inputs in the model's order.</summary>
    public abstract IReadOnlyList<ModelTensor> Inputs { get; }

    /// <summary>Outputs in the model's order.</summary>
    public abstract IReadOnlyList<ModelTensor> Outputs { get; }

    /// <summary>
    /// What loading did to the loading thread's denormal handling (<see cref="ModelOptions.DenormalsAsZero"/>):
    /// the thread that loads a model is the one meant to run it, and the mode is per thread. Null when the option
    /// was off (the thread's mode was left alone).
    /// </summary>
    public DenormalModeResult? Denormals { get; internal set; }

    /// <summary>Runs the model on the inputs' current contents; results are in the outputs. Must not allocate.</summary>
    public abstract void Run();

    /// <summary>The input called <paramref name="name"/>; throws naming the model's inputs when absent.</summary>
    public ModelTensor Input(string name) => Find(Inputs, name, "input");

    /// <summary>The output called <paramref name="name"/>; throws naming the model's outputs when absent.</summary>
    public ModelTensor Output(string name) => Find(Outputs, name, "output");

    /// <summary>Runs the model <paramref name="runs"/> times on whatever the inputs hold.</summary>
    public void Warmup(int runs)
    {
        for (int i = 0; i < runs; i++)
        {
            Run();
        }
    }

    /// <summary>Text like <c>'features' float32 [1, 9]</c> for each input, for messages.</summary>
    public string DescribeInputs() => string.Join("; ", Inputs.Select(t => $"'{t.Name}' {t.TypeText}"));

    /// <summary>Text for each output, for messages.</summary>
    public string DescribeOutputs() => string.Join("; ", Outputs.Select(t => $"'{t.Name}' {t.TypeText}"));

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the model's resources.</summary>
    protected abstract void Dispose(bool disposing);

    private ModelTensor Find(IReadOnlyList<ModelTensor> tensors, string name, string role)
    {
        // Indexed, not foreach: enumerating an IReadOnlyList boxes an enumerator.
        for (int i = 0; i < tensors.Count; i++)
        {
            if (tensors[i].Name == name)
            {
                return tensors[i];
            }
        }

        throw new ModelLoadException($"Model '{Path}' has no {role} '{name}'; its {role}s are {string.Join(", ", tensors.Select(t => $"'{t.Name}' {t.TypeText}"))}.");
    }
}
