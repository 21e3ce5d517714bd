namespace Engine.Telemetry;

/// <summary>A timed hand-off on the tick → signal path. Each has its own histogram and .hlog tag.</summary>
/// <remarks>
/// Values are appended, never renumbered (code outside the engine may persist them). Path order is
/// <see cref="LatencyStages.All"/>, not the numeric order.
/// </remarks>
public enum LatencyStage
{
    /// <summary>Receive timestamp (before decode) → taken off the ring by the stage: decode, publish, the hop between cores, and any queueing.</summary>
    Ring,

    /// <summary>Taken off the ring → book updated, features computed and written into the model input. Per model.</summary>
    Features,

    /// <summary>The model run (<c>RunWithBinding</c>). Per model.</summary>
    Inference,

    /// <summary>The strategy callback. Per model.</summary>
    Signal,

    /// <summary>Receive timestamp → strategy callback returned: tick to signal (end to end). Per model.</summary>
    TickToSignal,

    /// <summary>Feed receive (or, paced, the scheduled send time) → the tick published to the ring: decode, normalize, claim. Recorded by the feed thread.</summary>
    Publish,

    /// <summary>Published to the ring → taken off it by the stage: the hop between cores plus queueing behind earlier ticks.</summary>
    RingWait,

    /// <summary>
    /// Exchange timestamp → receive, for inputs whose two timestamps share one clock. Recorded today by
    /// IEX pcap replays (capture timestamp − IEX message timestamp, both ns since the epoch: the
    /// recording host's latency from the exchange). Live MoldUDP64/ITCH feeds do not record it (ITCH
    /// carries ns since midnight with no date or zone); neither do engine-capture or ITCH file replays.
    /// </summary>
    ExchangeToReceive,
}

/// <summary>Names of stages as they appear in .hlog tags, tables and metric labels.</summary>
public static class LatencyStages
{
    /// <summary>Every stage, in path order (exchange → receive → publish → ring → features → inference → signal, then end to end).</summary>
    public static IReadOnlyList<LatencyStage> All { get; } =
    [
        LatencyStage.ExchangeToReceive, LatencyStage.Publish, LatencyStage.RingWait, LatencyStage.Ring,
        LatencyStage.Features, LatencyStage.Inference, LatencyStage.Signal, LatencyStage.TickToSignal,
    ];

    /// <summary>The stages recorded per model (a histogram per model and their merge per stage).</summary>
    public static IReadOnlyList<LatencyStage> PerModel { get; } =
        [LatencyStage.Features, LatencyStage.Inference, LatencyStage.Signal, LatencyStage.TickToSignal];

    /// <summary>
    /// The tag of a stage: <c>exchange_to_receive</c>, <c>publish</c>, <c>ring_wait</c>, <c>ring</c>,
    /// <c>features</c>, <c>inference</c>, <c>signal</c>, <c>tick_to_signal</c>.
    /// </summary>
    public static string Tag(LatencyStage stage) => stage switch
    {
        LatencyStage.Ring => "ring",
        LatencyStage.Features => "features",
        LatencyStage.Inference => "inference",
        LatencyStage.Signal => "signal",
        LatencyStage.TickToSignal => "tick_to_signal",
        LatencyStage.Publish => "publish",
        LatencyStage.RingWait => "ring_wait",
        LatencyStage.ExchangeToReceive => "exchange_to_receive",
        _ => stage.ToString(),
    };

    /// <summary>The .hlog tag of a per-model histogram: <c>stage:model</c>, e.g. <c>inference:demo</c>.</summary>
    public static string Tag(string stage, string? model) => model is null ? stage : stage + ":" + model;
}
