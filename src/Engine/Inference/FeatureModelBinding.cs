using System.Runtime.CompilerServices;
using Engine.Features;

namespace Engine.Inference;

/// <summary>How the feature rows of a spec reach a model.</summary>
public enum FeatureModelKind
{
    /// <summary>Input float32 [batch, F]: each trigger's row is the whole input.</summary>
    Row,

    /// <summary>Input float32 [1, W, F]: the last W rows of the instrument (<see cref="WindowedModel"/>).</summary>
    Window,

    /// <summary>A step input float32 [1, F] plus state inputs and outputs: one step per trigger, state per instrument (<see cref="RecurrentModel"/>).</summary>
    Recurrent,
}

/// <summary>Options of a <see cref="FeatureModelBinding"/>.</summary>
public sealed record FeatureModelBindingOptions
{
    /// <summary>
    /// Micro-batching (row models only): triggers of several instruments within one batch of ring events
    /// are scored by one run, flushed at the end of the ring batch, when full, or after this deadline.
    /// Null (the default) runs the model once per trigger. Load the model with <see cref="ModelOptions.BatchSize"/>
    /// = the largest batch wanted (<see cref="MicroBatchSize"/>).
    /// </summary>
    public TimeSpan? MicroBatchDeadline { get; init; }

    /// <summary>Rows per micro-batch at most; the model's batch size when micro-batching.</summary>
    public int MicroBatchSize { get; init; } = 8;

    /// <summary>State (input, output) pairs of a recurrent model; null finds them by the <c>NAME_in</c>/<c>NAME_out</c> convention.</summary>
    public IReadOnlyList<(string Input, string Output)>? StatePairs { get; init; }
}

/// <summary>
/// A feature spec checked against a loaded model, and the way its rows reach the model: a row model
/// reads the row as its input, a windowed model the instrument's last W rows, a recurrent model one
/// step with the instrument's state (<see cref="Kind"/>). The prediction is read from the spec's
/// output (or the first non-state one). Built once at start-up; used by the stage thread only.
/// </summary>
/// <remarks>
/// Hot path: <see cref="Write"/> then <see cref="TryRun"/> (a switch on <see cref="Kind"/>, a row copy
/// or two, one <c>RunWithBinding</c>); no allocation once each instrument has run once (windowed and
/// recurrent models set up an instrument on its first row). Ownership: the binding owns the windowed,
/// recurrent or batching runner it made, not the model; dispose the binding, then the model.
/// </remarks>
public sealed class FeatureModelBinding : IDisposable
{
    private readonly ModelTensor _input;
    private readonly ModelTensor _output;
    private readonly InferenceModel _model;
    private readonly WindowedModel? _windowed;
    private readonly RecurrentModel? _recurrent;
    private readonly int _outputWidth;

    private FeatureModelBinding(FeatureSpec spec, InferenceModel model, FeatureModelKind kind, ModelTensor input, ModelTensor output, WindowedModel? windowed, RecurrentModel? recurrent, MicroBatcher? batcher)
    {
        Spec = spec;
        _model = model;
        Kind = kind;
        _input = input;
        _output = output;
        _windowed = windowed;
        _recurrent = recurrent;
        Batcher = batcher;
        OutputIndex = IndexOf(model.Outputs, output);
        _outputWidth = output.Shape.Count == 0 ? output.ElementCount : (int)(output.ElementCount / output.Shape[0]);
    }

    /// <summary>The spec.</summary>
    public FeatureSpec Spec { get; }

    /// <summary>The model (not owned: dispose it yourself, after the binding).</summary>
    public InferenceModel Model => _model;

    /// <summary>How rows reach the model.</summary>
    public FeatureModelKind Kind { get; }

    /// <summary>The input the features go into (for a windowed model, the model's own [1, W, F] input, which per-instrument windows replace at run time).</summary>
    public ModelTensor Input => _input;

    /// <summary>The output read as the prediction.</summary>
    public ModelTensor Output => _output;

    /// <summary>Index of <see cref="Output"/> among the model's outputs.</summary>
    public int OutputIndex { get; }

    /// <summary>Rows per window (windowed models), else 1.</summary>
    public int WindowLength => _windowed?.Length ?? 1;

    /// <summary>The micro-batcher when micro-batching is on, else null.</summary>
    public MicroBatcher? Batcher { get; }

    /// <summary>The prediction output's first row, valid after <see cref="TryRun"/> returned true (a micro-batch reads <see cref="MicroBatcher.Output"/>).</summary>
    public ReadOnlySpan<float> Prediction => _output.Span[.._outputWidth];

    /// <summary>
    /// Checks that the model takes the spec's features the way one of the <see cref="FeatureModelKind"/>s
    /// does, as float32, and has the output the spec names. Throws <see cref="ModelLoadException"/> naming
    /// the spec and the model side by side. Windowed, recurrent and micro-batched models need the ONNX
    /// Runtime back-end (<see cref="OnnxModel"/>).
    /// </summary>
    public static FeatureModelBinding Create(FeatureSpec spec, InferenceModel model, FeatureModelBindingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(model);
        options ??= new FeatureModelBindingOptions();
        string specSide = $"Feature spec '{spec.Source}' fills input '{spec.InputName}' with {spec.Count} features (float32 [batch, {spec.Count}], or [1, window, {spec.Count}] for a windowed model)";
        ModelTensor? input = model.Inputs.FirstOrDefault(t => t.Name == spec.InputName);
        if (input is null)
        {
            throw new ModelLoadException($"{specSide}, but model '{model.Path}' has no such input; its inputs are {model.DescribeInputs()}.");
        }

        if (input.ElementType != ModelElementType.Float32 || input.Shape.Count is < 2 or > 3 || input.Shape[^1] != spec.Count)
        {
            throw new ModelLoadException($"{specSide}, but model '{model.Path}' input '{input.Name}' is {input.TypeText}.");
        }

        IReadOnlyList<(string Input, string Output)> states = [];
        FeatureModelKind kind;
        if (model.Inputs.Count > 1)
        {
            states = options.StatePairs ?? RecurrentModel.FindStatePairs(model);
            if (states.Count != model.Inputs.Count - 1 || input.Shape.Count != 2)
            {
                throw new ModelLoadException($"{specSide}, but model '{model.Path}' has {model.Inputs.Count} inputs ({model.DescribeInputs()}); a feature spec fills exactly one, and the others must be recurrent state (NAME_in with an output NAME_out).");
            }

            kind = FeatureModelKind.Recurrent;
        }
        else
        {
            kind = input.Shape.Count == 3 ? FeatureModelKind.Window : FeatureModelKind.Row;
        }

        ModelTensor output = SelectOutput(spec, model, states);
        var onnx = model as OnnxModel;
        // Windows and micro-batches swap whole ORT bindings; a recurrent step only needs its state copied,
        // which any back-end can do.
        if (onnx is null && (kind == FeatureModelKind.Window || options.MicroBatchDeadline is not null))
        {
            throw new ModelLoadException($"Model '{model.Path}' is a {kind} model{(options.MicroBatchDeadline is null ? string.Empty : " with micro-batching")}, which the engine runs through ONNX Runtime only; it is loaded as {model.GetType().Name} ({model.ExecutionProvider}).");
        }

        if (options.MicroBatchDeadline is { } deadline)
        {
            if (kind != FeatureModelKind.Row)
            {
                throw new ModelLoadException($"Micro-batching scores row models; model '{model.Path}' is a {kind} model.");
            }

            if (input.Shape[0] != options.MicroBatchSize)
            {
                throw new ModelLoadException($"Micro-batching {options.MicroBatchSize} rows needs the model loaded with BatchSize {options.MicroBatchSize}; model '{model.Path}' input '{input.Name}' is {input.TypeText}.");
            }

            return new FeatureModelBinding(spec, model, kind, input, output, null, null, new MicroBatcher(onnx!, deadline));
        }

        if (input.Shape[0] != 1)
        {
            throw new ModelLoadException($"{specSide} one row per run, but model '{model.Path}' input '{input.Name}' is {input.TypeText} (a batch of {input.Shape[0]}); load it with BatchSize 1, or turn on micro-batching.");
        }

        return kind switch
        {
            FeatureModelKind.Window => new FeatureModelBinding(spec, model, kind, input, output, new WindowedModel(onnx!), null, null),
            FeatureModelKind.Recurrent => new FeatureModelBinding(spec, model, kind, input, output, null, new RecurrentModel(model, states), null),
            _ => new FeatureModelBinding(spec, model, kind, input, output, null, null, null),
        };
    }

    /// <summary>Writes <paramref name="instrument"/>'s new feature row where the model will read it (row models: the input; windowed: the instrument's window; recurrent: the step input).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(int instrument, ReadOnlySpan<float> row)
    {
        switch (Kind)
        {
            case FeatureModelKind.Window:
                _windowed!.Push(instrument, row);
                break;
            default:
                // Row and recurrent models both read the row from their (step) input.
                row.CopyTo(_input.Span);
                break;
        }
    }

    /// <summary>
    /// Runs the model for <paramref name="instrument"/> on what <see cref="Write"/> put there; the prediction
    /// is in <see cref="Prediction"/>. False, without running, while a windowed model's window is still filling.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryRun(int instrument)
    {
        switch (Kind)
        {
            case FeatureModelKind.Window:
                return _windowed!.TryRun(instrument);
            case FeatureModelKind.Recurrent:
                _recurrent!.Step(instrument);
                return true;
            default:
                _model.Run();
                return true;
        }
    }

    /// <summary>Forgets <paramref name="instrument"/>'s window or recurrent state (a halt, a gap in the feed). Stage thread only.</summary>
    public void Reset(int instrument)
    {
        _windowed?.Reset(instrument);
        _recurrent?.Reset(instrument);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _windowed?.Dispose();
        _recurrent?.Dispose();
        Batcher?.Dispose();
    }

    private static ModelTensor SelectOutput(FeatureSpec spec, InferenceModel model, IReadOnlyList<(string Input, string Output)> states)
    {
        ModelTensor output;
        if (spec.OutputName is { } outputName)
        {
            output = model.Outputs.FirstOrDefault(t => t.Name == outputName)
                ?? throw new ModelLoadException($"Feature spec '{spec.Source}' reads output '{outputName}', but model '{model.Path}' has outputs {model.DescribeOutputs()}.");
        }
        else
        {
            output = model.Outputs.FirstOrDefault(t => !states.Any(s => s.Output == t.Name))
                ?? throw new ModelLoadException($"Model '{model.Path}' has no output besides its state ({model.DescribeOutputs()}).");
        }

        if (output.ElementType != ModelElementType.Float32)
        {
            throw new ModelLoadException($"Feature spec '{spec.Source}' reads the prediction from output '{output.Name}', which is {output.TypeText}; predictions are float32 (name a float32 output in the spec's \"output\"). Model '{model.Path}' has outputs {model.DescribeOutputs()}.");
        }

        return output;
    }

    private static int IndexOf(IReadOnlyList<ModelTensor> tensors, ModelTensor tensor)
    {
        for (int i = 0; i < tensors.Count; i++)
        {
            if (ReferenceEquals(tensors[i], tensor))
            {
                return i;
            }
        }

        return -1;
    }
}
