using FeedHandlers.Itch;

namespace FeedHandlers.Tests;

[TestFixture]
public sealed class BigEndianTests
{
    private static readonly byte[] s_bytes = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A];

    [Test]
    public void ReadsBigEndianIntegersAtOffsets()
    {
        Assert.That(BigEndian.UInt16(s_bytes, 1), Is.EqualTo((ushort)0x0203));
        Assert.That(BigEndian.UInt32(s_bytes, 2), Is.EqualTo(0x03040506u));
        Assert.That(BigEndian.UInt64(s_bytes, 1), Is.EqualTo(0x0203040506070809UL));
        Assert.That(BigEndian.UInt48(s_bytes, 0), Is.EqualTo(0x010203040506L));
    }

    [Test]
    public void PacksAsciiLittleEndianLikeSymbol() =>
        Assert.That(BigEndian.Alpha8("ACME    "u8, 0), Is.EqualTo(Engine.Events.Symbol.Pack("ACME")));

    [Test]
    public void LargestTimestampFitsFortyEightBits()
    {
        byte[] max = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        Assert.That(BigEndian.UInt48(max, 0), Is.EqualTo((1L << 48) - 1));
    }
}
