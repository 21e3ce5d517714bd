using System.Runtime.CompilerServices;
using Engine.Book;
using Engine.Events;
using Engine.Features;
using Engine.Inference;
using Engine.Native;
using Engine.Signals;
using Engine.Telemetry;

namespace Engine.Pipeline;

/// <summary>
/// The critical stage: applies each tick to the books and features (<see cref="MarketState"/>), and
/// when the trigger fires writes the features where the model reads them (its pinned input, the
/// instrument's window, or its recurrent step: <see cref="FeatureModelBinding"/>), runs the model (or
/// queues the row for a micro-batch) and calls the strategy. Each hand-off is timed into <see cref="LatencyTelemetry"/>.
/// </summary>
/// <remarks>
/// One thread (the stage thread) calls <see cref="Process(ref Tick, bool)"/>; nothing else touches the books,
/// features or model while it runs. After warm-up (instruments defined, order index sized) it
/// allocates nothing per tick; a test holds it to that over a million events. The processor does
/// not own the model, binding, books or telemetry it is given.
/// </remarks>
public sealed class TickProcessor<TSignal> where TSignal : struct, ISignalHandler
{
    private readonly MarketState _market;
    private readonly FeatureEngine _features;
    private readonly FeatureModelBinding _binding;
    private readonly MicroBatcher? _batcher;
    private readonly PendingSignal[] _pending;
    private readonly LatencyTelemetry _telemetry;
    private readonly ModelLatency _modelLatency;
    private readonly RingHandOffTimer? _handOff;
    private TSignal _signal;

    /// <summary>Wires the stage. The binding's model must be loaded and warm.</summary>
    public TickProcessor(MarketBooks books, FeatureEngine features, FeatureModelBinding binding, LatencyTelemetry telemetry, TSignal signal)
    {
        ArgumentNullException.ThrowIfNull(binding);
        ArgumentNullException.ThrowIfNull(telemetry);
        _market = new MarketState(books, features);
        if (!ReferenceEquals(features.Spec, binding.Spec))
        {
            throw new ArgumentException("The feature engine and the model binding must share one feature spec.", nameof(binding));
        }

        _features = features;
        _binding = binding;
        _batcher = binding.Batcher;
        _pending = new PendingSignal[_batcher?.Capacity ?? 0];
        _telemetry = telemetry;
        _modelLatency = telemetry.ForModel(System.IO.Path.GetFileNameWithoutExtension(binding.Model.Path));
        _handOff = telemetry.RingHandOffTimer;
        _signal = signal;
    }

    /// <summary>The model binding (its <see cref="FeatureModelBinding.Reset"/> may be called from the strategy callback, on the stage thread).</summary>
    public FeatureModelBinding Binding => _binding;

    /// <summary>Counters.</summary>
    public ProcessorCounters Counters => _market.Counters;

    /// <summary>The books.</summary>
    public MarketBooks Books => _market.Books;

    /// <summary>The feature engine.</summary>
    public FeatureEngine Features => _features;

    /// <summary>The strategy handler, by reference (read its state after the run).</summary>
    public ref TSignal Signal => ref _signal;

    private long _allocatedAtStart;

    /// <summary>Called on the stage thread before the first tick.</summary>
    public void OnStageStart() => _allocatedAtStart = GC.GetAllocatedBytesForCurrentThread();

    /// <summary>Called on the stage thread after the last tick.</summary>
    public void OnStageStop()
    {
        // Rows still waiting in a micro-batch are scored, not dropped.
        if (_batcher is { Count: > 0 })
        {
            FlushBatch();
        }

        Counters.StageAllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - _allocatedAtStart;
    }

    /// <summary>Handles one tick as a batch of its own. Stage thread only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Process(ref Tick tick) => Process(ref tick, true);

    /// <summary>Handles one tick taken off the ring at <paramref name="ringSequence"/> (which times the ring wait when the telemetry has a <see cref="RingHandOffTimer"/>). Stage thread only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Process(ref Tick tick, long ringSequence, bool endOfBatch)
    {
        long dequeued = MonotonicClock.NowNs();
        _handOff?.Dequeued(ringSequence, dequeued);
        Apply(ref tick, endOfBatch, dequeued);
    }

    /// <summary>
    /// Handles one tick; <paramref name="endOfBatch"/> says it is the last the ring has for now, which
    /// flushes a micro-batch. Stage thread only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Process(ref Tick tick, bool endOfBatch) => Apply(ref tick, endOfBatch, MonotonicClock.NowNs());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Apply(ref Tick tick, bool endOfBatch, long dequeued)
    {
        _telemetry.Record(LatencyStage.Ring, dequeued - tick.ReceiveTimestampNs);
        InstrumentFeatures? state = _market.Apply(ref tick);
        if (_batcher is null)
        {
            if (state is not null)
            {
                Infer(ref tick, state, dequeued);
            }

            return;
        }

        if (state is not null)
        {
            Enqueue(ref tick, state, dequeued);
        }

        if (_batcher.Count > 0 && (endOfBatch || _batcher.IsDue(MonotonicClock.NowNs())))
        {
            FlushBatch();
        }
    }

    private void Infer(ref Tick tick, InstrumentFeatures state, long dequeued)
    {
        Span<float> row = _features.Compute(state, tick.ExchangeTimestampNs);
        _binding.Write(state.Instrument, row);
        long featuresDone = MonotonicClock.NowNs();
        _modelLatency.Features.Record(featuresDone - dequeued);

        if (!_binding.TryRun(state.Instrument))
        {
            Counters.SkippedWindowFilling++;
            return;
        }

        long inferred = MonotonicClock.NowNs();
        Counters.ModelRuns++;
        Counters.Inferences++;

        _signal.OnSignal(new Signal(state.Instrument, tick.Sequence, tick.ExchangeTimestampNs, tick.ReceiveTimestampNs, dequeued, featuresDone, inferred, _binding.Prediction, row));
        long delivered = MonotonicClock.NowNs();

        _modelLatency.Inference.Record(inferred - featuresDone);
        _modelLatency.Signal.Record(delivered - inferred);
        _modelLatency.TickToSignal.Record(delivered - tick.ReceiveTimestampNs);
    }

    private void Enqueue(ref Tick tick, InstrumentFeatures state, long dequeued)
    {
        Span<float> row = _features.Compute(state, tick.ExchangeTimestampNs);
        long featuresDone = MonotonicClock.NowNs();
        int k = _batcher!.Add(row, featuresDone);
        _pending[k] = new PendingSignal(state.Instrument, tick.Sequence, tick.ExchangeTimestampNs, tick.ReceiveTimestampNs, dequeued, featuresDone);
        _modelLatency.Features.Record(featuresDone - dequeued);
    }

    // One run scores every waiting row; each gets its own signal. The inference stage of a row includes
    // its wait for the batch.
    private void FlushBatch()
    {
        MicroBatcher batcher = _batcher!;
        int rows = batcher.Flush();
        long inferred = MonotonicClock.NowNs();
        Counters.ModelRuns++;
        int output = _binding.OutputIndex;
        for (int i = 0; i < rows; i++)
        {
            ref readonly PendingSignal p = ref _pending[i];
            Counters.Inferences++;
            _signal.OnSignal(new Signal(p.Instrument, p.Sequence, p.ExchangeTimestampNs, p.ReceiveTimestampNs, p.DequeueTimestampNs, p.FeaturesDoneNs, inferred, batcher.Output(i, output), batcher.InputRow(i)));
            long delivered = MonotonicClock.NowNs();
            _modelLatency.Inference.Record(inferred - p.FeaturesDoneNs);
            _modelLatency.Signal.Record(delivered - inferred);
            _modelLatency.TickToSignal.Record(delivered - p.ReceiveTimestampNs);
        }
    }

    // What a signal needs from its tick while the row waits in a micro-batch.
    private readonly record struct PendingSignal(int Instrument, long Sequence, long ExchangeTimestampNs, long ReceiveTimestampNs, long DequeueTimestampNs, long FeaturesDoneNs);
}

/// <summary>Adapts a <see cref="TickProcessor{TSignal}"/> to the ring's consumer interface (a struct, so the call is direct).</summary>
public readonly struct TickEventHandler<TSignal> : IEventHandler<Tick> where TSignal : struct, ISignalHandler
{
    private readonly TickProcessor<TSignal> _processor;

    /// <summary>Wraps <paramref name="processor"/>.</summary>
    public TickEventHandler(TickProcessor<TSignal> processor) => _processor = processor;

    /// <inheritdoc />
    public void OnStart() => _processor.OnStageStart();

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void OnEvent(ref Tick data, long sequence, bool endOfBatch) => _processor.Process(ref data, sequence, endOfBatch);

    /// <inheritdoc />
    public void OnShutdown() => _processor.OnStageStop();
}
