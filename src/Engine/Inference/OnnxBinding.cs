using Microsoft.ML.OnnxRuntime;

namespace Engine.Inference;

/// <summary>
/// A set of pinned tensors bound once to an <see cref="OnnxModel"/>'s inputs and outputs through an
/// <see cref="OrtIoBinding"/>. Running a model with another binding swaps every buffer at once, with
/// no per-call binding (which would allocate): windowed, recurrent and batched runners keep one per
/// window slot, state parity or batch size. Made by <see cref="OnnxModel.CreateBinding"/>; owned by
/// that model (disposed with it) unless disposed earlier.
/// </summary>
public sealed class OnnxBinding : IDisposable
{
    private readonly OrtIoBinding _handle;
    private readonly ModelTensor[] _inputs;
    private readonly bool _rebindInputsEachRun;

    internal OnnxBinding(OnnxModel owner, OrtIoBinding handle, ModelTensor[] inputs, ModelTensor[] outputs, bool rebindInputsEachRun)
    {
        Owner = owner;
        _handle = handle;
        _inputs = inputs;
        Inputs = inputs;
        Outputs = outputs;
        _rebindInputsEachRun = rebindInputsEachRun;
        foreach (ModelTensor input in inputs)
        {
            handle.BindInput(input.Name, input.Value);
        }

        foreach (ModelTensor output in outputs)
        {
            handle.BindOutput(output.Name, output.Value);
        }
    }

    /// <summary>The tensors bound to the model's inputs, in the model's order.</summary>
    public IReadOnlyList<ModelTensor> Inputs { get; }

    /// <summary>The tensors bound to the model's outputs, in the model's order.</summary>
    public IReadOnlyList<ModelTensor> Outputs { get; }

    internal OnnxModel Owner { get; }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();

    internal void RunOn(InferenceSession session, RunOptions options)
    {
        if (_rebindInputsEachRun)
        {
            RebindInputs();
        }

        session.RunWithBinding(options, _handle);
    }

    // GPU providers copy a bound CPU input to the device at bind time. ORT's C# BindInput encodes the
    // name on each call (a small allocation): the price of a GPU input that lives in host memory.
    private void RebindInputs()
    {
        foreach (ModelTensor input in _inputs)
        {
            _handle.BindInput(input.Name, input.Value);
        }
    }
}
