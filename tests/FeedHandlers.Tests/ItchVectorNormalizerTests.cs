using Engine.Events;
using FeedHandlers.Capture;
using FeedHandlers.Itch;

namespace FeedHandlers.Tests;

/// <summary>The AVX-512 normalization path against the scalar one, message by message.</summary>
[TestFixture]
public sealed class ItchVectorNormalizerTests
{
    [Test]
    public void VectorAndScalarPathsAgreeOnEveryMessageOfTheSample()
    {
        RequireVectorPath();
        byte[] capture = CaptureFile.ReadAll(Path.Combine(TestData.Samples, "sample.itch.gz"));
        var frames = new BinaryFileFrameReader(capture);
        long compared = 0;
        while (frames.Next(out ReadOnlySpan<byte> m) != FrameStatus.End)
        {
            compared += Compare(m);

            // The feed's path: classified, then normalized with a plain 64-byte load where the buffer allows.
            if (ItchNormalizer.Classify(m, out _) == ItchDisposition.Tick)
            {
                var fast = default(Tick);
                var scalar = default(Tick);
                ItchNormalizer.NormalizeTick(m, ref fast, frames.Remaining);
                ItchNormalizer.NormalizeScalar(m, ref scalar);
                Assert.That(fast, Is.EqualTo(scalar), $"NormalizeTick for '{(char)m[0]}' with {frames.Remaining} bytes after it");
            }
        }

        Assert.That(compared, Is.GreaterThan(270_000));
    }

    [Test]
    public void VectorAndScalarPathsAgreeOnEveryTypeAndItsEdgeValues()
    {
        RequireVectorPath();
        var w = new ItchWriter();
        w.AddOrder(65_535, (1L << 48) - 1, ulong.MaxValue, Side.Buy, uint.MaxValue, "WXYZ1234", uint.MaxValue * ItchSpec.Price4ToEngine);
        w.AddOrder(1, 1, 1, Side.Sell, 1, "A", 1_0000, "GSCO");
        w.OrderExecuted(2, 3, ulong.MaxValue, uint.MaxValue, ulong.MaxValue);
        w.OrderExecutedWithPrice(2, 3, 4, 5, 6, printable: true, 7_0000);
        w.OrderExecutedWithPrice(2, 3, 4, 5, 6, printable: false, 7_0000);
        w.OrderCancel(2, 3, 4, 5);
        w.OrderDelete(2, 3, 4);
        w.OrderReplace(2, 3, 4, 5, 6, 7_0000);
        w.Trade(2, 3, 0, Side.Sell, 9, "ZZ", 8_0000, ulong.MaxValue);
        w.CrossTrade(2, 3, ulong.MaxValue, "ZZ", 8_0000, 9, 'O');     // a 64-bit size beyond long.MaxValue: clamped
        w.CrossTrade(2, 3, 6_000_000_000, "ZZ", 8_0000, 9, 'C');
        w.BrokenTrade(2, 3, 4);
        w.StockDirectory(7, 8, "ACME", 100);
        w.StockTradingAction(7, 8, "ACME", 'H', "LUDP");
        w.SystemEvent(9, 'Q');
        w.RegShoRestriction(7, 8, "ACME", '1');
        byte[] badSide = new byte[36];
        badSide[0] = (byte)'A';
        badSide[19] = (byte)'X';
        w.Raw(badSide);
        var frames = new BinaryFileFrameReader(w.ToArray());
        int types = 0;
        while (frames.Next(out ReadOnlySpan<byte> m) != FrameStatus.End)
        {
            Compare(m);
            types++;
        }

        Assert.That(types, Is.EqualTo(17));
    }

    [Test]
    public void AMessageAtTheVeryEndOfItsBufferIsReadWithoutTouchingWhatFollows()
    {
        RequireVectorPath();
        // The masked load reads only the message's own bytes: a 19-byte message at the end of a 19-byte array is fine.
        var w = new ItchWriter();
        w.OrderDelete(3, 4, 5);
        byte[] alone = w.WrittenSpan[2..].ToArray();
        Assert.That(alone, Has.Length.EqualTo(19));
        var tick = default(Tick);
        Assert.That(ItchNormalizer.Normalize(alone, ref tick), Is.EqualTo(NormalizeResult.Tick));
        Assert.That((tick.Kind, tick.Instrument, tick.OrderId, tick.ExchangeTimestampNs), Is.EqualTo((TickKind.OrderDelete, 3, 5UL, 4L)));
    }

    private static int Compare(ReadOnlySpan<byte> m)
    {
        if (ItchDecoder.TryValidate(m, out _) is false)
        {
            return 0;
        }

        var vector = new Tick { Sequence = 11, ReceiveTimestampNs = 22 };
        var scalar = new Tick { Sequence = 11, ReceiveTimestampNs = 22 };
        NormalizeResult v = ItchNormalizer.Normalize(m, ref vector);
        NormalizeResult s = ItchNormalizer.NormalizeScalar(m, ref scalar);
        Assert.That(v, Is.EqualTo(s), $"result for '{(char)m[0]}'");
        if (s == NormalizeResult.NoTick)
        {
            return 1;
        }

        // The caller stamps sequence and receive time after normalizing; compare what normalization owns.
        vector.Sequence = scalar.Sequence;
        vector.ReceiveTimestampNs = scalar.ReceiveTimestampNs;
        Assert.That(vector, Is.EqualTo(scalar), $"tick for '{(char)m[0]}': vector {vector} scalar {scalar}");
        return 1;
    }

    private static void RequireVectorPath()
    {
        if (!ItchVectorNormalizer.IsSupported)
        {
            Assert.Ignore("This CPU has no AVX-512 VBMI: only the scalar normalization path runs here (the other ITCH tests cover it).");
        }
    }
}
