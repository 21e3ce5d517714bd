using HdrHistogram;

namespace Engine.Telemetry;

/// <summary>
/// A <see cref="LongHistogram"/> whose counts the engine can read directly, so interval logs are
/// encoded without HdrHistogram's per-call copies (which land on the large-object heap and trigger
/// the gen-2 collections that pause every thread, hot ones included).
/// </summary>
public sealed class TelemetryHistogram : LongHistogram
{
    /// <summary>Creates a histogram (the signature of HdrHistogram's histogram factory delegate).</summary>
    public TelemetryHistogram(long instanceId, long lowestTrackableValue, long highestTrackableValue, int numberOfSignificantValueDigits)
        : base(instanceId, lowestTrackableValue, highestTrackableValue, numberOfSignificantValueDigits)
    {
    }

    /// <summary>Length of the counts array: (bucket count + 1) × half the sub-bucket count, as HdrHistogram lays it out.</summary>
    public int CountsLength => (BucketCount + 1) * (SubBucketCount / 2);

    /// <summary>The count at a counts-array index.</summary>
    public long CountAt(int index) => GetCountAtIndex(index);
}
