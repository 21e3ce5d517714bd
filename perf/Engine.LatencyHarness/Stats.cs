namespace Engine.LatencyHarness;

/// <summary>Small statistics the scenarios share (cold code: run once per report, allocation is fine).</summary>
public static class Stats
{
    /// <summary>The median of <paramref name="values"/> (mean of the middle two for an even count); NaN when there are none.</summary>
    public static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
