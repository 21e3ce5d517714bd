using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Events;
using Engine.Pipeline;

namespace Engine.Tests;

/// <summary>Guards the layouts the hot path depends on, so a refactor cannot silently undo them.</summary>
[TestFixture]
public sealed class LayoutTests
{
    [Test]
    public void TickIsExactlyOneCacheLine()
    {
        Assert.That(Unsafe.SizeOf<Tick>(), Is.EqualTo(64));
        Assert.That(Tick.Size, Is.EqualTo(64));
    }

    [TestCase(nameof(Tick.Sequence), 0)]
    [TestCase(nameof(Tick.ExchangeTimestampNs), 8)]
    [TestCase(nameof(Tick.ReceiveTimestampNs), 16)]
    [TestCase(nameof(Tick.OrderId), 24)]
    [TestCase(nameof(Tick.RelatedId), 32)]
    [TestCase(nameof(Tick.Price), 40)]
    [TestCase(nameof(Tick.Quantity), 48)]
    [TestCase(nameof(Tick.Instrument), 56)]
    [TestCase(nameof(Tick.Kind), 60)]
    [TestCase(nameof(Tick.Side), 61)]
    [TestCase(nameof(Tick.Flags), 62)]
    [TestCase(nameof(Tick.Aux), 63)]
    public void TickFieldOffsets(string field, int offset) =>
        Assert.That((int)Marshal.OffsetOf<Tick>(field), Is.EqualTo(offset));

    [Test]
    public void PaddedLongKeepsItsValueAloneOnA128ByteSpan()
    {
        Assert.That(Unsafe.SizeOf<PaddedLong>(), Is.EqualTo(128));
        Assert.That((int)Marshal.OffsetOf<PaddedLong>(nameof(PaddedLong.Value)), Is.EqualTo(56));
        Assert.That(PaddedLong.ValueOffset, Is.EqualTo(56));
    }

    [Test]
    public void SequenceObjectsArePadded()
    {
        // A Sequence holds nothing but a PaddedLong: the value sits 56 bytes into a 128-byte field,
        // so neighbours on the heap are at least 56 bytes before and 64 after it.
        var fields = typeof(Sequence).GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public);
        Assert.That(fields, Has.Length.EqualTo(1));
        Assert.That(fields[0].FieldType, Is.EqualTo(typeof(PaddedLong)));
    }

    [Test]
    public void SingleProducerStateSitsAloneOnA128ByteSpan()
    {
        Assert.That(Unsafe.SizeOf<SingleProducerSequencer.ProducerFields>(), Is.EqualTo(128));
        Assert.That((int)Marshal.OffsetOf<SingleProducerSequencer.ProducerFields>(nameof(SingleProducerSequencer.ProducerFields.NextValue)), Is.EqualTo(56));
        Assert.That((int)Marshal.OffsetOf<SingleProducerSequencer.ProducerFields>(nameof(SingleProducerSequencer.ProducerFields.CachedGatingValue)), Is.EqualTo(64));
    }

    [Test]
    public void EveryExplicitLayoutStructOfThePipelineHasALayoutTest()
    {
        // A new padded type must get its own offset test above; this list is the reminder.
        string[] guarded = [nameof(PaddedLong), nameof(SingleProducerSequencer.ProducerFields)];
        string[] found = [.. typeof(Sequence).Assembly.GetTypes()
            .Where(t => t.IsValueType && t.Namespace == typeof(Sequence).Namespace && t.StructLayoutAttribute?.Value == LayoutKind.Explicit)
            .Select(t => t.Name)];
        Assert.That(found, Is.EquivalentTo(guarded));
    }

    [TestCase(typeof(WaitSignal), "_waiters", typeof(PaddedLong))]
    [TestCase(typeof(MultiProducerSequencer), "_gatingCache", typeof(Sequence))]
    [TestCase(typeof(SingleProducerSequencer), "_claim", typeof(Sequence))]
    [TestCase(typeof(SingleProducerSequencer), "_fields", typeof(SingleProducerSequencer.ProducerFields))]
    public void FieldsTwoThreadsTouchArePadded(Type owner, string field, Type padded)
    {
        System.Reflection.FieldInfo? info = owner.GetField(field, System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic);
        Assert.That(info, Is.Not.Null, $"{owner.Name}.{field}");
        Assert.That(info!.FieldType, Is.EqualTo(padded));
    }

    [Test]
    public void CursorsAndConsumerProgressAreSequences()
    {
        // Sequence is padded (see SequenceObjectsArePadded): the producer cursor and every consumer's progress use it.
        Assert.That(typeof(Sequencer).GetProperty(nameof(Sequencer.Cursor))!.PropertyType, Is.EqualTo(typeof(Sequence)));
        Assert.That(typeof(EventProcessorBase).GetProperty(nameof(EventProcessorBase.Sequence))!.PropertyType, Is.EqualTo(typeof(Sequence)));
    }

    [Test]
    public void RingSlotsAreCacheLineAligned()
    {
        using var ring = new RingBuffer<Tick>(8);
        for (long s = 0; s < 8; s++)
        {
            nint address = AddressOf(ref ring[s]);
            Assert.That((long)address % 64, Is.Zero, $"slot {s}");
        }
    }

    private static unsafe nint AddressOf(ref Tick t) => (nint)Unsafe.AsPointer(ref t);
}
