using System.Runtime.CompilerServices;

namespace Engine.Inference;

/// <summary>
/// Scores several instruments with one model run: rows are added to a batched input as their triggers
/// fire, and one <c>RunWithBinding</c> scores all of them when the caller's batch of events ends, when the
/// batch is full, or when the oldest row has waited <see cref="Deadline"/>, whichever comes first. For a
/// model with one float32 input <c>[batch, ...]</c> and a dynamic batch dimension, loaded with
/// <see cref="ModelOptions.BatchSize"/> = the capacity.
/// </summary>
/// <remarks>
/// One binding per batch size 1..capacity, each over the first k rows of the same pinned input and
/// output buffers, so a run over k rows computes k rows and nothing is copied or rebound. Cost:
/// <see cref="Add"/> one row copy; <see cref="Flush"/> one run. No allocation after construction.
/// Threading: one thread. Ownership: the caller owns the model and disposes it after the batcher.
/// </remarks>
public sealed class MicroBatcher : IDisposable
{
    private readonly OnnxModel _model;
    private readonly ModelTensor _input;
    private readonly int _rowWidth;
    private readonly int[] _outputWidths;
    private readonly ModelTensor[] _outputs;
    private readonly OnnxBinding[] _bindings;
    private readonly List<ModelTensor> _views = [];
    private int _count;
    private long _firstAddedNs;

    /// <summary>Wraps <paramref name="model"/>; rows wait at most <paramref name="deadline"/> for company.</summary>
    public MicroBatcher(OnnxModel model, TimeSpan deadline)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(deadline, TimeSpan.Zero);
        if (model.Inputs.Count != 1 || model.Inputs[0] is not { ElementType: ModelElementType.Float32, Shape.Count: >= 2 } input)
        {
            throw new ModelLoadException($"Micro-batching takes a model with one float32 input [batch, ...]; model '{model.Path}' has {model.DescribeInputs()}.");
        }

        _model = model;
        _input = input;
        Capacity = (int)input.Shape[0];
        Deadline = deadline;
        DeadlineNs = (long)(deadline.Ticks * (1_000_000_000.0 / TimeSpan.TicksPerSecond));
        _rowWidth = input.ElementCount / Capacity;
        _outputs = [.. model.Outputs];
        _outputWidths = new int[_outputs.Length];
        for (int o = 0; o < _outputWidths.Length; o++)
        {
            ModelTensor output = model.Outputs[o];
            if (output.Shape.Count == 0 || output.Shape[0] != Capacity || output.ElementType != ModelElementType.Float32)
            {
                throw new ModelLoadException($"Micro-batching needs float32 outputs whose first dimension is the batch ({Capacity}); model '{model.Path}' output '{output.Name}' is {output.TypeText}.");
            }

            _outputWidths[o] = output.ElementCount / Capacity;
        }

        _bindings = new OnnxBinding[Capacity];
        try
        {
            for (int k = 1; k <= Capacity; k++)
            {
                ModelTensor[] inputs = [View(input, k)];
                ModelTensor[] outputs = [.. model.Outputs.Select(o => View(o, k))];
                _bindings[k - 1] = model.CreateBinding(inputs, outputs);
            }
        }
        catch (ArgumentException ex)
        {
            Dispose();
            throw new ModelLoadException($"Micro-batching needs a dynamic batch dimension; model '{model.Path}': {ex.Message}", ex);
        }
    }

    /// <summary>Rows per run at most (the model's batch).</summary>
    public int Capacity { get; }

    /// <summary>Longest a row waits for others before the batch is run.</summary>
    public TimeSpan Deadline { get; }

    /// <summary><see cref="Deadline"/> in nanoseconds.</summary>
    public long DeadlineNs { get; }

    /// <summary>Rows waiting.</summary>
    public int Count => _count;

    /// <summary>Runs done.</summary>
    public long Runs { get; private set; }

    /// <summary>Rows scored.</summary>
    public long RowsScored { get; private set; }

    /// <summary>The model.</summary>
    public OnnxModel Model => _model;

    /// <summary>
    /// Adds a row (the model's row width in floats) at monotonic time <paramref name="nowNs"/> and returns its
    /// index in the batch. The batch must not be full: flush when <see cref="IsDue"/> says so.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Add(ReadOnlySpan<float> row, long nowNs)
    {
        int k = _count;
        if (k == Capacity || row.Length != _rowWidth)
        {
            ThrowCannotAdd(row.Length);
        }

        row.CopyTo(_input.Span.Slice(k * _rowWidth, _rowWidth));
        if (k == 0)
        {
            _firstAddedNs = nowNs;
        }

        _count = k + 1;
        return k;
    }

    /// <summary>True when rows wait and the batch is full or the oldest has waited <see cref="Deadline"/> at <paramref name="nowNs"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsDue(long nowNs) => _count > 0 && (_count == Capacity || nowNs - _firstAddedNs >= DeadlineNs);

    /// <summary>Runs the model over the waiting rows and returns how many it scored (0: nothing ran). Results stay readable through <see cref="Output"/> until the next <see cref="Add"/>.</summary>
    public int Flush()
    {
        int k = _count;
        if (k == 0)
        {
            return 0;
        }

        _model.Run(_bindings[k - 1]);
        _count = 0;
        Runs++;
        RowsScored += k;
        return k;
    }

    /// <summary>Row <paramref name="row"/> of output <paramref name="output"/> (in the model's order) after <see cref="Flush"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<float> Output(int row, int output = 0)
    {
        int width = _outputWidths[output];
        return _outputs[output].Span.Slice(row * width, width);
    }

    /// <summary>Row <paramref name="row"/> of the batched input (the features the model saw).</summary>
    public ReadOnlySpan<float> InputRow(int row) => _input.Span.Slice(row * _rowWidth, _rowWidth);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (OnnxBinding? b in _bindings)
        {
            b?.Dispose();
        }

        foreach (ModelTensor v in _views)
        {
            v.Dispose();
        }
    }

    private ModelTensor View(ModelTensor tensor, int rows)
    {
        long[] shape = [.. tensor.Shape];
        shape[0] = rows;
        ModelTensor view = tensor.View(0, shape);
        _views.Add(view);
        return view;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowCannotAdd(int length) => throw new InvalidOperationException(
        length != _rowWidth ? $"A batch row has {_rowWidth} floats; got {length}." : $"The batch is full ({Capacity} rows): flush before adding.");
}
