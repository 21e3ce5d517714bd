using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Engine.Native;
using Microsoft.ML.OnnxRuntime;

namespace Engine.Inference;

/// <summary>
/// One model input or output: a tensor of fixed shape and element type in pinned, 64-byte-aligned
/// native memory; for ONNX Runtime it is wrapped once in an <see cref="OrtValue"/> that ORT reads or
/// writes directly.
/// </summary>
/// <remarks>
/// Write inputs through <see cref="Span"/> (float32) or <see cref="AsSpan{T}"/> (other types) before
/// <see cref="InferenceModel.Run"/>; read outputs after it. Getting a span costs a type check and no
/// allocation. Owned by its model (or by the windowed, recurrent or batched runner that made it);
/// spans are valid until the owner is disposed. A <em>view</em> (made by the engine for windows and
/// batch prefixes) shares another tensor's memory and frees only its own ORT value.
/// </remarks>
public sealed unsafe class ModelTensor : IDisposable
{
    private readonly AlignedBuffer<byte>? _buffer;
    private readonly byte* _address;
    private OrtValue? _value;

    /// <summary>Allocates a zeroed float32 tensor of <paramref name="shape"/> (every dimension fixed and positive).</summary>
    public ModelTensor(string name, long[] shape)
        : this(name, shape, ModelElementType.Float32)
    {
    }

    /// <summary>Allocates a zeroed tensor of <paramref name="shape"/> and <paramref name="elementType"/>.</summary>
    public ModelTensor(string name, long[] shape, ModelElementType elementType)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        Name = name;
        Shape = shape;
        ElementType = elementType;
        ElementSize = ModelElementTypes.SizeOf(elementType);
        ElementCount = CountOf(shape);
        _buffer = new AlignedBuffer<byte>(checked(ElementCount * ElementSize));
        _address = (byte*)_buffer.Address;
    }

    // A view over memory someone else owns (a window slot, a batch prefix); the owner outlives the view.
    private ModelTensor(string name, long[] shape, ModelElementType elementType, byte* address)
    {
        Name = name;
        Shape = shape;
        ElementType = elementType;
        ElementSize = ModelElementTypes.SizeOf(elementType);
        ElementCount = CountOf(shape);
        _address = address;
    }

    /// <summary>Name in the model.</summary>
    public string Name { get; }

    /// <summary>Resolved shape.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Number of elements.</summary>
    public int ElementCount { get; }

    /// <summary>Element type.</summary>
    public ModelElementType ElementType { get; }

    /// <summary>Bytes per element.</summary>
    public int ElementSize { get; }

    /// <summary>Bytes of data (<see cref="ElementCount"/> × <see cref="ElementSize"/>).</summary>
    public int SizeInBytes => ElementCount * ElementSize;

    /// <summary>
    /// Class labels, when the loader knows them: for a probabilities output, the class of each column
    /// (index j of the last dimension is class <c>ClassLabels[j]</c>); for a label output of a classifier
    /// whose classes are strings, the string of each value (the tensor holds class indices). Null otherwise.
    /// </summary>
    public IReadOnlyList<string>? ClassLabels { get; internal set; }

    /// <summary>The tensor's memory as float32. Throws <see cref="InvalidOperationException"/> for other element types (use <see cref="AsSpan{T}"/>).</summary>
    public Span<float> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (ElementType != ModelElementType.Float32)
            {
                ThrowWrongType(typeof(float));
            }

            return new Span<float>(_address, ElementCount);
        }
    }

    /// <summary>The tensor's raw bytes.</summary>
    public Span<byte> Bytes => new(_address, SizeInBytes);

    /// <summary>Shape as text, e.g. <c>[1, 9]</c>.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";

    /// <summary>Type and shape as text, e.g. <c>float32 [1, 9]</c>.</summary>
    public string TypeText => $"{ModelElementTypes.Name(ElementType)} {ShapeText}";

    /// <summary>True when this tensor shares another's memory.</summary>
    public bool IsView => _buffer is null;

    /// <summary>Address of the first element (pinned: valid until the owner is disposed).</summary>
    internal nint Address => (nint)_address;

    /// <summary>The ORT value over the memory, created on first use (only ONNX Runtime back-ends need it).</summary>
    internal OrtValue Value => _value ??= OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, ModelElementTypes.ToOrt(ElementType), [.. Shape], (nint)_address, SizeInBytes);

    /// <summary>The memory as <typeparamref name="T"/>, which must match <see cref="ElementType"/> (<c>long</c> for int64, <c>byte</c> for uint8, ...).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        if (!ModelElementTypes.Matches<T>(ElementType))
        {
            ThrowWrongType(typeof(T));
        }

        return new Span<T>(_address, ElementCount);
    }

    /// <summary>Element <paramref name="index"/> converted to double, whatever the element type (for checks and tools; not for the hot path).</summary>
    public double GetAsDouble(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)ElementCount, nameof(index));
        byte* p = _address + ((nint)index * ElementSize);
        return ElementType switch
        {
            ModelElementType.Float32 => *(float*)p,
            ModelElementType.Float64 => *(double*)p,
            ModelElementType.Int8 => *(sbyte*)p,
            ModelElementType.UInt8 => *p,
            ModelElementType.Int16 => *(short*)p,
            ModelElementType.UInt16 => *(ushort*)p,
            ModelElementType.Int32 => *(int*)p,
            ModelElementType.UInt32 => *(uint*)p,
            ModelElementType.Int64 => *(long*)p,
            ModelElementType.UInt64 => *(ulong*)p,
            ModelElementType.Bool => *p != 0 ? 1 : 0,
            ModelElementType.Float16 => (double)*(Half*)p,
            ModelElementType.BFloat16 => BitConverter.Int32BitsToSingle(*(ushort*)p << 16),
            _ => double.NaN,
        };
    }

    /// <summary>Stores <paramref name="value"/> at <paramref name="index"/>, converted to the element type (for tools and tests; not for the hot path).</summary>
    public void SetFromDouble(int index, double value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)ElementCount, nameof(index));
        byte* p = _address + ((nint)index * ElementSize);
        switch (ElementType)
        {
            case ModelElementType.Float32: *(float*)p = (float)value; break;
            case ModelElementType.Float64: *(double*)p = value; break;
            case ModelElementType.Int8: *(sbyte*)p = (sbyte)value; break;
            case ModelElementType.UInt8: *p = (byte)value; break;
            case ModelElementType.Int16: *(short*)p = (short)value; break;
            case ModelElementType.UInt16: *(ushort*)p = (ushort)value; break;
            case ModelElementType.Int32: *(int*)p = (int)value; break;
            case ModelElementType.UInt32: *(uint*)p = (uint)value; break;
            case ModelElementType.Int64: *(long*)p = (long)value; break;
            case ModelElementType.UInt64: *(ulong*)p = (ulong)value; break;
            case ModelElementType.Bool: *p = value != 0 ? (byte)1 : (byte)0; break;
            case ModelElementType.Float16: *(Half*)p = (Half)value; break;
            case ModelElementType.BFloat16: *(ushort*)p = (ushort)(BitConverter.SingleToInt32Bits((float)value) >> 16); break;
            default: throw new InvalidOperationException($"Cannot store into {TypeText}.");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _value?.Dispose();
        _value = null;
        _buffer?.Dispose();
    }

    /// <summary>
    /// A tensor named like this one over this one's memory from element <paramref name="elementOffset"/>,
    /// with <paramref name="shape"/> (which must fit). Used for window slots and batch prefixes; the view
    /// must be disposed before this tensor.
    /// </summary>
    internal ModelTensor View(long elementOffset, long[] shape) => View(elementOffset, shape, Name);

    /// <summary>As <see cref="View(long, long[])"/>, named <paramref name="name"/> (the same memory bound as an input in one binding and an output in another).</summary>
    internal ModelTensor View(long elementOffset, long[] shape, string name)
    {
        long count = CountOf(shape);
        if (elementOffset < 0 || elementOffset + count > ElementCount)
        {
            throw new ArgumentOutOfRangeException(nameof(shape), $"A view of {count} elements at {elementOffset} does not fit in '{Name}' {TypeText}.");
        }

        return new ModelTensor(name, shape, ElementType, _address + (elementOffset * ElementSize)) { ClassLabels = ClassLabels };
    }

    private static int CountOf(long[] shape)
    {
        long count = 1;
        foreach (long d in shape)
        {
            if (d <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(shape), $"Every dimension must be fixed and positive; got [{string.Join(", ", shape)}].");
            }

            count *= d;
        }

        return checked((int)count);
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowWrongType(Type requested) =>
        throw new InvalidOperationException($"Tensor '{Name}' is {TypeText}; it cannot be read as {requested.Name}.");
}
