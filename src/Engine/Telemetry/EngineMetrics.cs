using Engine.Events;
using Engine.Features;

namespace Engine.Telemetry;

/// <summary>Registers the engine's own counters (feed, stage) in a <see cref="TelemetryCounters"/>. Start-up only.</summary>
public static class EngineMetrics
{
    /// <summary>Events received, processed and rejected (by reason), and ticks published, of one feed.</summary>
    public static void RegisterFeed(TelemetryCounters counters, FeedCounters feed)
    {
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(feed);
        counters.Register(TelemetryCounters.EventsReceived, "Messages read from the feed.", () => feed.Read);
        counters.Register(TelemetryCounters.EventsProcessed, "Messages decoded and handled.", () => feed.Processed);
        foreach (RejectReason reason in Enum.GetValues<RejectReason>())
        {
            counters.Register(TelemetryCounters.EventsRejected, "Messages rejected, by reason (received = processed + rejected).", () => feed.RejectedFor(reason), "reason", reason.ToString());
        }

        counters.Register("engine_ticks_published_total", "Ticks published to the ring.", () => feed.Published);
    }

    /// <summary>Ticks the stage took off the ring, inference triggers, inferences and skipped triggers.</summary>
    public static void RegisterStage(TelemetryCounters counters, ProcessorCounters stage)
    {
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(stage);
        counters.Register("engine_ticks_processed_total", "Ticks the inference stage took off the ring and applied.", () => stage.Ticks);
        counters.Register("engine_inference_triggers_total", "Ticks that fired the inference trigger.", () => stage.Triggers);
        counters.Register(TelemetryCounters.Inferences, "Model runs.", () => stage.Inferences);
        counters.Register("engine_inference_skipped_total", "Triggers skipped, by reason.", () => stage.SkippedOneSided, "reason", "one_sided_book");
    }
}
