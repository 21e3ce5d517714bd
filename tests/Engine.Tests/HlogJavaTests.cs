using System.Diagnostics;
using System.Globalization;
using Engine.Telemetry;
using HdrHistogram;

namespace Engine.Tests;

/// <summary>
/// The engine's .hlog read by HdrHistogram's Java implementation (the tooling ops use: HistogramLogProcessor,
/// HistogramLogAnalyzer), not only by the .NET package. Needs a JDK and the HdrHistogram jar (Debian's
/// libhdrhistogram-java; .ci/run installs it); skips saying so when either is missing.
/// </summary>
[TestFixture]
public sealed class HlogJavaTests
{
    private const string Jar = "/usr/share/java/hdrhistogram.jar";

    [Test]
    public void JavaHistogramLogReaderReadsTheEngineLogWithTheSameCountsAndPercentiles()
    {
        string? javac = Which("javac");
        string? java = Which("java");
        if (javac is null || java is null || !File.Exists(Jar))
        {
            Assert.Ignore($"Java HdrHistogram check skipped: javac {(javac is null ? "missing" : "ok")}, java {(java is null ? "missing" : "ok")}, {Jar} {(File.Exists(Jar) ? "ok" : "missing")} (apt-get install default-jdk-headless libhdrhistogram-java).");
        }

        string dir = Path.Combine(Path.GetTempPath(), $"hlog-java-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string hlog = Path.Combine(dir, "latency.hlog");
            using (var telemetry = new LatencyTelemetry(File.Create(hlog)))
            {
                for (long v = 1; v <= 50_000; v++)
                {
                    telemetry.Record(LatencyStage.Inference, v * 20);           // uniform 20 ns .. 1 ms
                    telemetry.Record(LatencyStage.TickToSignal, 500 + (v % 97)); // narrow, sub-µs
                }

                telemetry.Cut();
                telemetry.Record(LatencyStage.TickToSignal, 7_000_000);         // a 7 ms stall in a second interval
                telemetry.Stop();
            }

            Run(javac, $"-cp {Jar} -d {dir} {Path.Combine(TestContext.CurrentContext.TestDirectory, "Java", "HlogCheck.java")}");
            string output = Run(java, $"-cp {Jar}{Path.PathSeparator}{dir} HlogCheck {hlog}");
            Dictionary<string, long[]> java8 = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' '))
                .ToDictionary(p => p[0], p => p.Skip(1).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray());

            using FileStream stream = File.OpenRead(hlog);
            using var reader = new HistogramLogReader(stream);
            foreach (IGrouping<string, HistogramBase> tag in reader.ReadHistograms().GroupBy(h => h.Tag))
            {
                var total = new LongHistogram(LatencyTelemetry.HighestTrackableNs, 3);
                foreach (HistogramBase h in tag)
                {
                    total.Add(h);
                }

                Assert.That(java8, Contains.Key(tag.Key), $"Java read tag {tag.Key}");
                long[] j = java8[tag.Key];
                Assert.That(j[0], Is.EqualTo(total.TotalCount), $"{tag.Key}: count");
                Assert.That((double)j[1], Is.EqualTo((double)total.GetValueAtPercentile(50)).Within(0.2).Percent, $"{tag.Key}: p50");
                Assert.That((double)j[2], Is.EqualTo((double)total.GetValueAtPercentile(99)).Within(0.2).Percent, $"{tag.Key}: p99");
                Assert.That((double)j[3], Is.EqualTo((double)total.GetMaxValue()).Within(0.2).Percent, $"{tag.Key}: max");
            }

            Assert.That(java8["inference"][0], Is.EqualTo(50_000));
            Assert.That((double)java8["tick_to_signal"][3], Is.EqualTo(7_000_000).Within(0.1).Percent, "the stall, in the second interval");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Run(string file, string arguments)
    {
        using var p = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.Zero, $"{file} {arguments}: {stderr}");
        return stdout;
    }

    private static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
