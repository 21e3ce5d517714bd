using System.Runtime.CompilerServices;

namespace Engine.Inference;

/// <summary>
/// Runs a stateful recurrent step model one tick at a time: inputs are the new step (e.g. <c>x</c>
/// [1, F]) and the state (<c>h_in</c>, <c>c_in</c>); outputs are the prediction and the next state
/// (<c>h_out</c>, <c>c_out</c>). Each instrument keeps its state in two pinned buffers per state tensor
/// and two bindings: one reads buffer A and writes B, the other reads B and writes A. A step runs the
/// binding of the current parity and flips it, so the new state is never copied: it is swapped by binding.
/// </summary>
/// <remarks>
/// State pairs are given, or found by name: an input <c>NAME_in</c> with an output <c>NAME_out</c> of the
/// same type and shape (the convention of this project's exports). Every other input is the step input
/// (exactly one). Cost per step: one copy of the step row and one <c>RunWithBinding</c>. A back-end without
/// bindings (a compiled kernel) keeps each instrument's state in one buffer per state tensor instead and
/// copies it into the model's state inputs before the run and back from its state outputs after (a few
/// hundred bytes: tens of nanoseconds next to the step). An instrument's
/// first step (or <see cref="Prepare"/>) is a cold path that allocates its state and bindings; nothing
/// allocates after. Threading: one thread. Ownership: the caller owns the model and disposes it after this runner.
/// </remarks>
public sealed class RecurrentModel : IDisposable
{
    private readonly InferenceModel _model;
    private readonly OnnxModel? _onnx;
    private readonly ModelTensor _step;
    private readonly (ModelTensor Input, ModelTensor Output)[] _pairs;
    private readonly InstrumentTable<Slot> _slots = new();

    /// <summary>Wraps <paramref name="model"/> (load it with batch 1). <paramref name="statePairs"/> names (input, output) state pairs; null finds them by the <c>_in</c>/<c>_out</c> convention.</summary>
    public RecurrentModel(InferenceModel model, IReadOnlyList<(string Input, string Output)>? statePairs = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _onnx = model as OnnxModel;
        statePairs ??= FindStatePairs(model);
        if (statePairs.Count == 0)
        {
            throw new ModelLoadException($"Model '{model.Path}' has no state: no input NAME_in matches an output NAME_out of the same type and shape (inputs {model.DescribeInputs()}; outputs {model.DescribeOutputs()}).");
        }

        _pairs = new (ModelTensor, ModelTensor)[statePairs.Count];
        for (int i = 0; i < _pairs.Length; i++)
        {
            ModelTensor input = model.Input(statePairs[i].Input);
            ModelTensor output = model.Output(statePairs[i].Output);
            if (input.ElementType != output.ElementType || input.ShapeText != output.ShapeText)
            {
                throw new ModelLoadException($"Model '{model.Path}' state input '{input.Name}' {input.TypeText} does not match state output '{output.Name}' {output.TypeText}.");
            }

            _pairs[i] = (input, output);
        }

        ModelTensor[] steps = [.. model.Inputs.Where(t => !_pairs.Any(p => p.Input == t))];
        if (steps.Length != 1 || steps[0].ElementType != ModelElementType.Float32)
        {
            throw new ModelLoadException($"A recurrent step model takes one float32 step input besides its state; model '{model.Path}' has {steps.Length} ({string.Join("; ", steps.Select(t => $"'{t.Name}' {t.TypeText}"))}).");
        }

        _step = steps[0];
    }

    /// <summary>The model.</summary>
    public InferenceModel Model => _model;

    /// <summary>The step input (write it, or pass the row to <see cref="Step(int, ReadOnlySpan{float})"/>).</summary>
    public ModelTensor StepInput => _step;

    /// <summary>The state (input, output) pairs.</summary>
    public IReadOnlyList<(string Input, string Output)> StatePairs => [.. _pairs.Select(p => (p.Input.Name, p.Output.Name))];

    /// <summary>The model's outputs; after a step the non-state ones hold that instrument's prediction (state outputs are per instrument: read <see cref="State"/>).</summary>
    public IReadOnlyList<ModelTensor> Outputs => _model.Outputs;

    /// <summary>Instruments with state.</summary>
    public int Instruments => _slots.Count;

    /// <summary>Creates <paramref name="instrument"/>'s state (zeros) and bindings ahead of its first step (cold path).</summary>
    public void Prepare(int instrument) => _ = _slots.Find(instrument) ?? Create(instrument);

    /// <summary>Feeds <paramref name="row"/> as the next step of <paramref name="instrument"/> and runs the model; the state advances.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(int instrument, ReadOnlySpan<float> row)
    {
        row.CopyTo(_step.Span);
        Step(instrument);
    }

    /// <summary>Runs one step of <paramref name="instrument"/> on what <see cref="StepInput"/> holds; the state advances.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step(int instrument)
    {
        Slot slot = _slots.Find(instrument) ?? Create(instrument);
        if (_onnx is not null)
        {
            int parity = slot.Parity;
            _onnx.Run(slot.Bindings[parity]);
            slot.Parity = parity ^ 1;
        }
        else
        {
            // No bindings to swap: the instrument's state goes in, the model steps, the new state comes back.
            for (int i = 0; i < _pairs.Length; i++)
            {
                slot.Current(i).CopyTo(_pairs[i].Input.Bytes);
            }

            _model.Run();
            for (int i = 0; i < _pairs.Length; i++)
            {
                _pairs[i].Output.Bytes.CopyTo(slot.CurrentBytes(i));
            }
        }

        slot.Steps++;
    }

    /// <summary>Steps taken by <paramref name="instrument"/> since its state was created or reset.</summary>
    public long Steps(int instrument) => _slots.Find(instrument)?.Steps ?? 0;

    /// <summary>Sets <paramref name="instrument"/>'s state back to zeros (start of day, a halt, a gap in the feed).</summary>
    public void Reset(int instrument)
    {
        if (_slots.Find(instrument) is { } slot)
        {
            slot.Clear();
        }
    }

    /// <summary>The state <paramref name="instrument"/>'s next step will read for state input <paramref name="input"/> (e.g. <c>h_in</c>).</summary>
    public ReadOnlySpan<float> State(int instrument, string input)
    {
        int pair = Array.FindIndex(_pairs, p => p.Input.Name == input);
        if (pair < 0)
        {
            throw new ArgumentException($"'{input}' is not a state input; state inputs are {string.Join(", ", _pairs.Select(p => p.Input.Name))}.", nameof(input));
        }

        return _slots.Find(instrument) is { } slot ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(slot.Current(pair)) : [];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (Slot slot in _slots.All())
        {
            slot.Dispose();
        }
    }

    /// <summary>The state pairs of <paramref name="model"/> by convention: input <c>NAME_in</c> and output <c>NAME_out</c> of the same type and shape.</summary>
    public static IReadOnlyList<(string Input, string Output)> FindStatePairs(InferenceModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var pairs = new List<(string, string)>();
        foreach (ModelTensor input in model.Inputs)
        {
            if (!input.Name.EndsWith("_in", StringComparison.Ordinal))
            {
                continue;
            }

            string output = string.Concat(input.Name.AsSpan(0, input.Name.Length - 3), "_out");
            if (model.Outputs.Any(o => o.Name == output && o.TypeText == input.TypeText))
            {
                pairs.Add((input.Name, output));
            }
        }

        return pairs;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Slot Create(int instrument)
    {
        var a = new ModelTensor[_pairs.Length];
        var b = new ModelTensor[_pairs.Length];
        var views = new List<ModelTensor>();
        for (int i = 0; i < _pairs.Length; i++)
        {
            a[i] = new ModelTensor(_pairs[i].Input.Name, [.. _pairs[i].Input.Shape], _pairs[i].Input.ElementType);
            b[i] = new ModelTensor(_pairs[i].Input.Name, [.. _pairs[i].Input.Shape], _pairs[i].Input.ElementType);
        }

        Slot slot;
        if (_onnx is null)
        {
            slot = new Slot(a, b, views, []);
        }
        else
        {
            // Parity 0 reads A and writes B; parity 1 reads B and writes A. The output side is a view named as the output.
            OnnxBinding even = _onnx.CreateBinding(a, [.. b.Select((t, i) => Track(views, t.View(0, [.. t.Shape], _pairs[i].Output.Name)))]);
            OnnxBinding odd = _onnx.CreateBinding(b, [.. a.Select((t, i) => Track(views, t.View(0, [.. t.Shape], _pairs[i].Output.Name)))]);
            slot = new Slot(a, b, views, [even, odd]);
        }

        _slots.Add(instrument, slot);
        return slot;
    }

    private static ModelTensor Track(List<ModelTensor> views, ModelTensor view)
    {
        views.Add(view);
        return view;
    }

    private sealed class Slot(ModelTensor[] a, ModelTensor[] b, List<ModelTensor> views, OnnxBinding[] bindings) : IDisposable
    {
        public OnnxBinding[] Bindings { get; } = bindings;

        public int Parity { get; set; }

        public long Steps { get; set; }

        public ReadOnlySpan<byte> Current(int pair) => (Parity == 0 ? a : b)[pair].Bytes;

        public Span<byte> CurrentBytes(int pair) => (Parity == 0 ? a : b)[pair].Bytes;

        public void Clear()
        {
            foreach (ModelTensor t in a)
            {
                t.Bytes.Clear();
            }

            foreach (ModelTensor t in b)
            {
                t.Bytes.Clear();
            }

            Parity = 0;
            Steps = 0;
        }

        public void Dispose()
        {
            foreach (OnnxBinding binding in Bindings)
            {
                binding.Dispose();
            }

            foreach (ModelTensor v in views)
            {
                v.Dispose();
            }

            foreach (ModelTensor t in a)
            {
                t.Dispose();
            }

            foreach (ModelTensor t in b)
            {
                t.Dispose();
            }
        }
    }
}
