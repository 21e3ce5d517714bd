using System.Runtime.CompilerServices;
using Engine.Book;
using Engine.Events;
using Engine.Features;
using Engine.Inference;
using Engine.Inference.Compiled;
using Engine.Native;
using Engine.Pipeline;
using Engine.Signals;
using Engine.Telemetry;

namespace Engine.Replay;

/// <summary>Everything a replay (or a live session) is built from.</summary>
public sealed record ReplayOptions
{
    /// <summary>The ring and its threads.</summary>
    public PipelineOptions Pipeline { get; init; } = new();

    /// <summary>How the model session is built (execution providers, optimization, warm-up).</summary>
    public ModelOptions Model { get; init; } = new();

    /// <summary>How feature rows reach the model (micro-batching, recurrent state pairs).</summary>
    public FeatureModelBindingOptions Binding { get; init; } = new();

    /// <summary>Feature engine sizing.</summary>
    public FeatureEngineOptions Features { get; init; } = new();

    /// <summary>Expected peak of live orders (sizes the order index so it never grows during the run).</summary>
    public int ExpectedLiveOrders { get; init; } = 1 << 17;

    /// <summary>Where to write the latency .hlog (owned and closed by the run); null for none.</summary>
    public Stream? Hlog { get; init; }

    /// <summary>Interval of the .hlog.</summary>
    public TimeSpan HlogInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Run the platform hiccup meter (a 1 ms sleeper, tag <c>hiccup</c>) beside the pipeline. On by default.</summary>
    public bool HiccupMeter { get; init; } = true;

    /// <summary>
    /// For a live feed (<see cref="ILiveFeed"/>): /health/live fails when no datagram or heartbeat arrived
    /// for this long while the feed runs. Default 3 s (MoldUDP64 heartbeats come about once a second).
    /// </summary>
    public TimeSpan FeedStallAfter { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Serve /metrics and /health while the run lasts; null (the default) for no endpoint.</summary>
    public MetricsEndpointOptions? Metrics { get; init; }
}

/// <summary>What a replay did, for reports and tests.</summary>
public sealed class ReplayReport
{
    internal ReplayReport(string source, FeedCounters feed, ProcessorCounters processor, MarketBooks books, FeatureEngine features, IReadOnlyList<LatencySummary> latency, PipelineRunResult run, string modelPath, string modelSha256, string provider, TimeSpan modelLoadTime, long clampedLatencies)
    {
        Source = source;
        Feed = feed;
        Processor = processor;
        Books = books;
        HorizonTruncations = features.HorizonTruncations;
        Latency = latency;
        Run = run;
        ModelPath = modelPath;
        ModelSha256 = modelSha256;
        ExecutionProvider = provider;
        ModelLoadTime = modelLoadTime;
        ClampedLatencies = clampedLatencies;
    }

    /// <summary>What was replayed.</summary>
    public string Source { get; }

    /// <summary>Feed counts: read, processed by type, rejected by reason, published.</summary>
    public FeedCounters Feed { get; }

    /// <summary>Stage counts: ticks, inferences, skips.</summary>
    public ProcessorCounters Processor { get; }

    /// <summary>The books at the end (anomaly counts, final state).</summary>
    public MarketBooks Books { get; }

    /// <summary>Return horizons that reached past the kept mid history.</summary>
    public long HorizonTruncations { get; }

    /// <summary>Per-stage latency percentiles.</summary>
    public IReadOnlyList<LatencySummary> Latency { get; }

    /// <summary>Threads, faults, elapsed time.</summary>
    public PipelineRunResult Run { get; }

    /// <summary>Model file.</summary>
    public string ModelPath { get; }

    /// <summary>Model file SHA-256.</summary>
    public string ModelSha256 { get; }

    /// <summary>Execution provider that ran the model.</summary>
    public string ExecutionProvider { get; }

    /// <summary>Every execution provider tried for the model, in order, with why each one before <see cref="ExecutionProvider"/> failed.</summary>
    public IReadOnlyList<ProviderAttempt> ProviderAttempts { get; init; } = [];

    /// <summary>Model load and warm-up time.</summary>
    public TimeSpan ModelLoadTime { get; }

    /// <summary>Why that back-end runs the model (<see cref="ModelLoader"/>'s reason: the agreement check, or why the compiled path was not used).</summary>
    public string BackendReason { get; init; } = string.Empty;

    /// <summary>Every stage's full histogram (ns), by tag, for merging runs.</summary>
    public IReadOnlyDictionary<string, HdrHistogram.HistogramBase> Histograms { get; init; } = new Dictionary<string, HdrHistogram.HistogramBase>();

    /// <summary>Garbage collections (gen 0, 1, 2) in the process while the pipeline ran.</summary>
    public IReadOnlyList<int> GcCollectionsDuringRun { get; init; } = [0, 0, 0];

    /// <summary>Latency samples out of the histogram range (clamped).</summary>
    public long ClampedLatencies { get; }

    /// <summary>Every histogram: the stages, each per model (<c>stage:model</c>), and the hiccup meter's.</summary>
    public IReadOnlyList<LatencySummary> AllLatency { get; init; } = [];

    /// <summary>The platform hiccup meter's row (null when it did not run): how late a 1 ms sleeper woke while the run lasted.</summary>
    public LatencySummary? Hiccup => AllLatency.FirstOrDefault(l => l.Name == HiccupMeter.Tag);

    /// <summary>Garbage collections and their pause time while telemetry ran.</summary>
    public GcJitter Gc { get; init; }

    /// <summary>Where the telemetry, hiccup-meter and metrics threads were allowed to run, and why (away from the pinned hot-path cores, or unpinned).</summary>
    public BackgroundCpuSet BackgroundCpus { get; init; } = BackgroundCpuSet.Unrestricted;

    /// <summary>What pinning the telemetry thread achieved (null when <see cref="BackgroundCpus"/> restricts nothing).</summary>
    public AffinityResult? BackgroundAffinity { get; init; }

    /// <summary>
    /// Every registered counter's value at the end of the run, keyed by its Prometheus series,
    /// e.g. <c>engine_gaps_total{feed="moldudp64"}</c> or <c>engine_inferences_total</c>.
    /// </summary>
    public IReadOnlyDictionary<string, long> Counters { get; init; } = new Dictionary<string, long>();

    /// <summary>Where the metrics endpoint listened (null when off).</summary>
    public System.Net.IPEndPoint? MetricsEndPoint { get; init; }

    /// <summary>The tick-to-signal row of <see cref="Latency"/>.</summary>
    public LatencySummary TickToSignal => Latency.First(l => l.Name == LatencyStages.Tag(LatencyStage.TickToSignal));
}

/// <summary>
/// Replays a tick source through the production path: the same ring, stage thread, books, features,
/// model binding and signal call as a live session; only the source differs.
/// </summary>
public static class ReplayRunner
{
    /// <summary>
    /// Builds the pipeline (the model is loaded, checked against <paramref name="spec"/> and warmed on the
    /// stage thread before the first tick), runs <paramref name="source"/> to its end, drains, and reports.
    /// Throws <see cref="ModelLoadException"/> when the model does not fit the spec.
    /// </summary>
    public static ReplayReport Run<TSignal>(ITickSource source, FeatureSpec spec, string modelPath, TSignal signal, ReplayOptions? options = null, CancellationToken cancellationToken = default)
        where TSignal : struct, ISignalHandler
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(modelPath);
        options ??= new ReplayOptions();

        // Background threads keep off the cores the feed and stage threads are pinned to (computed from
        // this thread's mask before anything is pinned: a thread inherits its creator's mask).
        BackgroundCpuSet background = CpuAffinity.BackgroundCpus(
            CpuAffinity.CurrentThreadCpus(),
            [.. new[] { options.Pipeline.ProducerCore, options.Pipeline.ConsumerCore }.OfType<int>()]);
        using var telemetry = new LatencyTelemetry(options.Hlog, options.HlogInterval) { BackgroundCpus = background };
        using HiccupMeter? hiccups = options.HiccupMeter ? new HiccupMeter(telemetry) { BackgroundCpus = background } : null;
        using var features = new FeatureEngine(spec, options.Features);
        var books = new MarketBooks(options.ExpectedLiveOrders, options.Features.InitialInstruments);
        ModelSelection? selection = null;
        FeatureModelBinding? binding = null;
        // Micro-batching scores up to MicroBatchSize rows per run: the model is built for that batch.
        ModelOptions modelOptions = options.Binding.MicroBatchDeadline is null ? options.Model : options.Model with { BatchSize = options.Binding.MicroBatchSize };
        try
        {
            // Counters and health checks are registered either way (reports read them); the endpoint serves them only when asked for.
            var health = new HealthChecks();
            var modelReady = new StrongBox<bool>();
            var feedRunning = new StrongBox<bool>();
            health.AddReadiness("model", () => Volatile.Read(ref modelReady.Value), $"model {Path.GetFileName(modelPath)} loaded and warmed on the stage thread");
            health.AddReadiness("feed", () => Volatile.Read(ref feedRunning.Value), $"feed connected: {source.Description} running");
            EngineMetrics.RegisterFeed(telemetry.Counters, source.Counters);
            if (source is ILiveFeed live)
            {
                health.AddFeedProgress("feed_progress", () => live.DatagramsReceived, () => Volatile.Read(ref feedRunning.Value), options.FeedStallAfter);
            }
            if (source is IFeedCountSource sequenced)
            {
                EngineMetrics.RegisterFeedCounts(telemetry.Counters, sequenced.FeedCounts);
            }
            using MetricsEndpoint? endpoint = options.Metrics is null ? null : new MetricsEndpoint(telemetry, health, options.Metrics) { BackgroundCpus = background };
            endpoint?.Start();

            using var pipeline = new TickPipeline<TSignal>(options.Pipeline);
            pipeline.TimeHandOffs(telemetry);
            pipeline.Start(() =>
            {
                // Windowed, recurrent and micro-batched bindings run through ONNX Runtime only: Auto then keeps ORT, saying so.
                selection = ModelLoader.Load(modelPath, modelOptions, usable: m => WhyNotBindable(spec, m, options.Binding));
                binding = FeatureModelBinding.Create(spec, selection.Model, options.Binding);
                var processor = new TickProcessor<TSignal>(books, features, binding, telemetry, signal);
                Volatile.Write(ref modelReady.Value, true);
                return processor;
            });

            ProcessorCounters stage = pipeline.Processor.Counters;
            EngineMetrics.RegisterStage(telemetry.Counters, stage);
            EngineMetrics.RegisterModelLoad(telemetry.Counters, selection!);
            health.AddProgress("stage", () => source.Counters.Published, () => stage.Ticks, TimeSpan.FromSeconds(2));

            telemetry.Start();
            hiccups?.Start();
            int[] gcBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
            Volatile.Write(ref feedRunning.Value, true);
            PipelineRunResult run = pipeline.Run(source, cancellationToken);
            Volatile.Write(ref feedRunning.Value, false);
            int[] gcDuring = [GC.CollectionCount(0) - gcBefore[0], GC.CollectionCount(1) - gcBefore[1], GC.CollectionCount(2) - gcBefore[2]];
            hiccups?.Stop();
            telemetry.Stop();
            InferenceModel model = selection!.Model;
            return new ReplayReport(source.Description, source.Counters, pipeline.Processor.Counters, books, features, telemetry.Summaries(), run, model.Path, model.Sha256, model.ExecutionProvider, model.LoadTime, telemetry.ClampedValues)
            {
                BackendReason = selection.Reason,
                ProviderAttempts = model is OnnxModel onnx ? onnx.ProviderAttempts : [],
                GcCollectionsDuringRun = gcDuring,
                Histograms = telemetry.Channels.ToDictionary(c => c.Tag, c => telemetry.Total(c.Tag)!),
                AllLatency = telemetry.AllSummaries(),
                Gc = telemetry.Gc,
                MetricsEndPoint = endpoint?.LocalEndPoint,
                BackgroundCpus = background,
                BackgroundAffinity = telemetry.BackgroundAffinity,
                Counters = telemetry.Counters.Registrations.ToDictionary(c => c.LabelName is null ? c.Name : $"{c.Name}{{{c.LabelName}=\"{c.LabelValue}\"}}", c => c.Read()),
            };
        }
        finally
        {
            binding?.Dispose();
            selection?.Model.Dispose();
        }
    }

    private static string? WhyNotBindable(FeatureSpec spec, InferenceModel model, FeatureModelBindingOptions options)
    {
        try
        {
            FeatureModelBinding.Create(spec, model, options).Dispose();
            return null;
        }
        catch (ModelLoadException ex)
        {
            return ex.Message;
        }
    }
}
