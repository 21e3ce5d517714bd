using System.Runtime.InteropServices;

namespace Engine.Telemetry;

/// <summary>
/// A monotonically increasing count fed by one thread (the feed thread's gaps, a stage's fallbacks),
/// read by any. Created through <see cref="TelemetryCounters.Create"/>.
/// </summary>
/// <remarks>
/// <see cref="Add"/> is a plain read and an ordered write: wait-free, allocation-free, no lock
/// prefix, for ONE writer thread. The value sits on its own cache line so two counters fed by two
/// threads do not share one.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 128)]
public sealed class TelemetryCounter
{
    /// <summary>Offset of the value inside the object's fields: a cache line of padding on each side of it.</summary>
    internal const int ValueOffset = 64;

    // Written by the owning thread (Volatile.Write: a reader never sees a torn or out-of-order value); read by any thread.
    [FieldOffset(ValueOffset)]
    private long _value;

    /// <summary>The count now.</summary>
    public long Value => Volatile.Read(ref _value);

    /// <summary>The value's field, for the layout test.</summary>
    internal ref long ValueField => ref _value;

    /// <summary>Adds one. One writer thread.</summary>
    public void Increment() => Volatile.Write(ref _value, _value + 1);

    /// <summary>Adds <paramref name="n"/>. One writer thread.</summary>
    public void Add(long n) => Volatile.Write(ref _value, _value + n);
}

/// <summary>One counter as exported: Prometheus name, help text, an optional label, and how to read it.</summary>
/// <param name="Name">Metric name, e.g. <c>engine_events_rejected_total</c>.</param>
/// <param name="Help">One line of help.</param>
/// <param name="LabelName">Label name (e.g. <c>reason</c>), or null.</param>
/// <param name="LabelValue">Label value (e.g. <c>TruncatedFrame</c>), or null.</param>
/// <param name="Read">Reads the current value; called on the metrics thread, must not block.</param>
public sealed record CounterRegistration(string Name, string Help, string? LabelName, string? LabelValue, Func<long> Read);

/// <summary>
/// The registration point for every count the engine exports (metrics endpoint, reports): events
/// received/processed/rejected by reason, inferences, fallbacks, gaps, duplicates, and whatever a
/// feed handler or stage adds. Owners keep counting in their own single-writer fields and register a
/// reader here (<see cref="Register"/>), or take a <see cref="TelemetryCounter"/> (<see cref="Create"/>).
/// </summary>
/// <remarks>
/// Registration is a start-up step (it allocates and takes a lock); reading happens on the metrics
/// thread. The hot path never touches this class, only the counters it owns.
/// Well-known names: <see cref="EventsReceived"/>, <see cref="EventsProcessed"/>,
/// <see cref="EventsRejected"/>, <see cref="Inferences"/>, <see cref="Fallbacks"/>, <see cref="Gaps"/>,
/// <see cref="Duplicates"/>.
/// </remarks>
public sealed class TelemetryCounters
{
    /// <summary>Messages read from the feed.</summary>
    public const string EventsReceived = "engine_events_received_total";

    /// <summary>Messages decoded and handled.</summary>
    public const string EventsProcessed = "engine_events_processed_total";

    /// <summary>Messages rejected, label <c>reason</c>.</summary>
    public const string EventsRejected = "engine_events_rejected_total";

    /// <summary>Model runs.</summary>
    public const string Inferences = "engine_inferences_total";

    /// <summary>Model back-end fallbacks taken at load (label <c>reason</c>): compiled kernel → ONNX Runtime, or an execution provider that failed → the next one.</summary>
    public const string Fallbacks = "engine_fallbacks_total";

    /// <summary>Sequence gaps detected on a feed (label <c>line</c> or <c>feed</c>).</summary>
    public const string Gaps = "engine_gaps_total";

    /// <summary>Duplicate messages dropped on a feed (label <c>feed</c>).</summary>
    public const string Duplicates = "engine_duplicates_total";

    /// <summary>Sequence numbers a feed reported missing, over all gaps (label <c>feed</c>).</summary>
    public const string MissedMessages = "engine_missed_messages_total";

    private readonly Lock _gate = new();
    private readonly List<CounterRegistration> _registrations = [];

    /// <summary>Registers a counter read through <paramref name="read"/> (which runs on the metrics thread and must not block). Start-up only.</summary>
    public void Register(string name, string help, Func<long> read, string? labelName = null, string? labelValue = null)
    {
        ArgumentNullException.ThrowIfNull(read);
        PrometheusText.CheckName(name);
        if (labelName is not null)
        {
            PrometheusText.CheckName(labelName);
            ArgumentNullException.ThrowIfNull(labelValue);
        }

        lock (_gate)
        {
            foreach (CounterRegistration r in _registrations)
            {
                if (r.Name == name && r.LabelName == labelName && r.LabelValue == labelValue)
                {
                    throw new ArgumentException($"Counter {name}{(labelName is null ? "" : $"{{{labelName}=\"{labelValue}\"}}")} is already registered.", nameof(name));
                }

                if (r.Name == name && r.Help != help)
                {
                    throw new ArgumentException($"Counter {name} is already registered with help '{r.Help}'; every series of one name shares its help text.", nameof(help));
                }
            }

            _registrations.Add(new CounterRegistration(name, help, labelName, labelValue, read));
        }
    }

    /// <summary>Creates and registers a counter for one writer thread to feed. Start-up only.</summary>
    public TelemetryCounter Create(string name, string help, string? labelName = null, string? labelValue = null)
    {
        var counter = new TelemetryCounter();
        Register(name, help, () => counter.Value, labelName, labelValue);
        return counter;
    }

    /// <summary>A snapshot of the registrations, in registration order.</summary>
    public IReadOnlyList<CounterRegistration> Registrations
    {
        get
        {
            lock (_gate)
            {
                return [.. _registrations];
            }
        }
    }

    /// <summary>Reads the counter registered as <paramref name="name"/> (and label), or null when none is.</summary>
    public long? Read(string name, string? labelValue = null)
    {
        lock (_gate)
        {
            foreach (CounterRegistration r in _registrations)
            {
                if (r.Name == name && r.LabelValue == labelValue)
                {
                    return r.Read();
                }
            }
        }

        return null;
    }
}
