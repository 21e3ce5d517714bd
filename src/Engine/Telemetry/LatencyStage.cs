namespace Engine.Telemetry;

/// <summary>A timed hand-off on the tick → signal path. Each has its own histogram and .hlog tag.</summary>
public enum LatencyStage
{
    /// <summary>Receive timestamp (before decode) → taken off the ring by the stage: decode, publish, the hop between cores, and any queueing.</summary>
    Ring,

    /// <summary>Taken off the ring → book updated, features computed and written into the model input.</summary>
    Features,

    /// <summary>The model run (<c>RunWithBinding</c>).</summary>
    Inference,

    /// <summary>The strategy callback.</summary>
    Signal,

    /// <summary>Receive timestamp → strategy callback returned: tick to signal.</summary>
    TickToSignal,
}

/// <summary>Names of stages as they appear in .hlog tags and tables.</summary>
public static class LatencyStages
{
    /// <summary>Every stage, in path order.</summary>
    public static IReadOnlyList<LatencyStage> All { get; } = Enum.GetValues<LatencyStage>();

    /// <summary>The tag of a stage: <c>ring</c>, <c>features</c>, <c>inference</c>, <c>signal</c>, <c>tick_to_signal</c>.</summary>
    public static string Tag(LatencyStage stage) => stage switch
    {
        LatencyStage.Ring => "ring",
        LatencyStage.Features => "features",
        LatencyStage.Inference => "inference",
        LatencyStage.Signal => "signal",
        LatencyStage.TickToSignal => "tick_to_signal",
        _ => stage.ToString(),
    };
}
