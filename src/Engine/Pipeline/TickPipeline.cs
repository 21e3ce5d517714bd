using Engine.Events;
using Engine.Native;
using Engine.Signals;

namespace Engine.Pipeline;

/// <summary>How a consumer waits for ticks.</summary>
public enum WaitStrategyKind
{
    /// <summary>Spin on the cursor: lowest latency; needs a core of its own.</summary>
    BusySpin,

    /// <summary>Spin briefly, then yield between checks.</summary>
    Yielding,

    /// <summary>Spin, yield, then sleep 1 ms: off-critical-path consumers.</summary>
    Sleeping,

    /// <summary>Sleep on a monitor until the producer publishes: no CPU while idle, µs to wake.</summary>
    Blocking,
}

/// <summary>Shape of a <see cref="TickPipeline{TSignal}"/>.</summary>
public sealed record PipelineOptions
{
    /// <summary>Ring slots (power of two). 64 bytes each.</summary>
    public int RingCapacity { get; init; } = 1 << 16;

    /// <summary>How the critical stage waits.</summary>
    public WaitStrategyKind Wait { get; init; } = WaitStrategyKind.BusySpin;

    /// <summary>CPU to pin the producer (feed) thread to; null leaves it to the scheduler.</summary>
    public int? ProducerCore { get; init; }

    /// <summary>CPU to pin the critical stage thread to; null leaves it to the scheduler.</summary>
    public int? ConsumerCore { get; init; }

    /// <summary>What the stage does when its handler throws.</summary>
    public HandlerFaultPolicy FaultPolicy { get; init; } = HandlerFaultPolicy.Halt;
}

/// <summary>What happened to the threads of a pipeline run.</summary>
/// <param name="ProducerAffinity">Pinning result of the producer thread (null when not requested).</param>
/// <param name="ConsumerAffinity">Pinning result of the stage thread (null when not requested).</param>
/// <param name="Faults">Handler faults, with the sequence of each.</param>
/// <param name="FaultCount">All handler faults.</param>
/// <param name="SourceError">What the source threw, if it did.</param>
/// <param name="Elapsed">Wall time from the source's start to the stage's stop.</param>
/// <param name="FullRingWaits">Times the producer found the ring full.</param>
public sealed record PipelineRunResult(AffinityResult? ProducerAffinity, AffinityResult? ConsumerAffinity, IReadOnlyList<HandlerFault> Faults, long FaultCount, Exception? SourceError, TimeSpan Elapsed, long FullRingWaits)
{
    /// <summary>True when neither the source nor the handler failed.</summary>
    public bool Succeeded => SourceError is null && FaultCount == 0;
}

/// <summary>
/// The foundation pipeline on a <see cref="RingPipeline{T}"/> of ticks: a producer thread runs an
/// <see cref="ITickSource"/> into a single-producer ring; one stage thread runs the
/// <see cref="TickProcessor{TSignal}"/> (book → features → model → signal). The processor is built on the
/// stage thread itself, so the ONNX Runtime session (and its denormal setting) belongs to the thread that runs it.
/// </summary>
/// <remarks>
/// Lifecycle: <see cref="Start"/> (builds the processor on the stage thread; throws what the build
/// threw, e.g. a model that does not fit the spec), then <see cref="Run"/> (returns after every
/// published tick is processed: drain-and-stop), then <see cref="Dispose"/>.
/// </remarks>
public sealed class TickPipeline<TSignal> : IDisposable where TSignal : struct, ISignalHandler
{
    private readonly PipelineOptions _options;
    private readonly RingPipeline<Tick> _pipeline;
    private readonly TickPublisher _publisher;
    private Stage? _stage;
    private TickProcessor<TSignal>? _tickProcessor;

    /// <summary>Allocates the ring.</summary>
    public TickPipeline(PipelineOptions? options = null)
    {
        _options = options ?? new PipelineOptions();
        _pipeline = new RingPipeline<Tick>(_options.RingCapacity, ProducerMode.Single);
        _publisher = new TickPublisher(_pipeline.Ring, _pipeline.SingleProducer);
    }

    /// <summary>The processor (after <see cref="Start"/>): counters, books, features, the signal handler.</summary>
    public TickProcessor<TSignal> Processor => _tickProcessor ?? throw new InvalidOperationException("Start the pipeline first.");

    /// <summary>The ring pipeline underneath (its stage, sequencer and counters), for reports.</summary>
    public RingPipeline<Tick> Ring => _pipeline;

    /// <summary>
    /// Times the ring hand-off into <paramref name="telemetry"/> (<see cref="Telemetry.LatencyStage.Publish"/>
    /// on the feed thread, <see cref="Telemetry.LatencyStage.RingWait"/> on the stage). Call before <see cref="Start"/>.
    /// </summary>
    public void TimeHandOffs(Telemetry.LatencyTelemetry telemetry)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        _publisher.HandOffTimer = telemetry.RingHandOff(_options.RingCapacity);
    }

    /// <summary>
    /// Starts the stage thread, runs <paramref name="build"/> on it (load and warm the model there), and
    /// returns once the stage waits for ticks. Rethrows whatever <paramref name="build"/> threw.
    /// </summary>
    public void Start(Func<TickProcessor<TSignal>> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        if (_stage is not null)
        {
            throw new InvalidOperationException("The pipeline was already started.");
        }

        TickEventHandler<TSignal> Create() => new(_tickProcessor = build());
        var stage = new StageOptions { Name = "stage-infer", Core = _options.ConsumerCore, FaultPolicy = _options.FaultPolicy, Priority = ThreadPriority.Highest };
        _stage = _options.Wait switch
        {
            WaitStrategyKind.Yielding => _pipeline.AddStage(Create, default(YieldingWaitStrategy), stage),
            WaitStrategyKind.Sleeping => _pipeline.AddStage(Create, default(SleepingWaitStrategy), stage),
            WaitStrategyKind.Blocking => _pipeline.AddStage(Create, default(BlockingWaitStrategy), stage),
            _ => _pipeline.AddStage(Create, default(BusySpinWaitStrategy), stage),
        };
        _pipeline.Start();
    }

    /// <summary>
    /// Runs <paramref name="source"/> on a producer thread until it ends, then drains the ring and
    /// stops the stage. Returns what happened; never throws for a source or handler failure (both
    /// are in the result).
    /// </summary>
    public PipelineRunResult Run(ITickSource source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        Stage stage = _stage is not null && _pipeline.IsRunning ? _stage : throw new InvalidOperationException("Start the pipeline first.");
        AffinityResult? producerAffinity = null;
        Exception? sourceError = null;
        long started = MonotonicClock.NowNs();
        var producer = new Thread(() =>
        {
            if (_options.ProducerCore is int core)
            {
                producerAffinity = CpuAffinity.PinCurrentThread(core);
            }

            try
            {
                source.Run(_publisher, cancellationToken);
            }
            catch (Exception ex)
            {
                sourceError = ex;
            }
        })
        {
            IsBackground = true,
            Name = "feed-producer",
            Priority = ThreadPriority.Highest,
        };
        producer.Start();
        producer.Join();

        _pipeline.DrainAndStop();
        long elapsed = MonotonicClock.NowNs() - started;
        EventProcessorBase processor = stage.Processor;
        return new PipelineRunResult(producerAffinity, stage.Affinity, processor.Faults, processor.FaultCount, sourceError, TimeSpan.FromTicks(elapsed / 100), _publisher.FullRingWaits);
    }

    /// <summary>Halts the stage (if still running) and frees the ring.</summary>
    public void Dispose() => _pipeline.Dispose();
}
