using System.Numerics;
using HdrHistogram;

namespace Engine.Telemetry;

/// <summary>
/// A <see cref="LongHistogram"/> whose counts the engine can read directly, so interval logs are
/// encoded without HdrHistogram's per-call copies (which land on the large-object heap and trigger
/// the gen-2 collections that pause every thread, hot ones included).
/// </summary>
public sealed class TelemetryHistogram : LongHistogram
{
    private readonly int _subBucketHalfCountMagnitude;
    private readonly int _unitMagnitude;

    /// <summary>Creates a histogram (the signature of HdrHistogram's histogram factory delegate).</summary>
    public TelemetryHistogram(long instanceId, long lowestTrackableValue, long highestTrackableValue, int numberOfSignificantValueDigits)
        : base(instanceId, lowestTrackableValue, highestTrackableValue, numberOfSignificantValueDigits)
    {
        _subBucketHalfCountMagnitude = BitOperations.Log2((uint)SubBucketCount) - 1;
        _unitMagnitude = BitOperations.Log2((ulong)lowestTrackableValue);
    }

    /// <summary>Length of the counts array: (bucket count + 1) × half the sub-bucket count, as HdrHistogram lays it out.</summary>
    public int CountsLength => (BucketCount + 1) * (SubBucketCount / 2);

    /// <summary>The count at a counts-array index.</summary>
    public long CountAt(int index) => GetCountAtIndex(index);

    /// <summary>
    /// The largest value recorded (the highest value equivalent to it at this precision, as
    /// HdrHistogram reports it); 0 when empty. Scans the counts from the top and allocates nothing,
    /// unlike the package's <c>GetMaxValue</c> extension, which enumerates every recorded value.
    /// </summary>
    public long MaxValue()
    {
        for (int i = CountsLength - 1; i >= 0; i--)
        {
            if (GetCountAtIndex(i) != 0)
            {
                return NextNonEquivalentValue(ValueAtIndex(i)) - 1;
            }
        }

        return 0;
    }

    /// <summary>The lowest value that counts-array index <paramref name="index"/> stands for (HdrHistogram's layout).</summary>
    public long ValueAtIndex(int index)
    {
        int bucketIndex = (index >> _subBucketHalfCountMagnitude) - 1;
        int subBucketIndex = (index & ((SubBucketCount / 2) - 1)) + (SubBucketCount / 2);
        if (bucketIndex < 0)
        {
            subBucketIndex -= SubBucketCount / 2;
            bucketIndex = 0;
        }

        return (long)subBucketIndex << (bucketIndex + _unitMagnitude);
    }

    /// <summary>
    /// One pass over the counts: for each bound (ascending), how many values are at or below it
    /// (Prometheus cumulative buckets; a count belongs to the lowest value of its bucket, so each bound
    /// is exact to the histogram's precision), and the sum of all values (each count at the median of
    /// its bucket). Allocates nothing.
    /// </summary>
    public double CumulativeCounts(ReadOnlySpan<long> bounds, Span<long> into)
    {
        into.Clear();
        double sum = 0;
        int b = 0;
        long cumulative = 0;
        for (int i = 0; i < CountsLength; i++)
        {
            long count = GetCountAtIndex(i);
            if (count == 0)
            {
                continue;
            }

            long value = ValueAtIndex(i);
            while (b < bounds.Length && value > bounds[b])
            {
                into[b++] = cumulative;
            }

            cumulative += count;
            sum += (double)count * MedianEquivalentValue(value);
        }

        while (b < bounds.Length)
        {
            into[b++] = cumulative;
        }

        return sum;
    }

    /// <summary>A copy of any histogram as a <see cref="TelemetryHistogram"/> (cold path: tools merging logs).</summary>
    public static TelemetryHistogram From(HistogramBase histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        var copy = new TelemetryHistogram(0, histogram.LowestTrackableValue, histogram.HighestTrackableValue, histogram.NumberOfSignificantValueDigits);
        copy.Add(histogram);
        copy.StartTimeStamp = histogram.StartTimeStamp;
        copy.EndTimeStamp = histogram.EndTimeStamp;
        copy.Tag = histogram.Tag;
        return copy;
    }
}
