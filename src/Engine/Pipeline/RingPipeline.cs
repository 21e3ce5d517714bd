using System.Globalization;
using System.Runtime.ExceptionServices;
using Engine.Native;

namespace Engine.Pipeline;

/// <summary>How a stage's thread is set up.</summary>
public sealed record StageOptions
{
    /// <summary>Thread and stage name (reports, debuggers); default <c>stage-N</c>.</summary>
    public string? Name { get; init; }

    /// <summary>CPU to pin the stage thread to (through <see cref="CpuAffinity"/>); null leaves it to the scheduler.</summary>
    public int? Core { get; init; }

    /// <summary>What the stage does when its handler throws.</summary>
    public HandlerFaultPolicy FaultPolicy { get; init; } = HandlerFaultPolicy.Halt;

    /// <summary>Thread priority (a hint; on Linux only honoured with the right privileges).</summary>
    public ThreadPriority Priority { get; init; } = ThreadPriority.Normal;
}

/// <summary>A consumer in a <see cref="RingPipeline{T}"/>: its processor, its thread, what it depends on.</summary>
public class Stage
{
    private readonly Stage[] _dependsOn;

    private protected Stage(EventProcessorBase processor, StageOptions options, Stage[] dependsOn)
    {
        Processor = processor;
        Options = options;
        _dependsOn = dependsOn;
    }

    /// <summary>The stage's name (also its thread's).</summary>
    public string Name => Processor.Name;

    /// <summary>The consumer: counters, faults, progress.</summary>
    public EventProcessorBase Processor { get; }

    /// <summary>The stage's progress: downstream stages and (if it gates) the producers wait on it.</summary>
    public Sequence Sequence => Processor.Sequence;

    /// <summary>Whether the producers wait for it.</summary>
    public BackPressurePolicy BackPressure => Processor.BackPressure;

    /// <summary>How it was configured.</summary>
    public StageOptions Options { get; }

    /// <summary>The stages it reads after (empty: straight off the producers).</summary>
    public IReadOnlyList<Stage> DependsOn => _dependsOn;

    /// <summary>True when the producers gate on this stage directly (a lossless stage nothing lossless depends on).</summary>
    public bool IsGating { get; internal set; }

    /// <summary>What pinning achieved (null when no core was asked for); set once the stage has started.</summary>
    public AffinityResult? Affinity { get; internal set; }

    /// <summary>The CPU the stage thread was on when its handler started (-1 when unknown).</summary>
    public int CpuAtStart { get; internal set; } = -1;

    /// <summary>What escaped the stage thread other than a start-up failure (handler faults, OnShutdown included, are in the processor's faults).</summary>
    public Exception? Error { get; internal set; }

    internal Thread? Thread { get; set; }

    // Set on the stage thread when the processor reported its start (or failure); read by that thread only.
    internal bool StartReported { get; set; }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Name}: {BackPressure}, sequence {Sequence.Value}, handled {Processor.EventsHandled:N0}, skipped {Processor.EventsSkipped:N0}, faults {Processor.FaultCount}, thread {(Affinity?.ToString() ?? "unpinned")}, CPU at start {CpuAtStart}");
}

/// <summary>A stage whose handler state can be read after the run.</summary>
public sealed class Stage<THandler> : Stage
{
    private readonly IHandlerHost<THandler> _host;

    internal Stage(EventProcessorBase processor, IHandlerHost<THandler> host, StageOptions options, Stage[] dependsOn)
        : base(processor, options, dependsOn) => _host = host;

    /// <summary>The handler, by reference: read it after the stage stopped; do not touch it while it runs.</summary>
    public ref THandler Handler => ref _host.Handler;
}

/// <summary>
/// A ring of <typeparamref name="T"/> slots with its sequencer and a topology of consumer stages, each on
/// its own thread: chains (A → B → C), fan-out (A → {B, C}) and joins ({B, C} → D), each stage gated by
/// the sequences it depends on; side consumers with an explicit back-pressure policy.
/// </summary>
/// <remarks>
/// <para>Lifecycle: add stages (<see cref="AddStage{THandler, TWait}"/>, <see cref="AddSideConsumer{THandler, TWait}"/>),
/// <see cref="Start"/> (threads created by the calling thread, pinned, handlers built on them; throws what a
/// handler factory threw), publish through <see cref="Sequencer"/> and <see cref="Ring"/>, then
/// <see cref="DrainAndStop"/> (every published event handled, skipped-and-counted or faulted-and-recorded
/// before it returns) or <see cref="Halt"/>; <see cref="Dispose"/> frees the ring.</para>
/// <para>A lossless stage that stops (a fault under <see cref="HandlerFaultPolicy.Halt"/>, or the stop itself)
/// closes the sequencer, so producers waiting for room give up instead of hanging.</para>
/// <para>Set-up and control methods are for one controlling thread; not thread-safe among themselves.</para>
/// </remarks>
public sealed class RingPipeline<T> : IDisposable where T : unmanaged
{
    private readonly List<Stage> _stages = [];
    private int _state; // 0 building, 1 started, 2 stopped

    /// <summary>Allocates a ring of <paramref name="capacity"/> slots (a power of two) and its sequencer.</summary>
    public RingPipeline(int capacity, ProducerMode producers = ProducerMode.Single)
    {
        Ring = new RingBuffer<T>(capacity);
        Sequencer = producers == ProducerMode.Multi ? new MultiProducerSequencer(capacity) : new SingleProducerSequencer(capacity);
    }

    /// <summary>The slots: producers write <c>Ring[sequence]</c> between claim and publish.</summary>
    public RingBuffer<T> Ring { get; }

    /// <summary>The sequencer (for set-up and reports; producers should use <see cref="SingleProducer"/> or <see cref="MultiProducer"/>).</summary>
    public Sequencer Sequencer { get; }

    /// <summary>The sequencer of a single-producer pipeline, typed so claims and publishes bind directly.</summary>
    public SingleProducerSequencer SingleProducer => Sequencer as SingleProducerSequencer ?? throw new InvalidOperationException("This pipeline was built for several producers: use MultiProducer.");

    /// <summary>The sequencer of a multi-producer pipeline, typed so claims and publishes bind directly.</summary>
    public MultiProducerSequencer MultiProducer => Sequencer as MultiProducerSequencer ?? throw new InvalidOperationException("This pipeline was built for one producer: use SingleProducer.");

    /// <summary>Every stage, in the order added (a topological order: dependencies come first).</summary>
    public IReadOnlyList<Stage> Stages => _stages;

    /// <summary>True between <see cref="Start"/> and a stop.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == 1;

    /// <summary>
    /// Adds a lossless stage that reads after <paramref name="after"/> (none: straight off the producers).
    /// <paramref name="create"/> runs on the stage thread at <see cref="Start"/>, after pinning.
    /// </summary>
    public Stage<THandler> AddStage<THandler, TWait>(Func<THandler> create, TWait wait, StageOptions? options = null, params Stage[] after)
        where THandler : struct, IEventHandler<T>
        where TWait : struct, IWaitStrategy
        => Add(create, wait, BackPressurePolicy.Lossless, options, after);

    /// <summary>
    /// Adds a side consumer (journal, prediction log, telemetry flush) whose back-pressure policy is stated
    /// explicitly: <see cref="BackPressurePolicy.Lossless"/> (the producers wait for it) or
    /// <see cref="BackPressurePolicy.LossyWithAccounting"/> (it skips ahead when lapped and counts exactly what it skipped).
    /// Nothing may be added after a lossy consumer.
    /// </summary>
    public Stage<THandler> AddSideConsumer<THandler, TWait>(Func<THandler> create, TWait wait, BackPressurePolicy policy, StageOptions? options = null, params Stage[] after)
        where THandler : struct, IEventHandler<T>
        where TWait : struct, IWaitStrategy
        => Add(create, wait, policy, options, after);

    /// <summary>
    /// Gates the producers on the lossless stages nothing lossless depends on, starts one thread per stage
    /// (pinned when asked; the handler built and started on it), and returns once every stage waits for
    /// events. If a handler's factory or OnStart throws, halts everything and rethrows that exception.
    /// </summary>
    public void Start()
    {
        if (Volatile.Read(ref _state) != 0)
        {
            throw new InvalidOperationException("The pipeline was already started.");
        }

        if (_stages.Count == 0)
        {
            throw new InvalidOperationException("A pipeline needs at least one stage.");
        }

        if (Sequencer.Mode == ProducerMode.Multi && !_stages.Exists(s => s.BackPressure == BackPressurePolicy.Lossless))
        {
            throw new InvalidOperationException("A multi-producer ring needs at least one lossless stage: producers gate on it, so no producer reuses a slot another has not published yet.");
        }

        Volatile.Write(ref _state, 1);

        foreach (Stage stage in _stages)
        {
            stage.IsGating = stage.BackPressure == BackPressurePolicy.Lossless
                && !_stages.Exists(other => other.BackPressure == BackPressurePolicy.Lossless && other.DependsOn.Contains(stage));
            if (stage.IsGating)
            {
                Sequencer.AddGatingSequences(stage.Sequence);
            }
        }

        using var ready = new CountdownEvent(_stages.Count);
        foreach (Stage stage in _stages)
        {
            stage.Processor.Started = () =>
            {
                stage.StartReported = true;
                ready.Signal();
            };
            stage.Thread = new Thread(() => RunStage(stage))
            {
                IsBackground = true,
                Name = stage.Name,
                Priority = stage.Options.Priority,
            };
        }

        // Threads are created by this (unpinned) thread: a thread created by a pinned one inherits its mask.
        foreach (Stage stage in _stages)
        {
            stage.Thread!.Start();
        }

        ready.Wait();
        foreach (Stage stage in _stages)
        {
            stage.Processor.Started = null;
        }

        Stage? failed = _stages.Find(s => s.Processor.StartError is not null || s.Error is not null);
        if (failed is not null)
        {
            Halt();
            ExceptionDispatchInfo.Capture(failed.Processor.StartError ?? failed.Error!).Throw();
        }
    }

    /// <summary>
    /// Call once every producer has stopped publishing. Waits until each stage has handled (or skipped and
    /// counted, or faulted past) everything published — or, behind a stage that halted on a fault, everything
    /// that stage let through — then halts every stage and joins the threads. Returns true when every stage
    /// reached the last published sequence; false if a stage stopped short or <paramref name="timeout"/> expired.
    /// </summary>
    public bool DrainAndStop(TimeSpan? timeout = null)
    {
        if (Volatile.Read(ref _state) != 1)
        {
            return Volatile.Read(ref _state) == 2 && _stages.TrueForAll(s => s.Sequence.Value >= Sequencer.Cursor.Value);
        }

        long last = Sequencer.HighestPublishedSequence();
        long deadline = timeout is TimeSpan t ? MonotonicClock.NowNs() + (long)t.TotalNanoseconds : long.MaxValue;
        bool complete = true;
        foreach (Stage stage in _stages)
        {
            long target = last;
            foreach (Stage upstream in stage.DependsOn)
            {
                if (upstream.Processor.HasStopped)
                {
                    target = Math.Min(target, upstream.Sequence.Value);
                }
            }

            var spinner = default(SpinWait);
            while (stage.Sequence.Value < target && !stage.Processor.HasStopped && MonotonicClock.NowNs() < deadline)
            {
                spinner.SpinOnce();
            }

            complete &= stage.Sequence.Value >= last;
        }

        Halt();
        return complete;
    }

    /// <summary>Stops every stage as soon as it has handled the event in hand (or next waits), and joins the threads. Idempotent.</summary>
    public void Halt()
    {
        foreach (Stage stage in _stages)
        {
            stage.Processor.Halt();
        }

        foreach (Stage stage in _stages)
        {
            stage.Thread?.Join();
        }

        Sequencer.Close("the pipeline was stopped");
        Interlocked.CompareExchange(ref _state, 2, 1);
    }

    /// <summary>Halts the stages (if running) and frees the ring.</summary>
    public void Dispose()
    {
        if (Volatile.Read(ref _state) == 1)
        {
            Halt();
        }

        Ring.Dispose();
    }

    private void RunStage(Stage stage)
    {
        try
        {
            if (stage.Options.Core is int core)
            {
                stage.Affinity = CpuAffinity.PinCurrentThread(core);
            }

            stage.CpuAtStart = CpuAffinity.CurrentCpu();
            stage.Processor.Run();
        }
        catch (Exception ex)
        {
            // A start-up failure is rethrown by Start(); anything else that escaped is kept here, never lost.
            if (!ReferenceEquals(ex, stage.Processor.StartError))
            {
                stage.Error = ex;
            }
        }
        finally
        {
            if (stage.BackPressure == BackPressurePolicy.Lossless)
            {
                Sequencer.Close(string.Create(CultureInfo.InvariantCulture, $"stage '{stage.Name}' stopped at sequence {stage.Sequence.Value}{(stage.Processor.HaltedByFault ? " after a handler fault" : string.Empty)}"));
            }

            // Failed before the processor could report that it started: release Start().
            if (!stage.StartReported)
            {
                stage.Processor.Started?.Invoke();
            }
        }
    }

    private Stage<THandler> Add<THandler, TWait>(Func<THandler> create, TWait wait, BackPressurePolicy policy, StageOptions? options, Stage[] after)
        where THandler : struct, IEventHandler<T>
        where TWait : struct, IWaitStrategy
    {
        ArgumentNullException.ThrowIfNull(create);
        _ = wait; // the type argument is the strategy; the value only lets the compiler infer it.
        options ??= new StageOptions();
        Stage[] dependsOn = CheckAdd(after);
        SequenceBarrier barrier = Sequencer.NewBarrier(Sequences(dependsOn));
        HandlerProcessor<T, THandler, TWait> processor = policy == BackPressurePolicy.Lossless
            ? new EventProcessor<T, THandler, TWait>(Ring, barrier, create, options.FaultPolicy, StageName(options))
            : new LossyEventProcessor<T, THandler, TWait>(Ring, barrier, create, options.FaultPolicy, StageName(options));
        var stage = new Stage<THandler>(processor, processor, options, dependsOn);
        _stages.Add(stage);
        return stage;
    }

    private Stage[] CheckAdd(Stage[] after)
    {
        ArgumentNullException.ThrowIfNull(after);
        if (Volatile.Read(ref _state) != 0)
        {
            throw new InvalidOperationException("Stages are added before Start.");
        }

        foreach (Stage upstream in after)
        {
            if (!_stages.Contains(upstream))
            {
                throw new ArgumentException($"Stage '{upstream.Name}' does not belong to this pipeline.", nameof(after));
            }

            if (upstream.BackPressure == BackPressurePolicy.LossyWithAccounting)
            {
                throw new ArgumentException($"Stage '{upstream.Name}' is lossy: nothing may depend on a consumer that skips events.", nameof(after));
            }
        }

        return [.. after.Distinct()];
    }

    private string StageName(StageOptions options) => options.Name ?? string.Create(CultureInfo.InvariantCulture, $"stage-{_stages.Count}");

    private static Sequence[] Sequences(Stage[] stages)
    {
        var result = new Sequence[stages.Length];
        for (int i = 0; i < stages.Length; i++)
        {
            result[i] = stages[i].Sequence;
        }

        return result;
    }
}
