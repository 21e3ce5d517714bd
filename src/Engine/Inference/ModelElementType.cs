using Microsoft.ML.OnnxRuntime.Tensors;

namespace Engine.Inference;

/// <summary>
/// Element type of a <see cref="ModelTensor"/>: the fixed-size numeric types ONNX models use. Strings,
/// sequences and maps are not tensor element types the engine binds (see <see cref="OnnxModel.Load"/>
/// for how classifier outputs of those kinds are handled).
/// </summary>
public enum ModelElementType
{
    /// <summary>32-bit IEEE float: the type of features and of most model outputs.</summary>
    Float32,

    /// <summary>64-bit IEEE float.</summary>
    Float64,

    /// <summary>Signed 8-bit integer.</summary>
    Int8,

    /// <summary>Unsigned 8-bit integer (e.g. byte-level text models).</summary>
    UInt8,

    /// <summary>Signed 16-bit integer.</summary>
    Int16,

    /// <summary>Unsigned 16-bit integer.</summary>
    UInt16,

    /// <summary>Signed 32-bit integer.</summary>
    Int32,

    /// <summary>Unsigned 32-bit integer.</summary>
    UInt32,

    /// <summary>Signed 64-bit integer (class labels of scikit-learn, XGBoost and LightGBM classifiers).</summary>
    Int64,

    /// <summary>Unsigned 64-bit integer.</summary>
    UInt64,

    /// <summary>Boolean, one byte per element.</summary>
    Bool,

    /// <summary>IEEE half-precision float (read it as <see cref="Half"/>).</summary>
    Float16,

    /// <summary>bfloat16, two bytes per element (read it as <see cref="ushort"/> bits).</summary>
    BFloat16,
}

/// <summary>Sizes, names and ONNX Runtime equivalents of <see cref="ModelElementType"/>.</summary>
public static class ModelElementTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(ModelElementType type) => type switch
    {
        ModelElementType.Float32 or ModelElementType.Int32 or ModelElementType.UInt32 => 4,
        ModelElementType.Float64 or ModelElementType.Int64 or ModelElementType.UInt64 => 8,
        ModelElementType.Int16 or ModelElementType.UInt16 or ModelElementType.Float16 or ModelElementType.BFloat16 => 2,
        ModelElementType.Int8 or ModelElementType.UInt8 or ModelElementType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown element type."),
    };

    /// <summary>The ONNX name of the type, as messages print it (<c>float32</c>, <c>int64</c>, <c>uint8</c>, ...).</summary>
    public static string Name(ModelElementType type) => type switch
    {
        ModelElementType.Float32 => "float32",
        ModelElementType.Float64 => "float64",
        ModelElementType.Int8 => "int8",
        ModelElementType.UInt8 => "uint8",
        ModelElementType.Int16 => "int16",
        ModelElementType.UInt16 => "uint16",
        ModelElementType.Int32 => "int32",
        ModelElementType.UInt32 => "uint32",
        ModelElementType.Int64 => "int64",
        ModelElementType.UInt64 => "uint64",
        ModelElementType.Bool => "bool",
        ModelElementType.Float16 => "float16",
        ModelElementType.BFloat16 => "bfloat16",
        _ => type.ToString(),
    };

    /// <summary>The element type whose <see cref="Name"/> is <paramref name="name"/> (numpy spellings: <c>float32</c>, <c>int64</c>, ...).</summary>
    public static bool TryParse(string name, out ModelElementType type)
    {
        foreach (ModelElementType t in Enum.GetValues<ModelElementType>())
        {
            if (string.Equals(Name(t), name, StringComparison.OrdinalIgnoreCase))
            {
                type = t;
                return true;
            }
        }

        type = default;
        return false;
    }

    /// <summary>ONNX Runtime's element type for <paramref name="type"/>.</summary>
    internal static TensorElementType ToOrt(ModelElementType type) => type switch
    {
        ModelElementType.Float32 => TensorElementType.Float,
        ModelElementType.Float64 => TensorElementType.Double,
        ModelElementType.Int8 => TensorElementType.Int8,
        ModelElementType.UInt8 => TensorElementType.UInt8,
        ModelElementType.Int16 => TensorElementType.Int16,
        ModelElementType.UInt16 => TensorElementType.UInt16,
        ModelElementType.Int32 => TensorElementType.Int32,
        ModelElementType.UInt32 => TensorElementType.UInt32,
        ModelElementType.Int64 => TensorElementType.Int64,
        ModelElementType.UInt64 => TensorElementType.UInt64,
        ModelElementType.Bool => TensorElementType.Bool,
        ModelElementType.Float16 => TensorElementType.Float16,
        ModelElementType.BFloat16 => TensorElementType.BFloat16,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown element type."),
    };

    /// <summary>The engine's type for ONNX Runtime's <paramref name="type"/>; false for strings and types the engine does not bind.</summary>
    internal static bool TryFromOrt(TensorElementType type, out ModelElementType result)
    {
        result = type switch
        {
            TensorElementType.Float => ModelElementType.Float32,
            TensorElementType.Double => ModelElementType.Float64,
            TensorElementType.Int8 => ModelElementType.Int8,
            TensorElementType.UInt8 => ModelElementType.UInt8,
            TensorElementType.Int16 => ModelElementType.Int16,
            TensorElementType.UInt16 => ModelElementType.UInt16,
            TensorElementType.Int32 => ModelElementType.Int32,
            TensorElementType.UInt32 => ModelElementType.UInt32,
            TensorElementType.Int64 => ModelElementType.Int64,
            TensorElementType.UInt64 => ModelElementType.UInt64,
            TensorElementType.Bool => ModelElementType.Bool,
            TensorElementType.Float16 => ModelElementType.Float16,
            TensorElementType.BFloat16 => ModelElementType.BFloat16,
            _ => (ModelElementType)(-1),
        };
        return (int)result >= 0;
    }

    /// <summary>Whether the managed type <typeparamref name="T"/> reads elements of <paramref name="type"/>.</summary>
    internal static bool Matches<T>(ModelElementType type) where T : unmanaged => type switch
    {
        ModelElementType.Float32 => typeof(T) == typeof(float),
        ModelElementType.Float64 => typeof(T) == typeof(double),
        ModelElementType.Int8 => typeof(T) == typeof(sbyte),
        ModelElementType.UInt8 => typeof(T) == typeof(byte),
        ModelElementType.Int16 => typeof(T) == typeof(short),
        ModelElementType.UInt16 or ModelElementType.BFloat16 => typeof(T) == typeof(ushort),
        ModelElementType.Int32 => typeof(T) == typeof(int),
        ModelElementType.UInt32 => typeof(T) == typeof(uint),
        ModelElementType.Int64 => typeof(T) == typeof(long),
        ModelElementType.UInt64 => typeof(T) == typeof(ulong),
        ModelElementType.Bool => typeof(T) == typeof(bool) || typeof(T) == typeof(byte),
        ModelElementType.Float16 => typeof(T) == typeof(Half),
        _ => false,
    };
}
