using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Engine.Fuzz;

/// <summary>
/// The fuzz command's <c>--json FILE</c>: per target, inputs, crashes, hangs, inputs/s, the slowest
/// input, the seed, and the findings, with the machine and the command line, so a results table can
/// cite a file. Written after every target (and by the watchdog before it ends the process on a hang),
/// so the file always holds every target run so far.
/// </summary>
public static class FuzzReport
{
    /// <summary>Writes <paramref name="results"/> to <paramref name="path"/> (replacing it).</summary>
    /// <param name="path">The JSON file.</param>
    /// <param name="results">The targets run, in order.</param>
    /// <param name="inputsPerTarget">The <c>--inputs</c> asked for.</param>
    /// <param name="seed">The mutator's seed.</param>
    /// <param name="hangMs">The hang timeout, ms.</param>
    /// <param name="arguments">The command line, for the record.</param>
    /// <param name="realSeeds">Whether ../shared supplied real captures as seeds.</param>
    public static void WriteJson(string path, IReadOnlyList<FuzzResult> results, long inputsPerTarget, ulong seed, int hangMs, IReadOnlyList<string> arguments, bool realSeeds)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(arguments);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("tool", "perf/Engine.Fuzz (mutation of real messages, no coverage feedback)");
        json.WriteString("command", "dotnet run -c Release --project perf/Engine.Fuzz -- " + string.Join(' ', arguments));
        json.WriteString("written_utc", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        json.WriteString("machine", $"{Environment.ProcessorCount} logical CPUs, {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}, .NET {Environment.Version}");
        json.WriteNumber("inputs_per_target", inputsPerTarget);
        json.WriteNumber("seed", seed);
        json.WriteNumber("hang_timeout_ms", hangMs);
        json.WriteBoolean("real_seeds_from_shared", realSeeds);
        long crashes = 0, hangs = 0;
        json.WriteStartArray("targets");
        foreach (FuzzResult r in results)
        {
            crashes += r.Crashes;
            hangs += r.Hangs;
            json.WriteStartObject();
            json.WriteString("target", r.Target);
            json.WriteNumber("seed", seed);
            json.WriteNumber("seeds", r.Seeds);
            json.WriteNumber("inputs", r.Inputs);
            json.WriteNumber("crashes", r.Crashes);
            json.WriteNumber("hangs", r.Hangs);
            json.WriteNumber("seconds", Math.Round(r.Seconds, 3));
            json.WriteNumber("inputs_per_second", Math.Round(r.InputsPerSecond, 1));
            json.WriteNumber("slowest_input_ms", Math.Round(r.SlowestMs, 3));
            json.WriteNumber("inputs_with_accepted_messages", r.InputsWithAcceptedMessages);
            json.WriteNumber("accepted_messages", r.AcceptedMessages);
            json.WriteStartArray("findings");
            foreach (string f in r.Findings)
            {
                json.WriteStringValue(f);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteNumber("crashes", crashes);
        json.WriteNumber("hangs", hangs);
        json.WriteBoolean("clean", crashes == 0 && hangs == 0);
        json.WriteEndObject();
    }
}
