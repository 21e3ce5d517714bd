using System.Text.RegularExpressions;
using Engine.Cli;
using Engine.Pipeline;
using FeedHandlers.Iex;
using FeedHandlers.Itch;

namespace FeedHandlers.Tests;

/// <summary>
/// `engine replay` reports what each source rejected below the message layer (pcap records, frames,
/// segments, restarts; LOBSTER's order flow; capture chunks), so the truncated last record of IEX's
/// sample is not hidden behind "rejected 0".
/// </summary>
[TestFixture]
public sealed partial class ReplayReportTests
{
    private static string Spec => Path.Combine(TestData.Samples, "demo.features.json");

    [Test]
    public void IexReplayReportsTheTruncatedLastPcapRecord()
    {
        string capture = TestData.SharedFile("data", "iex-deep-1.0-sample", "DEEP10.pcap.gz");
        (int exit, string text) = ReplayCapturingOutput(capture);
        Assert.That(exit, Is.Zero, text);
        Assert.Multiple(() =>
        {
            Assert.That(Row(text, "frames rejected: TruncatedRecord"), Is.EqualTo("1"), text);
            Assert.That(Row(text, "frames rejected (no UDP payload)"), Is.EqualTo("1"));
            Assert.That(Row(text, "pcap records read"), Is.EqualTo("121,315"));
            Assert.That(Row(text, "IEX-TP segments read"), Is.EqualTo("121,314"));
            Assert.That(Row(text, "stream restarts"), Is.EqualTo("11"));
            Assert.That(Row(text, "sequence gaps"), Is.EqualTo("0"));
        });
    }

    [Test]
    public void SourceCountersListEveryIexLayerAndNothingForBinaryFile()
    {
        byte[] bytes = FeedHandlers.Capture.CaptureFile.ReadAll(TestData.SharedFile("data", "iex-deep-1.0-sample", "DEEP10.pcap.gz"));
        var iex = new IexPcapSource(bytes);
        var sink = default(NullSink);
        Assert.That(iex.Decoder.Run(bytes, ref sink, out _), Is.True);
        List<SourceCounter> rows = Commands.SourceCounters(iex);
        Assert.That(rows, Does.Contain(new SourceCounter("  frames rejected: TruncatedRecord", 1)));
        Assert.That(rows.Select(r => r.What), Does.Contain("segments rejected").And.Contain("stream restarts"), "headline counters show even when 0");
        Assert.That(Commands.SourceCounters(new ItchReplaySource(Array.Empty<byte>(), ReplayPacing.AsFastAsPossible)), Is.Empty, "BinaryFILE frame rejects are message rejects");
    }

    /// <summary>Runs `engine replay` in-process with Spectre's console writing plain, wide text to a string.</summary>
    internal static (int Exit, string Text) ReplayCapturingOutput(string capture)
    {
        string output = Path.Combine(Path.GetTempPath(), $"replay-report-{Guid.NewGuid():N}");
        using var console = new SpectreCapture();
        try
        {
            int exit = Commands.Replay(new(capture, Spec, null, output, 0, 1 << 16, WaitStrategyKind.BusySpin, null, null));
            return (exit, console.Text);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>The count in the table row whose first cell is exactly <paramref name="what"/> (leading spaces ignored), or null.</summary>
    internal static string? Row(string text, string what)
    {
        foreach (string line in text.Split('\n'))
        {
            Match m = RowPattern().Match(line);
            if (m.Success && m.Groups[1].Value.Trim() == what.Trim())
            {
                return m.Groups[2].Value;
            }
        }

        return null;
    }

    [GeneratedRegex(@"^│(.*?)│\s*([0-9,]+)\s*│\s*$")]
    private static partial Regex RowPattern();

    private readonly struct NullSink : IIexTickSink
    {
        public bool OnTick(ref readonly Engine.Events.Tick tick) => true;
    }
}
