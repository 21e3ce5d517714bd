using Engine.Cli;
using Engine.Cli.Lobster;
using Engine.Features;
using Engine.Replay;
using FeedHandlers.Itch;
using FeedHandlers.Lobster;

namespace FeedHandlers.Tests;

/// <summary>Converted LOBSTER data drives the production replay path, and the command line does what the README says.</summary>
[TestFixture]
public sealed class LobsterReplayTests
{
    [Test]
    public void ConvertedLobsterReplaysThroughBooksFeaturesAndTheModel()
    {
        LobsterConversion conversion = LobsterToItch.Convert(LobsterData.FromZip(TestData.SharedFile("data", "lobster-2012-06-21", "LOBSTER_SampleFile_AMZN_2012-06-21_1.zip")));
        FeatureSpec spec = FeatureSpec.Load(Path.Combine(TestData.Samples, "demo.features.json"));
        var log = new PredictionLog(1 << 17);
        var source = new ItchReplaySource(conversion.Itch, ReplayPacing.AsFastAsPossible, "AMZN converted");
        ReplayReport report = ReplayRunner.Run(source, spec, spec.ModelPath!, new PredictionLogHandler(log));

        Assert.Multiple(() =>
        {
            Assert.That(report.Run.Succeeded, Is.True);
            Assert.That(report.Feed.Read, Is.EqualTo(conversion.Messages));
            Assert.That(report.Feed.Rejected, Is.Zero);
            Assert.That(report.Books.TotalAnomalies, Is.Zero);
            Assert.That(report.Books.Find(LobsterToItch.Locate)!.SymbolText, Is.EqualTo("AMZN"));
            Assert.That(report.Processor.Inferences, Is.GreaterThan(10_000), "the top of AMZN's book changes thousands of times");
            Assert.That(log.Count, Is.EqualTo(report.Processor.Inferences));
        });
    }

    [Test]
    public void ConvertCommandWritesTheItchAndVerifiesIt()
    {
        string zip = TestData.SharedFile("data", "lobster-2012-06-21", "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip");
        string output = Path.Combine(Path.GetTempPath(), $"lobster-{Guid.NewGuid():N}.itch");
        try
        {
            Assert.That(Commands.ConvertLobster(zip, null, output, verify: true), Is.Zero);
            byte[] written = File.ReadAllBytes(output);
            Assert.That(written, Is.EqualTo(LobsterToItch.Convert(LobsterData.FromZip(zip)).Itch), "the file is the conversion, and the conversion is deterministic");
            Assert.That(Commands.ConvertLobster(zip + ".missing", null, null, verify: false), Is.EqualTo(2), "a missing input is a clear error");
        }
        finally
        {
            File.Delete(output);
        }
    }
}
