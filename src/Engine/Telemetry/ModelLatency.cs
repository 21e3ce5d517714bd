namespace Engine.Telemetry;

/// <summary>
/// The per-model histograms of one model (tags <c>features:NAME</c>, <c>inference:NAME</c>,
/// <c>signal:NAME</c>, <c>tick_to_signal:NAME</c>); each stage's own histogram reports their merge.
/// Get one from <see cref="LatencyTelemetry.ForModel"/> at start-up; record from the thread that
/// runs the model (one writer per histogram). Recording is wait-free and allocation-free.
/// </summary>
public sealed class ModelLatency
{
    internal ModelLatency(string model, LatencyRecorder features, LatencyRecorder inference, LatencyRecorder signal, LatencyRecorder tickToSignal)
    {
        Model = model;
        Features = features;
        Inference = inference;
        Signal = signal;
        TickToSignal = tickToSignal;
    }

    /// <summary>The model's name in tags and labels.</summary>
    public string Model { get; }

    /// <summary>Off the ring → features written into this model's input.</summary>
    public LatencyRecorder Features { get; }

    /// <summary>This model's run.</summary>
    public LatencyRecorder Inference { get; }

    /// <summary>The strategy callback for this model's prediction.</summary>
    public LatencyRecorder Signal { get; }

    /// <summary>Receive → callback returned, for this model's prediction.</summary>
    public LatencyRecorder TickToSignal { get; }
}

/// <summary>
/// Times the two halves of the ring hand-off: feed receive → publish (<see cref="LatencyStage.Publish"/>,
/// recorded by the producer) and publish → dequeue (<see cref="LatencyStage.RingWait"/>, recorded by the
/// stage). The producer stamps each slot's publish time into a side array indexed like the ring;
/// the ring's own publish (a release write of the cursor) orders the stamp before the consumer reads it.
/// </summary>
/// <remarks>
/// One producer thread calls <see cref="Published"/> immediately before publishing a sequence; one
/// consumer thread calls <see cref="Dequeued"/> for it. Both are wait-free and allocate nothing; the
/// cost is one clock read (~20 ns) on the producer and two cache lines touched per 8 events.
/// Get one from <see cref="LatencyTelemetry.RingHandOff"/>.
/// </remarks>
public sealed class RingHandOffTimer
{
    private readonly long[] _publishedAt;
    private readonly long _mask;
    private readonly LatencyRecorder _publish;
    private readonly LatencyRecorder _ringWait;
    private readonly LatencyRecorder? _exchangeToReceive;

    internal RingHandOffTimer(int ringCapacity, LatencyRecorder publish, LatencyRecorder ringWait, LatencyRecorder? exchangeToReceive = null)
    {
        _exchangeToReceive = exchangeToReceive;
        if (ringCapacity <= 0 || (ringCapacity & (ringCapacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ringCapacity), ringCapacity, "Ring capacity must be a positive power of two.");
        }

        _publishedAt = GC.AllocateUninitializedArray<long>(ringCapacity, pinned: true);
        _mask = ringCapacity - 1;
        _publish = publish;
        _ringWait = ringWait;
    }

    /// <summary>Ring capacity this timer was sized for.</summary>
    public int Capacity => _publishedAt.Length;

    /// <summary>Producer: the tick at <paramref name="sequence"/>, received at <paramref name="receivedNs"/>, is about to be published.</summary>
    public void Published(long sequence, long receivedNs)
    {
        long now = Native.MonotonicClock.NowNs();
        _publishedAt[sequence & _mask] = now;
        _publish.Record(now - receivedNs);
    }

    /// <summary>
    /// Producer: one message's exchange timestamp → receive, in ns, for a source whose two timestamps are
    /// on one clock (an IEX pcap: IEX's send time and the capture time, both ns since the epoch).
    /// Wait-free, allocation-free; the feed thread only.
    /// </summary>
    public void ExchangeToReceive(long nanoseconds) => _exchangeToReceive?.Record(nanoseconds);

    /// <summary>Consumer: the tick at <paramref name="sequence"/> was taken off the ring at <paramref name="dequeuedNs"/>.</summary>
    public void Dequeued(long sequence, long dequeuedNs) => _ringWait.Record(dequeuedNs - _publishedAt[sequence & _mask]);
}
