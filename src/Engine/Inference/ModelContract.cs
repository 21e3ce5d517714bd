namespace Engine.Inference;

/// <summary>
/// What a caller feeds a model or reads from it: a tensor's name, element type and shape, where a
/// dimension of -1 accepts any size.
/// </summary>
/// <param name="Name">Input or output name in the model.</param>
/// <param name="ElementType">Element type.</param>
/// <param name="Shape">Dimensions; -1 for "any".</param>
public sealed record TensorContract(string Name, ModelElementType ElementType, IReadOnlyList<long> Shape)
{
    /// <summary>Type and shape as text, e.g. <c>float32 [1, 9]</c> (<c>?</c> for any size).</summary>
    public string TypeText => $"{ModelElementTypes.Name(ElementType)} [{string.Join(", ", Shape.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";

    /// <summary>True when <paramref name="tensor"/> has this contract's type and a shape it accepts.</summary>
    public bool Accepts(ModelTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.ElementType != ElementType || tensor.Shape.Count != Shape.Count)
        {
            return false;
        }

        for (int i = 0; i < Shape.Count; i++)
        {
            if (Shape[i] >= 0 && Shape[i] != tensor.Shape[i])
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// The inputs a caller feeds and the outputs it reads, checked against the model when it loads
/// (<see cref="ModelOptions.Contract"/>): every model input must be fed, with the right type and shape;
/// every output read must exist, with the right type and shape. A mismatch is a
/// <see cref="ModelLoadException"/> that names both sides.
/// </summary>
/// <param name="Inputs">Every input the caller feeds.</param>
/// <param name="Outputs">The outputs the caller reads (others may exist).</param>
/// <param name="Source">Who the caller is, for messages (a feature spec path, a strategy name).</param>
public sealed record ModelContract(IReadOnlyList<TensorContract> Inputs, IReadOnlyList<TensorContract> Outputs, string Source = "the caller")
{
    /// <summary>Throws <see cref="ModelLoadException"/> naming both sides when <paramref name="model"/> does not fit.</summary>
    public void Check(InferenceModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (TensorContract expected in Inputs)
        {
            ModelTensor? actual = Find(model.Inputs, expected.Name);
            if (actual is null)
            {
                throw new ModelLoadException($"{Source} feeds input '{expected.Name}' {expected.TypeText}, but model '{model.Path}' has no such input; its inputs are {model.DescribeInputs()}.");
            }

            if (!expected.Accepts(actual))
            {
                throw new ModelLoadException($"{Source} feeds input '{expected.Name}' as {expected.TypeText}, but model '{model.Path}' input '{actual.Name}' is {actual.TypeText}.");
            }
        }

        foreach (ModelTensor input in model.Inputs)
        {
            if (!Inputs.Any(c => c.Name == input.Name))
            {
                throw new ModelLoadException($"Model '{model.Path}' input '{input.Name}' {input.TypeText} is not fed by {Source}, which feeds {Describe(Inputs)}.");
            }
        }

        foreach (TensorContract expected in Outputs)
        {
            ModelTensor? actual = Find(model.Outputs, expected.Name);
            if (actual is null)
            {
                throw new ModelLoadException($"{Source} reads output '{expected.Name}' {expected.TypeText}, but model '{model.Path}' has no such output; its outputs are {model.DescribeOutputs()}.");
            }

            if (!expected.Accepts(actual))
            {
                throw new ModelLoadException($"{Source} reads output '{expected.Name}' as {expected.TypeText}, but model '{model.Path}' output '{actual.Name}' is {actual.TypeText}.");
            }
        }
    }

    private static string Describe(IReadOnlyList<TensorContract> list) => list.Count == 0 ? "nothing" : string.Join("; ", list.Select(c => $"'{c.Name}' {c.TypeText}"));

    private static ModelTensor? Find(IReadOnlyList<ModelTensor> tensors, string name)
    {
        for (int i = 0; i < tensors.Count; i++)
        {
            if (tensors[i].Name == name)
            {
                return tensors[i];
            }
        }

        return null;
    }
}
