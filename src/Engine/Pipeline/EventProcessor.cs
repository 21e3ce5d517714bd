using System.Runtime.CompilerServices;

namespace Engine.Pipeline;

/// <summary>
/// Consumer callback. Implement on a <c>struct</c> and pass it as a generic argument: the JIT then
/// calls it directly (no interface dispatch per event).
/// </summary>
public interface IEventHandler<T> where T : unmanaged
{
    /// <summary>Called on the processor thread before the first event (per-thread set-up: sessions, warm-up).</summary>
    void OnStart();

    /// <summary>
    /// Handles one event. <paramref name="endOfBatch"/> is true for the last event currently
    /// available, so a handler can do per-batch work (flush, one inference for many events).
    /// </summary>
    void OnEvent(ref T data, long sequence, bool endOfBatch);

    /// <summary>Called on the processor thread after the last event, before the thread exits.</summary>
    void OnShutdown();
}

/// <summary>What a processor does when its handler throws.</summary>
public enum HandlerFaultPolicy
{
    /// <summary>Record the fault (sequence and exception) and stop the processor. The default.</summary>
    Halt,

    /// <summary>Record the fault, count it, mark the event processed and go on with the next.</summary>
    SkipAndCount,
}

/// <summary>What a consumer does to the producers when it falls a full ring behind.</summary>
public enum BackPressurePolicy
{
    /// <summary>The producers wait for it: nothing is ever lost. Critical stages are always lossless.</summary>
    Lossless,

    /// <summary>
    /// The producers never wait for it; when they lap it, it skips ahead past the reused slots and counts
    /// exactly how many sequences it skipped (<see cref="EventProcessorBase.EventsSkipped"/>). Its handler
    /// sees a private copy of each event, checked after the copy not to have been overwritten.
    /// </summary>
    LossyWithAccounting,
}

/// <summary>A handler exception, with the sequence of the event that caused it.</summary>
/// <param name="Sequence">Ring sequence of the event being handled.</param>
/// <param name="Exception">What the handler threw.</param>
public sealed record HandlerFault(long Sequence, Exception Exception);

/// <summary>A processor that owns a handler of type <typeparamref name="THandler"/>.</summary>
internal interface IHandlerHost<THandler>
{
    ref THandler Handler { get; }
}

/// <summary>
/// The control surface of a consumer, independent of its handler and wait strategy types: lifecycle, fault
/// policy and counters shared by every consumer; the event loop is the generic subclass's.
/// </summary>
/// <remarks>
/// Threading: <see cref="Run"/> on the consumer's own thread; <see cref="Halt"/> and <see cref="DrainAndHalt"/>
/// from a controlling thread; counters are exact once <see cref="HasStopped"/> is true. Faults are never
/// swallowed: they are kept in <see cref="Faults"/> (at most <see cref="MaxFaultsKept"/>, all counted).
/// </remarks>
public abstract class EventProcessorBase
{
    /// <summary>How many fault records are kept; every fault is counted regardless.</summary>
    public const int MaxFaultsKept = 16;

    private const int Idle = 0, Running = 1, Stopped = 2;

    private readonly List<HandlerFault> _faults = new(MaxFaultsKept);
    private readonly HandlerFaultPolicy _faultPolicy;

    // Written by the processor thread (Run) and read by controlling threads.
    private int _state;
    private long _faultCount;

    // Written by the processor thread once per batch; exact once the processor has stopped.
    private protected long _handled;
    private protected long _skipped;

    private protected EventProcessorBase(SequenceBarrier barrier, HandlerFaultPolicy faultPolicy, string? name)
    {
        ArgumentNullException.ThrowIfNull(barrier);
        Barrier = barrier;
        _faultPolicy = faultPolicy;
        Name = name ?? GetType().Name;
    }

    /// <summary>The consumer's name (its thread's name in a pipeline).</summary>
    public string Name { get; }

    /// <summary>What this consumer waits on: the producers' cursor and its upstream consumers.</summary>
    public SequenceBarrier Barrier { get; }

    /// <summary>This consumer's progress: the last sequence handled, faulted past or skipped.</summary>
    public Sequence Sequence { get; } = new();

    /// <summary>Whether the producers wait for this consumer.</summary>
    public abstract BackPressurePolicy BackPressure { get; }

    /// <summary>True while running.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == Running;

    /// <summary>True once <see cref="Run"/> has returned (or start-up failed).</summary>
    public bool HasStopped => Volatile.Read(ref _state) == Stopped;

    /// <summary>Events handed to the handler that returned normally.</summary>
    public long EventsHandled => Volatile.Read(ref _handled);

    /// <summary>Sequences a lossy consumer skipped because the producers lapped it (always 0 for a lossless one).</summary>
    public long EventsSkipped => Volatile.Read(ref _skipped);

    /// <summary>Handler exceptions kept.</summary>
    public IReadOnlyList<HandlerFault> Faults => _faults;

    /// <summary>Handler exceptions seen.</summary>
    public long FaultCount => Interlocked.Read(ref _faultCount);

    /// <summary>True when a handler fault stopped the processor.</summary>
    public bool HaltedByFault { get; private set; }

    /// <summary>What the handler factory or <see cref="IEventHandler{T}.OnStart"/> threw, if start-up failed.</summary>
    public Exception? StartError { get; private set; }

    /// <summary>Called on the processor thread once the handler is built and started (the pipeline waits for it).</summary>
    internal Action? Started { get; set; }

    /// <summary>
    /// Builds the handler (when given a factory) and calls its <see cref="IEventHandler{T}.OnStart"/> on this
    /// thread, then processes events until halted. Rethrows a start-up failure after recording it in <see cref="StartError"/>.
    /// </summary>
    public void Run()
    {
        if (Interlocked.CompareExchange(ref _state, Running, Idle) != Idle)
        {
            throw new InvalidOperationException($"Processor '{Name}' is already running or has run; create a new one.");
        }

        try
        {
            StartHandler();
        }
        catch (Exception ex)
        {
            StartError = ex;
            Volatile.Write(ref _state, Stopped);
            Started?.Invoke();
            throw;
        }

        Started?.Invoke();
        try
        {
            ProcessEvents();
        }
        finally
        {
            try
            {
                StopHandler();
            }
            catch (Exception ex)
            {
                // A failing OnShutdown is a handler fault like any other: kept, with the last sequence reached.
                RecordFault(Sequence.Value, ex);
            }
            finally
            {
                Volatile.Write(ref _state, Stopped);
            }
        }
    }

    /// <summary>Stops as soon as the processor has handled the event in hand (or next waits); later events stay unhandled.</summary>
    public void Halt() => Barrier.Alert();

    /// <summary>Waits until everything up to <paramref name="lastPublished"/> is handled, then halts; false if it stopped first.</summary>
    public bool DrainAndHalt(long lastPublished)
    {
        var spinner = default(SpinWait);
        while (Sequence.Value < lastPublished)
        {
            if (HasStopped)
            {
                return false;
            }

            spinner.SpinOnce();
        }

        Halt();
        return true;
    }

    /// <summary>Builds the handler if needed and calls its OnStart, on the processor thread.</summary>
    private protected abstract void StartHandler();

    /// <summary>The event loop; returns when alerted or halted by a fault.</summary>
    private protected abstract void ProcessEvents();

    /// <summary>Calls the handler's OnShutdown, on the processor thread.</summary>
    private protected abstract void StopHandler();

    private void RecordFault(long sequence, Exception ex)
    {
        Interlocked.Increment(ref _faultCount);
        if (_faults.Count < MaxFaultsKept)
        {
            _faults.Add(new HandlerFault(sequence, ex));
        }
    }

    /// <summary>Records a handler fault at <paramref name="sequence"/>; returns true to go on (skip policy), false to stop.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private protected bool OnFault(long sequence, Exception ex)
    {
        RecordFault(sequence, ex);
        if (_faultPolicy == HandlerFaultPolicy.Halt)
        {
            HaltedByFault = true;
            Sequence.SetValue(sequence - 1);
            return false;
        }

        Sequence.SetValue(sequence);
        return true;
    }
}

/// <summary>
/// A processor that owns a handler of type <typeparamref name="THandler"/> and waits with
/// <typeparamref name="TWait"/>: builds the handler on the processor thread and calls its start and
/// shutdown hooks. The event loop is the subclass's (lossless or lossy).
/// </summary>
public abstract class HandlerProcessor<T, THandler, TWait> : EventProcessorBase, IHandlerHost<THandler>
    where T : unmanaged
    where THandler : struct, IEventHandler<T>
    where TWait : struct, IWaitStrategy
{
    private readonly Func<THandler>? _create;
    private THandler _handler;

    private protected HandlerProcessor(RingBuffer<T> ring, SequenceBarrier barrier, HandlerFaultPolicy faultPolicy, string? name, Func<THandler>? create, THandler handler)
        : base(barrier, faultPolicy, name)
    {
        ArgumentNullException.ThrowIfNull(ring);
        Ring = ring;
        _create = create;
        _handler = handler;
        if (TWait.RequiresPublisherSignal)
        {
            barrier.Sequencer.EnableSignal();
        }
    }

    /// <summary>The handler, by reference (its state after a run; do not touch while running).</summary>
    public ref THandler Handler => ref _handler;

    private protected RingBuffer<T> Ring { get; }

    private protected override void StartHandler()
    {
        if (_create is not null)
        {
            _handler = _create();
        }

        _handler.OnStart();
    }

    private protected override void StopHandler() => _handler.OnShutdown();
}

/// <summary>
/// A lossless consumer: waits for published events with <typeparamref name="TWait"/>, hands every
/// available event to <typeparamref name="THandler"/> in one pass (by <c>ref</c>, in the slot itself),
/// then publishes its own progress, which gates the producers (and any consumer downstream of it).
/// </summary>
/// <remarks>
/// Threading: <see cref="EventProcessorBase.Run"/> on the stage thread. Allocation: none per event.
/// Cost per batch: one acquire read of the cursor (and of each upstream sequence), one release store of its own sequence.
/// </remarks>
public sealed class EventProcessor<T, THandler, TWait> : HandlerProcessor<T, THandler, TWait>
    where T : unmanaged
    where THandler : struct, IEventHandler<T>
    where TWait : struct, IWaitStrategy
{
    /// <summary>A processor for <paramref name="handler"/>, reading <paramref name="ring"/> as far as <paramref name="barrier"/> allows.</summary>
    public EventProcessor(RingBuffer<T> ring, SequenceBarrier barrier, THandler handler, HandlerFaultPolicy faultPolicy = HandlerFaultPolicy.Halt, string? name = null)
        : base(ring, barrier, faultPolicy, name, null, handler)
    {
    }

    /// <summary>A processor whose handler <paramref name="create"/> builds on the processor thread when it starts (so per-thread state belongs to that thread).</summary>
    public EventProcessor(RingBuffer<T> ring, SequenceBarrier barrier, Func<THandler> create, HandlerFaultPolicy faultPolicy = HandlerFaultPolicy.Halt, string? name = null)
        : base(ring, barrier, faultPolicy, name, create ?? throw new ArgumentNullException(nameof(create)), default)
    {
    }

    /// <inheritdoc />
    public override BackPressurePolicy BackPressure => BackPressurePolicy.Lossless;

    private protected override void ProcessEvents()
    {
        RingBuffer<T> ring = Ring;
        SequenceBarrier barrier = Barrier;
        TWait wait = default;
        ref THandler handler = ref Handler;
        long next = Sequence.Value + 1;
        while (!barrier.IsAlerted)
        {
            long available = wait.WaitFor(next, barrier);
            if (available < next)
            {
                continue;
            }

            // Multi-producer ring: stop before the first claimed slot not yet published.
            available = barrier.HighestPublished(next, available);
            if (available < next)
            {
                continue;
            }

            long first = next;
            try
            {
                while (next <= available)
                {
                    handler.OnEvent(ref ring[next], next, next == available);
                    next++;

                    // A halt takes effect after the event in hand, not after a possibly long batch.
                    if (barrier.IsAlerted)
                    {
                        break;
                    }
                }
            }
            catch (Exception ex)
            {
                _handled += next - first;
                if (!OnFault(next, ex))
                {
                    return;
                }

                next++;
                continue;
            }

            _handled += next - first;
            Sequence.SetValue(next - 1);
        }
    }
}

/// <summary>
/// A lossy side consumer with exact accounting: the producers never wait for it. It copies up to
/// <see cref="ChunkSize"/> events out of the ring, then checks the producers' claim: any copied slot the
/// producers may have started reusing is discarded and counted in <see cref="EventProcessorBase.EventsSkipped"/>,
/// and when lapped it jumps to the oldest slot still intact. Handled + skipped + faults always equals what
/// was published.
/// </summary>
/// <remarks>
/// The handler receives a <c>ref</c> to the private copy, never to the ring slot. Cost: a 64-byte copy
/// per event and a full fence per chunk; for consumers off the critical path (journals, logs, telemetry).
/// Nothing may depend on a lossy consumer. Allocation: the copy buffer at construction; none per event.
/// </remarks>
public sealed class LossyEventProcessor<T, THandler, TWait> : HandlerProcessor<T, THandler, TWait>
    where T : unmanaged
    where THandler : struct, IEventHandler<T>
    where TWait : struct, IWaitStrategy
{
    /// <summary>Events copied and validated together.</summary>
    public const int ChunkSize = 256;

    private readonly Sequence _claim;
    private readonly T[] _copies = new T[ChunkSize];

    /// <summary>
    /// A lossy processor whose handler <paramref name="create"/> builds on the processor thread. Construct
    /// before the producers start: it makes the sequencer publish its claims.
    /// </summary>
    public LossyEventProcessor(RingBuffer<T> ring, SequenceBarrier barrier, Func<THandler> create, HandlerFaultPolicy faultPolicy = HandlerFaultPolicy.SkipAndCount, string? name = null)
        : base(ring, barrier, faultPolicy, name, create ?? throw new ArgumentNullException(nameof(create)), default)
    {
        barrier.Sequencer.TrackClaims();
        _claim = barrier.Sequencer.ClaimSequence;
    }

    /// <inheritdoc />
    public override BackPressurePolicy BackPressure => BackPressurePolicy.LossyWithAccounting;

    private protected override void ProcessEvents()
    {
        RingBuffer<T> ring = Ring;
        SequenceBarrier barrier = Barrier;
        TWait wait = default;
        T[] copies = _copies;
        long capacity = ring.Capacity;
        ref THandler handler = ref Handler;
        long next = Sequence.Value + 1;
        while (!barrier.IsAlerted)
        {
            long available = wait.WaitFor(next, barrier);
            if (available < next)
            {
                continue;
            }

            // Lapped: slots below `intact` may already hold newer events. Skip them, counted.
            long intact = _claim.Value - capacity + 1;
            if (next < intact)
            {
                _skipped += intact - next;
                next = intact;
                Sequence.SetValue(next - 1);
                continue;
            }

            available = barrier.HighestPublished(next, available);
            while (next <= available)
            {
                long end = Math.Min(available, next + ChunkSize - 1);
                int count = (int)(end - next + 1);
                for (int i = 0; i < count; i++)
                {
                    copies[i] = ring[next + i];
                }

                // The copies must be complete before the claim is read (seqlock read side): a producer
                // that wrote into a copied slot had published a claim covering it first.
                Interlocked.MemoryBarrier();
                intact = _claim.Value - capacity + 1;
                if (intact > end)
                {
                    _skipped += intact - next;
                    next = intact;
                    Sequence.SetValue(next - 1);
                    break;
                }

                long first = Math.Max(next, intact);
                _skipped += first - next;
                long s = first;
                try
                {
                    while (s <= end)
                    {
                        handler.OnEvent(ref copies[s - next], s, s == available);
                        s++;
                        if (barrier.IsAlerted)
                        {
                            break;
                        }
                    }
                }
                catch (Exception ex)
                {
                    _handled += s - first;
                    if (!OnFault(s, ex))
                    {
                        return;
                    }

                    next = s + 1;
                    continue;
                }

                _handled += s - first;
                Sequence.SetValue(s - 1);
                next = s;
                if (s <= end)
                {
                    break;
                }
            }
        }
    }
}
