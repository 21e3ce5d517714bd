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
/// when the trigger fires writes the features into the model's pinned input, runs the model and
/// calls the strategy. Each hand-off is timed into <see cref="LatencyTelemetry"/>.
/// </summary>
/// <remarks>
/// One thread (the stage thread) calls <see cref="Process(ref Tick, long)"/>; nothing else touches the books,
/// features or model while it runs. After warm-up (instruments defined, order index sized) it
/// allocates nothing per tick; a test holds it to that over a million events. The processor does
/// not own the model, books or telemetry it is given.
/// </remarks>
public sealed class TickProcessor<TSignal> where TSignal : struct, ISignalHandler
{
    private readonly MarketState _market;
    private readonly FeatureEngine _features;
    private readonly InferenceModel _model;
    private readonly ModelTensor _input;
    private readonly ModelTensor _output;
    private readonly LatencyTelemetry _telemetry;
    private readonly ModelLatency _modelLatency;
    private readonly RingHandOffTimer? _handOff;
    private readonly int _outputWidth;
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
        _model = binding.Model;
        _input = binding.Input;
        _output = binding.Output;
        _telemetry = telemetry;
        _modelLatency = telemetry.ForModel(System.IO.Path.GetFileNameWithoutExtension(binding.Model.Path));
        _handOff = telemetry.RingHandOffTimer;
        _outputWidth = (int)(_output.ElementCount / _output.Shape[0]);
        _signal = signal;
    }

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
    public void OnStageStop() => Counters.StageAllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - _allocatedAtStart;

    /// <summary>Handles one tick taken off the ring at <paramref name="ringSequence"/> (which times the ring wait when the telemetry has a <see cref="RingHandOffTimer"/>). Stage thread only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Process(ref Tick tick, long ringSequence)
    {
        long dequeued = MonotonicClock.NowNs();
        _handOff?.Dequeued(ringSequence, dequeued);
        Apply(ref tick, dequeued);
    }

    /// <summary>Handles one tick that did not come through a timed ring. Stage thread only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Process(ref Tick tick) => Apply(ref tick, MonotonicClock.NowNs());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Apply(ref Tick tick, long dequeued)
    {
        _telemetry.Record(LatencyStage.Ring, dequeued - tick.ReceiveTimestampNs);
        InstrumentFeatures? state = _market.Apply(ref tick);
        if (state is not null)
        {
            Infer(ref tick, state, dequeued);
        }
    }

    private void Infer(ref Tick tick, InstrumentFeatures state, long dequeued)
    {
        Span<float> row = _features.Compute(state, tick.ExchangeTimestampNs);
        row.CopyTo(_input.Span);
        long featuresDone = MonotonicClock.NowNs();

        _model.Run();
        long inferred = MonotonicClock.NowNs();
        Counters.Inferences++;

        _signal.OnSignal(new Signal(state.Instrument, tick.Sequence, tick.ExchangeTimestampNs, tick.ReceiveTimestampNs, dequeued, featuresDone, inferred, _output.Span[.._outputWidth], row));
        long delivered = MonotonicClock.NowNs();

        // Per model; each stage's own histogram reports the merge of its models.
        _modelLatency.Features.Record(featuresDone - dequeued);
        _modelLatency.Inference.Record(inferred - featuresDone);
        _modelLatency.Signal.Record(delivered - inferred);
        _modelLatency.TickToSignal.Record(delivered - tick.ReceiveTimestampNs);
    }
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
    public void OnEvent(ref Tick data, long sequence, bool endOfBatch) => _processor.Process(ref data, sequence);

    /// <inheritdoc />
    public void OnShutdown() => _processor.OnStageStop();
}
