namespace Engine.Signals;

/// <summary>
/// A prediction delivered to strategy code, with the timestamps of each hand-off (monotonic ns, see
/// <see cref="Engine.Native.MonotonicClock"/>). A <c>ref struct</c>: it lives on the stack of the
/// inference stage and its spans point into the model's output and the feature block, valid only
/// during the callback. Copy what you keep.
/// </summary>
public readonly ref struct Signal
{
    /// <summary>Creates a signal (the engine does; tests may).</summary>
    public Signal(int instrument, long sequence, long exchangeTimestampNs, long receiveTimestampNs, long dequeueTimestampNs, long featuresDoneNs, long inferenceDoneNs, ReadOnlySpan<float> outputs, ReadOnlySpan<float> features)
    {
        Instrument = instrument;
        Sequence = sequence;
        ExchangeTimestampNs = exchangeTimestampNs;
        ReceiveTimestampNs = receiveTimestampNs;
        DequeueTimestampNs = dequeueTimestampNs;
        FeaturesDoneNs = featuresDoneNs;
        InferenceDoneNs = inferenceDoneNs;
        Outputs = outputs;
        Features = features;
    }

    /// <summary>Instrument id.</summary>
    public int Instrument { get; }

    /// <summary>Source sequence of the tick that triggered the prediction.</summary>
    public long Sequence { get; }

    /// <summary>Exchange time of that tick, ns.</summary>
    public long ExchangeTimestampNs { get; }

    /// <summary>When the tick was received (or scheduled, in a paced replay).</summary>
    public long ReceiveTimestampNs { get; }

    /// <summary>When the stage took the tick off the ring.</summary>
    public long DequeueTimestampNs { get; }

    /// <summary>When the book and features were updated and the model input written.</summary>
    public long FeaturesDoneNs { get; }

    /// <summary>When the model run returned.</summary>
    public long InferenceDoneNs { get; }

    /// <summary>The prediction output's values (the first row).</summary>
    public ReadOnlySpan<float> Outputs { get; }

    /// <summary>The features the model saw.</summary>
    public ReadOnlySpan<float> Features { get; }

    /// <summary>The first output value: the prediction of a single-output regression model.</summary>
    public float Prediction => Outputs[0];
}

/// <summary>
/// Strategy callback. Implement on a <c>struct</c> and give it as the generic argument of the
/// processor so the call is direct. Runs on the inference stage thread: do not block, lock or
/// allocate in it; hand work to another ring if it is slow.
/// </summary>
public interface ISignalHandler
{
    /// <summary>Receives one prediction.</summary>
    void OnSignal(in Signal signal);
}
