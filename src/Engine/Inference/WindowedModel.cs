using System.Runtime.CompilerServices;

namespace Engine.Inference;

/// <summary>
/// Runs a model over a window of the last W feature rows of each instrument: input float32
/// <c>[1, W, F]</c> (an LSTM, GRU or TCN over recent events). Each instrument has a
/// <see cref="FeatureWindow"/> and W bindings, one per window start, each binding the model input to the
/// W contiguous rows beginning at that start; a run uses the binding of the window's current start, so
/// ONNX Runtime reads the window where it lies, with no copy and no rebinding per call.
/// </summary>
/// <remarks>
/// Cost: <see cref="Push"/> two row copies; <see cref="TryRun"/> one <c>RunWithBinding</c>. An
/// instrument's first <see cref="Push"/> (or <see cref="Prepare"/>) is a cold path that allocates its
/// window and W bindings (≈ W × 1 KB native); after that nothing allocates. Threading: the thread that
/// created the model, only. Ownership: the caller owns the model and disposes it after this runner.
/// </remarks>
public sealed class WindowedModel : IDisposable
{
    private readonly OnnxModel _model;
    private readonly string _inputName;
    private readonly InstrumentTable<Slot> _slots = new();

    /// <summary>Wraps <paramref name="model"/>, whose one input must be float32 [1, W, F] (load it with batch 1).</summary>
    public WindowedModel(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Inputs.Count != 1 || model.Inputs[0] is not { ElementType: ModelElementType.Float32, Shape.Count: 3 } input || input.Shape[0] != 1)
        {
            throw new ModelLoadException($"A windowed model takes one float32 input [1, window, features]; model '{model.Path}' has {model.DescribeInputs()}.");
        }

        _model = model;
        _inputName = input.Name;
        Length = (int)input.Shape[1];
        Features = (int)input.Shape[2];
    }

    /// <summary>The model.</summary>
    public OnnxModel Model => _model;

    /// <summary>Rows per window (W).</summary>
    public int Length { get; }

    /// <summary>Features per row (F).</summary>
    public int Features { get; }

    /// <summary>The model's outputs: after <see cref="TryRun"/> returned true they hold that instrument's prediction.</summary>
    public IReadOnlyList<ModelTensor> Outputs => _model.Outputs;

    /// <summary>Instruments with a window.</summary>
    public int Instruments => _slots.Count;

    /// <summary>Creates the window and bindings of <paramref name="instrument"/> ahead of its first row (cold path), so the first live row allocates nothing.</summary>
    public FeatureWindow Prepare(int instrument) => (_slots.Find(instrument) ?? Create(instrument)).Window;

    /// <summary>Appends a row of <see cref="Features"/> floats to <paramref name="instrument"/>'s window.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(int instrument, ReadOnlySpan<float> row) => (_slots.Find(instrument) ?? Create(instrument)).Window.Push(row);

    /// <summary>
    /// Runs the model on <paramref name="instrument"/>'s window; results are in <see cref="Outputs"/>.
    /// Returns false, without running, until the window holds <see cref="Length"/> rows (the caller counts the skip).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryRun(int instrument)
    {
        Slot? slot = _slots.Find(instrument);
        if (slot is null || !slot.Window.IsFull)
        {
            return false;
        }

        _model.Run(slot.Bindings[slot.Window.Start]);
        return true;
    }

    /// <summary>Empties <paramref name="instrument"/>'s window (e.g. after a trading halt); it fills again from the next row.</summary>
    public void Reset(int instrument) => _slots.Find(instrument)?.Window.Clear();

    /// <summary>The current window of <paramref name="instrument"/> (empty when it has none).</summary>
    public ReadOnlySpan<float> Window(int instrument) => _slots.Find(instrument) is { } slot ? slot.Window.Latest : [];

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (Slot slot in _slots.All())
        {
            slot.Dispose();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Slot Create(int instrument)
    {
        var window = new FeatureWindow(Length, Features, _inputName);
        var views = new ModelTensor[Length];
        var bindings = new OnnxBinding[Length];
        for (int start = 0; start < Length; start++)
        {
            views[start] = window.Storage.View((long)start * Features, [1, Length, Features]);
            bindings[start] = _model.CreateBinding([views[start]], []);
        }

        var slot = new Slot(window, views, bindings);
        _slots.Add(instrument, slot);
        return slot;
    }

    private sealed class Slot(FeatureWindow window, ModelTensor[] views, OnnxBinding[] bindings) : IDisposable
    {
        public FeatureWindow Window { get; } = window;

        public OnnxBinding[] Bindings { get; } = bindings;

        public void Dispose()
        {
            foreach (OnnxBinding b in Bindings)
            {
                b.Dispose();
            }

            foreach (ModelTensor v in views)
            {
                v.Dispose();
            }

            Window.Dispose();
        }
    }
}
