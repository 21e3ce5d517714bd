using System.Buffers.Binary;
using Google.Protobuf;
using Onnx;

namespace Engine.Inference.Compiled;

/// <summary>
/// Reading an ONNX graph through OnnxSharp's protobuf types: tensor data (raw little-endian bytes or the
/// typed repeated fields), attributes with their defaults, declared input and output types. Cold path.
/// </summary>
internal static class OnnxGraph
{
    public const int Float = (int)TensorProto.Types.DataType.Float;
    public const int Int64 = (int)TensorProto.Types.DataType.Int64;
    public const int Int32 = (int)TensorProto.Types.DataType.Int32;
    public const int Double = (int)TensorProto.Types.DataType.Double;
    public const int String = (int)TensorProto.Types.DataType.String;

    public static ModelProto Read(string path) => ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));

    /// <summary>The opset of the default domain (ai.onnx); 1 when the model declares none.</summary>
    public static long DefaultOpset(ModelProto model)
    {
        foreach (OperatorSetIdProto o in model.OpsetImport)
        {
            if (string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx")
            {
                return o.Version;
            }
        }

        return 1;
    }

    /// <summary>The tensor's values as float32, or null when its element type is not a real number type.</summary>
    public static float[]? ToFloats(TensorProto t)
    {
        long count = ElementCount(t.Dims);
        switch (t.DataType)
        {
            case Float:
                if (!t.RawData.IsEmpty)
                {
                    var f = new float[t.RawData.Length / 4];
                    ReadOnlySpan<byte> raw = t.RawData.Span;
                    for (int i = 0; i < f.Length; i++)
                    {
                        f[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]);
                    }

                    return f;
                }

                return count == t.FloatData.Count ? [.. t.FloatData] : null;
            case Double:
                if (!t.RawData.IsEmpty)
                {
                    var d = new float[t.RawData.Length / 8];
                    for (int i = 0; i < d.Length; i++)
                    {
                        d[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(t.RawData.Span[(i * 8)..]);
                    }

                    return d;
                }

                return [.. t.DoubleData.Select(v => (float)v)];
            case Int64:
            case Int32:
                long[]? l = ToLongs(t);
                return l is null ? null : [.. l.Select(v => (float)v)];
            default:
                return null;
        }
    }

    /// <summary>The tensor's values as int64, or null when it is not an integer tensor.</summary>
    public static long[]? ToLongs(TensorProto t)
    {
        switch (t.DataType)
        {
            case Int64:
                if (!t.RawData.IsEmpty)
                {
                    var l = new long[t.RawData.Length / 8];
                    for (int i = 0; i < l.Length; i++)
                    {
                        l[i] = BinaryPrimitives.ReadInt64LittleEndian(t.RawData.Span[(i * 8)..]);
                    }

                    return l;
                }

                return [.. t.Int64Data];
            case Int32:
                if (!t.RawData.IsEmpty)
                {
                    var l = new long[t.RawData.Length / 4];
                    for (int i = 0; i < l.Length; i++)
                    {
                        l[i] = BinaryPrimitives.ReadInt32LittleEndian(t.RawData.Span[(i * 4)..]);
                    }

                    return l;
                }

                return [.. t.Int32Data.Select(v => (long)v)];
            default:
                return null;
        }
    }

    public static long ElementCount(IEnumerable<long> dims)
    {
        long n = 1;
        foreach (long d in dims)
        {
            n *= d;
        }

        return n;
    }

    public static AttributeProto? Attribute(NodeProto node, string name)
    {
        foreach (AttributeProto a in node.Attribute)
        {
            if (a.Name == name)
            {
                return a;
            }
        }

        return null;
    }

    public static long Int(NodeProto node, string name, long fallback) => Attribute(node, name) is { } a ? a.I : fallback;

    public static float Float32(NodeProto node, string name, float fallback) => Attribute(node, name) is { } a ? a.F : fallback;

    public static string Text(NodeProto node, string name, string fallback) => Attribute(node, name) is { } a ? a.S.ToStringUtf8() : fallback;

    public static long[] Ints(NodeProto node, string name) => Attribute(node, name) is { } a ? [.. a.Ints] : [];

    public static float[] Floats(NodeProto node, string name) => Attribute(node, name) is { } a ? [.. a.Floats] : [];

    public static string[] Strings(NodeProto node, string name) => Attribute(node, name) is { } a ? [.. a.Strings.Select(s => s.ToStringUtf8())] : [];

    /// <summary>Element type and dimensions (a dimension is null when symbolic or unknown) of a declared tensor; null for non-tensors.</summary>
    public static (int ElementType, (long? Value, string Symbol)[] Dims)? TensorType(ValueInfoProto v)
    {
        if (v.Type?.ValueCase != TypeProto.ValueOneofCase.TensorType)
        {
            return null;
        }

        TypeProto.Types.Tensor t = v.Type.TensorType;
        (long? Value, string Symbol)[] dims = t.Shape is null
            ? []
            : [.. t.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? ((long?)d.DimValue, string.Empty) : ((long?)null, d.DimParam ?? string.Empty))];
        return (t.ElemType, dims);
    }

    /// <summary>A short ONNX type name for messages, e.g. <c>float32</c>, <c>int64</c>, <c>seq(map(int64, float32))</c>.</summary>
    public static string TypeName(TypeProto? type) => type?.ValueCase switch
    {
        TypeProto.ValueOneofCase.TensorType => ElementName(type.TensorType.ElemType),
        TypeProto.ValueOneofCase.SequenceType => $"seq({TypeName(type.SequenceType.ElemType)})",
        TypeProto.ValueOneofCase.MapType => $"map({ElementName(type.MapType.KeyType)}, {TypeName(type.MapType.ValueType)})",
        _ => "unknown",
    };

    public static string ElementName(int elementType) => elementType switch
    {
        Float => "float32",
        Double => "float64",
        Int64 => "int64",
        Int32 => "int32",
        String => "string",
        (int)TensorProto.Types.DataType.Uint8 => "uint8",
        (int)TensorProto.Types.DataType.Int8 => "int8",
        (int)TensorProto.Types.DataType.Bool => "bool",
        (int)TensorProto.Types.DataType.Float16 => "float16",
        _ => $"type {elementType}",
    };

    /// <summary>Serialized bytes of a model, for tests that build graphs in memory.</summary>
    public static byte[] ToBytes(ModelProto model) => model.ToByteArray();
}
