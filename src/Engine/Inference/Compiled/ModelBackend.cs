namespace Engine.Inference;

/// <summary>Which back-end runs a model (see <see cref="Compiled.ModelLoader"/>).</summary>
public enum ModelBackend
{
    /// <summary>
    /// The compiled managed kernel when the graph compiles and agrees with ONNX Runtime on the model's own
    /// reference data and generated inputs; ONNX Runtime otherwise, with the reason.
    /// </summary>
    Auto,

    /// <summary>ONNX Runtime always.</summary>
    Ort,

    /// <summary>The compiled kernel; loading fails (naming the operator or the disagreement) when it cannot be used.</summary>
    Compiled,
}
