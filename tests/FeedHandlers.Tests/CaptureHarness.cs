using Engine.Events;
using Engine.Pipeline;
using FeedHandlers.Itch;

namespace FeedHandlers.Tests;

/// <summary>Runs an <see cref="ItchReplaySource"/> into a ring big enough to keep every tick, with no consumer.</summary>
internal static class CaptureHarness
{
    public static (ItchReplaySource Source, List<Tick> Ticks) Replay(byte[] capture, int capacity = 1 << 12)
    {
        using var ring = new RingBuffer<Tick>(capacity);
        var sequencer = new SingleProducerSequencer(capacity);
        var publisher = new TickPublisher(ring, sequencer);
        var source = new ItchReplaySource(capture, ReplayPacing.AsFastAsPossible, "test");
        source.Run(publisher, CancellationToken.None);
        long last = publisher.LastPublished;
        Assert.That(last + 1, Is.LessThanOrEqualTo(capacity), "test ring too small to keep every tick");
        var ticks = new List<Tick>();
        for (long s = 0; s <= last; s++)
        {
            ticks.Add(ring[s]);
        }

        return (source, ticks);
    }
}
