using Engine.Features;

namespace Engine.Inference;

/// <summary>
/// A feature spec checked against a loaded model: the spec's features fill the model's one input,
/// and the prediction is read from the named (or first) output. Built once at start-up.
/// </summary>
public sealed class FeatureModelBinding
{
    private FeatureModelBinding(FeatureSpec spec, InferenceModel model, ModelTensor input, ModelTensor output)
    {
        Spec = spec;
        Model = model;
        Input = input;
        Output = output;
    }

    /// <summary>The spec.</summary>
    public FeatureSpec Spec { get; }

    /// <summary>The model (not owned: dispose it yourself).</summary>
    public InferenceModel Model { get; }

    /// <summary>The input the features go into; its first row receives an instrument's features.</summary>
    public ModelTensor Input { get; }

    /// <summary>The output read as the prediction.</summary>
    public ModelTensor Output { get; }

    /// <summary>
    /// Checks that the model has exactly the input the spec names, as float32 [batch, features], and
    /// the output it names. Throws <see cref="ModelLoadException"/> naming the spec and the model side by side.
    /// </summary>
    public static FeatureModelBinding Create(FeatureSpec spec, InferenceModel model)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(model);
        string specSide = $"Feature spec '{spec.Source}' fills input '{spec.InputName}' with {spec.Count} features (float32 [batch, {spec.Count}])";
        ModelTensor? input = model.Inputs.FirstOrDefault(t => t.Name == spec.InputName);
        if (input is null)
        {
            throw new ModelLoadException($"{specSide}, but model '{model.Path}' has no such input; its inputs are {model.DescribeInputs()}.");
        }

        if (model.Inputs.Count != 1)
        {
            throw new ModelLoadException($"{specSide}, but model '{model.Path}' has {model.Inputs.Count} inputs ({model.DescribeInputs()}); a feature spec fills exactly one.");
        }

        if (input.Shape.Count != 2 || input.Shape[1] != spec.Count)
        {
            throw new ModelLoadException($"{specSide}, but model '{model.Path}' input '{input.Name}' is float32 {input.ShapeText}.");
        }

        ModelTensor output;
        if (spec.OutputName is { } outputName)
        {
            output = model.Outputs.FirstOrDefault(t => t.Name == outputName)
                ?? throw new ModelLoadException($"Feature spec '{spec.Source}' reads output '{outputName}', but model '{model.Path}' has outputs {model.DescribeOutputs()}.");
        }
        else
        {
            output = model.Outputs[0];
        }

        return new FeatureModelBinding(spec, model, input, output);
    }
}
