namespace Engine.Inference;

/// <summary>A model could not be loaded or does not fit what the engine was told to feed it. The message names both sides.</summary>
public sealed class ModelLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelLoadException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ModelLoadException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ModelLoadException()
    {
    }
}
