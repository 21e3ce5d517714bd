using Engine.Events;
using Engine.Features;
using Engine.Inference;
using Engine.Inference.Compiled;
using Engine.Pipeline;

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

    /// <summary>
    /// A feed's sequence counts (<see cref="TelemetryCounters.Gaps"/>, <see cref="TelemetryCounters.Duplicates"/>,
    /// <see cref="TelemetryCounters.MissedMessages"/>, label <c>feed</c>), read through the feed's own delegates.
    /// </summary>
    public static void RegisterFeedCounts(TelemetryCounters counters, IReadOnlyList<FeedCount> feedCounts)
    {
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(feedCounts);
        foreach (FeedCount c in feedCounts)
        {
            (string name, string help) = c.Kind switch
            {
                FeedCountKind.Gaps => (TelemetryCounters.Gaps, "Sequence gaps on a feed that no line filled (label feed)."),
                FeedCountKind.Duplicates => (TelemetryCounters.Duplicates, "Messages dropped because their sequence number had already been delivered (label feed; an A/B pair delivers every message twice)."),
                FeedCountKind.MissedMessages => (TelemetryCounters.MissedMessages, "Sequence numbers reported missing, over all gaps (label feed)."),
                _ => throw new ArgumentOutOfRangeException(nameof(feedCounts), c.Kind, "unknown feed count"),
            };
            counters.Register(name, help, c.Read, "feed", c.Feed);
        }
    }

    /// <summary>
    /// The back-end fallbacks of one model load as <see cref="TelemetryCounters.Fallbacks"/> (label <c>reason</c>):
    /// each compiled → ONNX Runtime reason (1 for the one taken, else 0), and 1 per execution provider that
    /// failed before the one that runs the model (<c>provider_NAME_failed</c>).
    /// </summary>
    public static void RegisterModelLoad(TelemetryCounters counters, ModelSelection selection)
    {
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(selection);
        const string Help = "Model back-end fallbacks taken at load (label reason): compiled kernel to ONNX Runtime, or a failed execution provider to the next.";
        foreach (string reason in ModelSelection.CompiledFallbacks)
        {
            long taken = selection.CompiledFallback == reason ? 1 : 0;
            counters.Register(TelemetryCounters.Fallbacks, Help, () => taken, "reason", reason);
        }

        if (selection.Model is OnnxModel onnx)
        {
            foreach (ProviderAttempt attempt in onnx.ProviderAttempts)
            {
                if (!attempt.Succeeded)
                {
                    counters.Register(TelemetryCounters.Fallbacks, Help, () => 1, "reason", $"provider_{attempt.Name.ToLowerInvariant()}_failed");
                }
            }
        }
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
