using System.Runtime.CompilerServices;

namespace Engine.Pipeline;

/// <summary>
/// Consumer callback. Implement on a <c>struct</c> and pass it as a generic argument: the JIT then
/// calls it directly (no interface dispatch per event).
/// </summary>
public interface IEventHandler<T> where T : unmanaged
{
    /// <summary>Called on the processor thread before the first event (per-thread set-up: pinning, sessions, warm-up).</summary>
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

/// <summary>A handler exception, with the sequence of the event that caused it.</summary>
/// <param name="Sequence">Ring sequence of the event being handled.</param>
/// <param name="Exception">What the handler threw.</param>
public sealed record HandlerFault(long Sequence, Exception Exception);

/// <summary>Control surface of a running consumer, independent of its handler and wait strategy types.</summary>
public interface IEventProcessor
{
    /// <summary>This consumer's progress: the last sequence fully handled.</summary>
    Sequence Sequence { get; }

    /// <summary>True while running.</summary>
    bool IsRunning { get; }

    /// <summary>Handler exceptions kept.</summary>
    IReadOnlyList<HandlerFault> Faults { get; }

    /// <summary>Handler exceptions seen.</summary>
    long FaultCount { get; }

    /// <summary>True when a handler fault stopped the processor.</summary>
    bool HaltedByFault { get; }

    /// <summary>Processes events until halted; call on the stage thread.</summary>
    void Run();

    /// <summary>Stops as soon as the processor next waits.</summary>
    void Halt();

    /// <summary>Waits until everything up to <paramref name="lastPublished"/> is handled, then halts; false if it stopped first.</summary>
    bool DrainAndHalt(long lastPublished);
}

/// <summary>
/// Runs one consumer: waits for published events with <typeparamref name="TWait"/>, hands every
/// available event to <typeparamref name="THandler"/> in one pass, then publishes its own progress.
/// </summary>
/// <remarks>
/// Threading: <see cref="Run"/> is called on the stage thread and returns when the processor is
/// halted; <see cref="Halt"/> and <see cref="DrainAndHalt"/> are called from a controlling thread.
/// Allocation: none per event. Faults are never swallowed: they are kept in <see cref="Faults"/>
/// (bounded by <see cref="MaxFaultsKept"/>, all counted in <see cref="FaultCount"/>).
/// </remarks>
public sealed class EventProcessor<T, THandler, TWait> : IEventProcessor
    where T : unmanaged
    where THandler : struct, IEventHandler<T>
    where TWait : struct, IWaitStrategy
{
    /// <summary>How many fault records are kept; every fault is counted regardless.</summary>
    public const int MaxFaultsKept = 16;

    private readonly RingBuffer<T> _ring;
    private readonly SequenceBarrier _barrier;
    private readonly HandlerFaultPolicy _faultPolicy;
    private readonly List<HandlerFault> _faults = new(MaxFaultsKept);
    private THandler _handler;
    private readonly TWait _wait;

    // 0 = idle, 1 = running, 2 = halted. Written by the processor thread and by Halt().
    private int _state;
    private long _faultCount;

    /// <summary>Creates a processor reading <paramref name="ring"/> as far as <paramref name="barrier"/> allows.</summary>
    public EventProcessor(RingBuffer<T> ring, SequenceBarrier barrier, THandler handler, HandlerFaultPolicy faultPolicy = HandlerFaultPolicy.Halt)
    {
        ArgumentNullException.ThrowIfNull(ring);
        ArgumentNullException.ThrowIfNull(barrier);
        _ring = ring;
        _barrier = barrier;
        _handler = handler;
        _wait = default;
        _faultPolicy = faultPolicy;
    }

    /// <summary>This consumer's progress: the last sequence fully handled. Producers gate on it.</summary>
    public Sequence Sequence { get; } = new();

    /// <summary>The handler, by reference (its state after a run; do not touch while running).</summary>
    public ref THandler Handler => ref _handler;

    /// <summary>True while <see cref="Run"/> is executing.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == 1;

    /// <summary>Handler exceptions seen (at most <see cref="MaxFaultsKept"/> kept). Read after the run.</summary>
    public IReadOnlyList<HandlerFault> Faults => _faults;

    /// <summary>Every handler exception seen, kept or not.</summary>
    public long FaultCount => Interlocked.Read(ref _faultCount);

    /// <summary>True when the processor stopped because a handler threw under <see cref="HandlerFaultPolicy.Halt"/>.</summary>
    public bool HaltedByFault { get; private set; }

    /// <summary>Processes events until halted. Call on the stage thread.</summary>
    public void Run()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The processor is already running or was halted; create a new one.");
        }

        _handler.OnStart();
        try
        {
            Loop();
        }
        finally
        {
            _handler.OnShutdown();
            Volatile.Write(ref _state, 2);
        }
    }

    /// <summary>Stops the processor as soon as it next waits; events already published may be left unhandled.</summary>
    public void Halt() => _barrier.Alert();

    /// <summary>
    /// Waits (spinning, then sleeping) until every sequence up to <paramref name="lastPublished"/> is
    /// handled, then halts. Returns false if the processor stopped first (a fault), true otherwise.
    /// </summary>
    public bool DrainAndHalt(long lastPublished)
    {
        var spinner = default(SpinWait);
        while (Sequence.Value < lastPublished)
        {
            if (Volatile.Read(ref _state) == 2)
            {
                return false;
            }

            spinner.SpinOnce();
        }

        Halt();
        return true;
    }

    private void Loop()
    {
        long next = Sequence.Value + 1;
        while (true)
        {
            long available = _wait.WaitFor(next, _barrier);
            if (available < next)
            {
                if (_barrier.IsAlerted)
                {
                    return;
                }

                continue;
            }

            try
            {
                ref THandler handler = ref _handler;
                for (; next <= available; next++)
                {
                    handler.OnEvent(ref _ring[next], next, next == available);
                }
            }
            catch (Exception ex)
            {
                if (!OnFault(next, ex))
                {
                    // Everything before the faulting event was handled.
                    Sequence.SetValue(next - 1);
                    return;
                }

                next++;
                continue;
            }

            Sequence.SetValue(available);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool OnFault(long sequence, Exception ex)
    {
        Interlocked.Increment(ref _faultCount);
        if (_faults.Count < MaxFaultsKept)
        {
            _faults.Add(new HandlerFault(sequence, ex));
        }

        if (_faultPolicy == HandlerFaultPolicy.Halt)
        {
            HaltedByFault = true;
            return false;
        }

        Sequence.SetValue(sequence);
        return true;
    }
}
