using System.Globalization;
using System.Runtime.InteropServices;

namespace Engine.LatencyHarness;

/// <summary>The machine a result came from, in one line: absolute numbers mean nothing without it.</summary>
public static class Machine
{
    public static string Describe()
    {
        string cpu = "unknown CPU";
        if (File.Exists("/proc/cpuinfo"))
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null)
            {
                cpu = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            }
        }

        string memory = string.Empty;
        if (File.Exists("/proc/meminfo"))
        {
            string? total = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal));
            if (total is not null && long.TryParse(total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long kb))
            {
                memory = string.Create(CultureInfo.InvariantCulture, $", {kb / 1024.0 / 1024.0:F0} GiB");
            }
        }

        return $"{cpu}, {Environment.ProcessorCount} logical CPUs{memory}, {RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    }
}
