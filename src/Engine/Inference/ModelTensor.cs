using Engine.Native;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Engine.Inference;

/// <summary>
/// One model input or output: a float32 tensor of fixed shape in pinned, 64-byte-aligned native
/// memory; for ONNX Runtime it is wrapped once in an <see cref="OrtValue"/> that ORT reads or writes directly.
/// </summary>
/// <remarks>
/// Write inputs through <see cref="Span"/> before <see cref="InferenceModel.Run"/>; read outputs after it.
/// Owned by its model; spans are valid until the model is disposed.
/// </remarks>
public sealed class ModelTensor : IDisposable
{
    private readonly AlignedBuffer<float> _buffer;
    private OrtValue? _value;

    /// <summary>Allocates a zeroed tensor of <paramref name="shape"/> (every dimension fixed and positive).</summary>
    public ModelTensor(string name, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        Name = name;
        Shape = shape;
        long count = 1;
        foreach (long d in shape)
        {
            count *= d;
        }

        ElementCount = checked((int)count);
        _buffer = new AlignedBuffer<float>(ElementCount);
    }

    /// <summary>Name in the model.</summary>
    public string Name { get; }

    /// <summary>Resolved shape.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Number of floats.</summary>
    public int ElementCount { get; }

    /// <summary>The tensor's memory.</summary>
    public Span<float> Span => _buffer.Span;

    /// <summary>The ORT value over <see cref="Span"/>, created on first use (only ONNX Runtime back-ends need it).</summary>
    internal OrtValue Value => _value ??= OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, [.. Shape], _buffer.Address, ElementCount * sizeof(float));

    /// <summary>Shape as text, e.g. <c>[1, 9]</c>.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";

    /// <inheritdoc />
    public void Dispose()
    {
        _value?.Dispose();
        _buffer.Dispose();
    }
}
