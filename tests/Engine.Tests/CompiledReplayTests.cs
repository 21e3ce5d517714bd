using System.Globalization;
using Engine.Features;
using Engine.Inference;
using Engine.Replay;
using FeedHandlers.Capture;
using FeedHandlers.Itch;

namespace Engine.Tests;

/// <summary>The replay (the production path) on each back-end: the report says which runs and why, and both predict the same.</summary>
[TestFixture]
public sealed class CompiledReplayTests
{
    [Test]
    public void ReplayReportsWhichBackendRunsAndWhyAndBothBackendsPredictTheSame()
    {
        (ReplayReport auto, PredictionLog autoLog) = Replay(ModelBackend.Auto);
        (ReplayReport ort, PredictionLog ortLog) = Replay(ModelBackend.Ort);

        Assert.That(auto.ExecutionProvider, Is.EqualTo("compiled"));
        Assert.That(auto.BackendReason, Does.StartWith("compiled: agrees with ONNX Runtime"));
        Assert.That(ort.ExecutionProvider, Is.EqualTo("CPU"));
        Assert.That(ort.BackendReason, Does.Contain("Backend = Ort"));
        Assert.That(autoLog.Count, Is.EqualTo(ortLog.Count).And.GreaterThan(50_000));

        string[] a = Csv(auto, autoLog), o = Csv(ort, ortLog);
        Assert.That(a, Has.Length.EqualTo(o.Length));
        double worst = 0;
        for (int i = 1; i < a.Length; i++)
        {
            // Same rows, same features; only the prediction column may differ in its last bits.
            string[] ca = a[i].Split(','), co = o[i].Split(',');
            Assert.That(ca[..^1], Is.EqualTo(co[..^1]), $"row {i}");
            double pa = double.Parse(ca[^1], CultureInfo.InvariantCulture), po = double.Parse(co[^1], CultureInfo.InvariantCulture);
            worst = Math.Max(worst, Math.Abs(pa - po) / Math.Max(1, Math.Abs(po)));
        }

        Assert.That(worst, Is.LessThanOrEqualTo(1e-4), "compiled vs ORT predictions, relative to max(1, |ORT|)");
    }

    private static (ReplayReport, PredictionLog) Replay(ModelBackend backend)
    {
        var source = new ItchReplaySource(CaptureFile.ReadAll(Path.Combine(TestData.Samples, "sample.itch.gz")), ReplayPacing.AsFastAsPossible);
        var log = new PredictionLog(1 << 18);
        ReplayReport report = ReplayRunner.Run(source, FeatureSpec.Load(Path.Combine(TestData.Samples, "demo.features.json")), Path.Combine(TestData.Samples, "demo.onnx"), new PredictionLogHandler(log), new ReplayOptions { Model = new ModelOptions { Backend = backend } });
        return (report, log);
    }

    private static string[] Csv(ReplayReport report, PredictionLog log)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        log.WriteCsv(writer, i => report.Books.Find(i)?.SymbolText ?? $"#{i}");
        return writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
