using System.Runtime.CompilerServices;
using System.Text;

namespace Engine.Inference.Compiled;

/// <summary>What an output of a compiled model stands for in the ONNX graph (all are float32 tensors here).</summary>
public enum CompiledOutputKind
{
    /// <summary>A float32 tensor, as in the graph.</summary>
    Tensor,

    /// <summary>A classifier's int64 label tensor [N], written as the label's value in float32 (exact up to 2^24).</summary>
    Int64Label,

    /// <summary>A classifier's string label tensor [N], written as the index of the label in <see cref="CompiledOutput.Labels"/>.</summary>
    StringLabel,

    /// <summary>A ZipMap's sequence of maps (class → probability), written as a float32 [N, classes] matrix with the classes in <see cref="CompiledOutput.Labels"/> order.</summary>
    ZipMap,
}

/// <summary>How one output of a compiled model maps to the graph's output of the same name.</summary>
/// <param name="Name">Output name.</param>
/// <param name="Kind">What the float32 tensor stands for.</param>
/// <param name="Labels">Class labels (as text) for labels and ZipMaps; empty otherwise.</param>
public sealed record CompiledOutput(string Name, CompiledOutputKind Kind, IReadOnlyList<string> Labels);

/// <summary>
/// A model compiled from its ONNX graph into managed kernels (dense layers with fused bias and activation,
/// element-wise operators, softmax, GRU/LSTM, tree ensembles) whose weights sit in pinned, 64-byte-aligned
/// native memory and whose every buffer address is fixed at compile time. Built by <see cref="ModelCompiler"/>;
/// usually chosen by <see cref="ModelLoader"/> after it agreed with ONNX Runtime.
/// </summary>
/// <remarks>
/// <see cref="Run"/> runs the kernels in graph order: no allocation, no lock, no native call; one virtual
/// call per kernel (mlp_32 has three). Not thread-safe: one thread runs a model (kernels keep scratch state).
/// The creator disposes it; tensor spans are valid until then.
/// </remarks>
public sealed class CompiledModel : InferenceModel
{
    private readonly Kernel[] _kernels;
    private readonly ModelTensor[] _inputs;
    private readonly ModelTensor[] _outputs;
    private readonly IDisposable[] _owned;
    private TimeSpan _loadTime;

    internal CompiledModel(string path, string sha256, ModelTensor[] inputs, ModelTensor[] outputs, CompiledOutput[] outputInfo, Kernel[] kernels, IDisposable[] owned, long weightBytes, TimeSpan loadTime, IReadOnlyDictionary<string, IReadOnlyList<float[]>> probes)
    {
        Probes = probes;
        Path = path;
        Sha256 = sha256;
        _inputs = inputs;
        _outputs = outputs;
        OutputInfo = outputInfo;
        _kernels = kernels;
        _owned = owned;
        WeightBytes = weightBytes;
        _loadTime = loadTime;
    }

    /// <inheritdoc />
    public override string Path { get; }

    /// <inheritdoc />
    public override string Sha256 { get; }

    /// <inheritdoc />
    public override string ExecutionProvider => "compiled";

    /// <inheritdoc />
    public override TimeSpan LoadTime => _loadTime;

    /// <inheritdoc />
    public override IReadOnlyList<ModelTensor> Inputs => _inputs;

    /// <inheritdoc />
    public override IReadOnlyList<ModelTensor> Outputs => _outputs;

    /// <summary>What each output stands for in the graph (same order as <see cref="Outputs"/>).</summary>
    public IReadOnlyList<CompiledOutput> OutputInfo { get; }

    /// <summary>One line per kernel, in run order.</summary>
    public IReadOnlyList<string> Kernels => [.. _kernels.Select(k => k.Describe())];

    /// <summary>Bytes of packed weights and constants in pinned memory.</summary>
    public long WeightBytes { get; }

    /// <summary>Runs every kernel on the inputs' current contents; results are in the outputs. No allocation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // see Kernel: full speed from the first call
    public override void Run()
    {
        Kernel[] kernels = _kernels;
        for (int i = 0; i < kernels.Length; i++)
        {
            kernels[i].Run();
        }
    }

    /// <summary>A multi-line description: inputs, outputs, kernels, weight bytes.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append("inputs ").AppendLine(DescribeInputs());
        sb.Append("outputs ").AppendLine(DescribeOutputs());
        foreach (string k in Kernels)
        {
            sb.Append("  ").AppendLine(k);
        }

        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"weights {WeightBytes:N0} bytes pinned");
        return sb.ToString();
    }

    /// <summary>Per input, per feature: the split thresholds trees test it against (in the input's own units), for generating check inputs.</summary>
    internal IReadOnlyDictionary<string, IReadOnlyList<float[]>> Probes { get; }

    internal void AddLoadTime(TimeSpan extra) => _loadTime += extra;

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        foreach (Kernel k in _kernels)
        {
            k.Dispose();
        }

        foreach (IDisposable d in _owned)
        {
            d.Dispose();
        }

        foreach (ModelTensor t in _inputs)
        {
            t.Dispose();
        }

        foreach (ModelTensor t in _outputs)
        {
            t.Dispose();
        }
    }
}
