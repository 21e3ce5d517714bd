using Engine.Native;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Engine.Inference;

/// <summary>
/// One model input or output: a float32 tensor of fixed shape in pinned, 64-byte-aligned native
/// memory, wrapped once in an <see cref="OrtValue"/> that ONNX Runtime reads from or writes to directly.
/// </summary>
/// <remarks>
/// Write inputs through <see cref="Span"/> before <see cref="OnnxModel.Run"/>; read outputs after it.
/// Owned by its <see cref="OnnxModel"/>; spans are valid until the model is disposed.
/// </remarks>
public sealed class ModelTensor : IDisposable
{
    private readonly AlignedBuffer<float> _buffer;

    internal ModelTensor(string name, long[] shape)
    {
        Name = name;
        Shape = shape;
        long count = 1;
        foreach (long d in shape)
        {
            count *= d;
        }

        ElementCount = checked((int)count);
        _buffer = new AlignedBuffer<float>(ElementCount);
        Value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, shape, _buffer.Address, ElementCount * sizeof(float));
    }

    /// <summary>Name in the model.</summary>
    public string Name { get; }

    /// <summary>Resolved shape.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Number of floats.</summary>
    public int ElementCount { get; }

    /// <summary>The tensor's memory.</summary>
    public Span<float> Span => _buffer.Span;

    /// <summary>The ORT value over <see cref="Span"/>.</summary>
    internal OrtValue Value { get; }

    /// <summary>Shape as text, e.g. <c>[1, 9]</c>.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";

    /// <inheritdoc />
    public void Dispose()
    {
        Value.Dispose();
        _buffer.Dispose();
    }
}
