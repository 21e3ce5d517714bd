using System.Globalization;
using Google.Protobuf;
using Onnx;

namespace Engine.Inference;

/// <summary>
/// Makes the outputs converters give classifiers bindable as fixed tensors in pinned memory, by editing
/// the ONNX graph once at load (through OnnxSharp's protobuf types):
/// <list type="bullet">
/// <item>a <c>ZipMap</c> that turns the probabilities into a sequence of maps (scikit-learn's converters
/// add one) is removed, and its input, float32 [batch, classes], becomes the graph output under the
/// same name; the map keys become <see cref="ModelTensor.ClassLabels"/>;</item>
/// <item>a classifier (<c>TreeEnsembleClassifier</c>, <c>LinearClassifier</c>, <c>SVMClassifier</c>)
/// whose classes are strings and whose label goes straight to a graph output is given the class
/// indices 0..K-1 as int64 labels instead; the strings become that output's
/// <see cref="ModelTensor.ClassLabels"/>.</item>
/// </list>
/// Nothing else changes, so the probabilities and labels are what the original graph computes. Cold path.
/// </summary>
internal static class ClassifierOutputs
{
    private const string MlDomain = "ai.onnx.ml";
    private const int FloatType = (int)TensorProto.Types.DataType.Float;
    private const int Int64Type = (int)TensorProto.Types.DataType.Int64;
    private const int StringType = (int)TensorProto.Types.DataType.String;

    // The attribute that holds int64 class labels on each classifier that can also take string labels.
    private static readonly Dictionary<string, string> s_intLabelAttribute = new(StringComparer.Ordinal)
    {
        ["TreeEnsembleClassifier"] = "classlabels_int64s",
        ["LinearClassifier"] = "classlabels_ints",
        ["SVMClassifier"] = "classlabels_ints",
    };

    /// <summary>
    /// Rewrites <paramref name="model"/> in place. Returns what was changed, one line each (empty when
    /// nothing was), and fills <paramref name="labels"/> with the class labels of each rewritten output.
    /// </summary>
    public static List<string> Rewrite(ModelProto model, Dictionary<string, string[]> labels)
    {
        var notes = new List<string>();
        GraphProto graph = model.Graph;
        for (int i = graph.Node.Count - 1; i >= 0; i--)
        {
            NodeProto node = graph.Node[i];
            if (node.OpType == "ZipMap" && node.Domain == MlDomain && node.Input.Count == 1 && node.Output.Count == 1)
            {
                UnwrapZipMap(graph, i, labels, notes);
            }
        }

        foreach (NodeProto node in graph.Node)
        {
            if (node.Domain == MlDomain && s_intLabelAttribute.TryGetValue(node.OpType, out string? intAttribute))
            {
                IndexStringLabels(graph, node, intAttribute, labels, notes);
            }
        }

        return notes;
    }

    /// <summary>The operator (type and node name) that produces <paramref name="valueName"/>, for messages; null when none does (a graph input).</summary>
    public static string? ProducerOf(ModelProto model, string valueName)
    {
        foreach (NodeProto node in model.Graph.Node)
        {
            if (node.Output.Contains(valueName))
            {
                string domain = string.IsNullOrEmpty(node.Domain) ? string.Empty : node.Domain + ".";
                return string.IsNullOrEmpty(node.Name) ? $"{domain}{node.OpType}" : $"{domain}{node.OpType} (node '{node.Name}')";
            }
        }

        return null;
    }

    private static void UnwrapZipMap(GraphProto graph, int index, Dictionary<string, string[]> labels, List<string> notes)
    {
        NodeProto zip = graph.Node[index];
        string probabilities = zip.Input[0];
        string output = zip.Output[0];
        ValueInfoProto? graphOutput = graph.Output.FirstOrDefault(o => o.Name == output);
        bool consumedElsewhere = graph.Node.Any(n => n != zip && n.Input.Contains(output));
        bool probabilitiesVisible = graph.Output.Any(o => o.Name == probabilities) || graph.Input.Any(o => o.Name == probabilities);
        if (graphOutput is null || consumedElsewhere || probabilitiesVisible)
        {
            // Not the converter's pattern (ZipMap as the last step): leave it; the loader refuses the map output if it reaches one.
            return;
        }

        string[] classes = ClassLabels(zip);
        if (classes.Length == 0)
        {
            return;
        }

        graph.Node.RemoveAt(index);
        foreach (NodeProto node in graph.Node)
        {
            Rename(node.Input, probabilities, output);
            Rename(node.Output, probabilities, output);
        }

        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension());
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = classes.Length });
        graphOutput.Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = FloatType, Shape = shape } };
        labels[output] = classes;
        notes.Add($"output '{output}': ZipMap removed, bound as float32 [batch, {classes.Length}] probabilities, classes {string.Join(", ", classes)}");
    }

    private static void IndexStringLabels(GraphProto graph, NodeProto node, string intAttribute, Dictionary<string, string[]> labels, List<string> notes)
    {
        AttributeProto? strings = node.Attribute.FirstOrDefault(a => a.Name == "classlabels_strings");
        if (strings is null || node.Output.Count == 0)
        {
            return;
        }

        string label = node.Output[0];
        ValueInfoProto? graphOutput = graph.Output.FirstOrDefault(o => o.Name == label);
        if (graphOutput?.Type?.TensorType is not { ElemType: StringType } tensorType || graph.Node.Any(n => n.Input.Contains(label)))
        {
            return;
        }

        string[] classes = [.. strings.Strings.Select(s => s.ToStringUtf8())];
        node.Attribute.Remove(strings);
        var indices = new AttributeProto { Name = intAttribute, Type = AttributeProto.Types.AttributeType.Ints };
        for (int i = 0; i < classes.Length; i++)
        {
            indices.Ints.Add(i);
        }

        node.Attribute.Add(indices);
        tensorType.ElemType = Int64Type;
        labels[label] = classes;
        notes.Add($"output '{label}': {node.OpType} string classes {string.Join(", ", classes)} bound as int64 class indices");
    }

    private static string[] ClassLabels(NodeProto zip)
    {
        foreach (AttributeProto a in zip.Attribute)
        {
            if (a.Name == "classlabels_int64s")
            {
                return [.. a.Ints.Select(v => v.ToString(CultureInfo.InvariantCulture))];
            }

            if (a.Name == "classlabels_strings")
            {
                return [.. a.Strings.Select(s => s.ToStringUtf8())];
            }
        }

        return [];
    }

    private static void Rename(Google.Protobuf.Collections.RepeatedField<string> names, string from, string to)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (names[i] == from)
            {
                names[i] = to;
            }
        }
    }

    /// <summary>The model's bytes after a rewrite.</summary>
    public static byte[] Serialize(ModelProto model) => model.ToByteArray();
}
