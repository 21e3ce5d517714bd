using Engine.Events;

namespace FeedHandlers.Itch;

/// <summary>
/// Offline decoding of a whole ITCH 5.0 BinaryFILE capture into ticks (for tools, training, tests and
/// benchmarks; the live and replay paths decode straight into ring slots instead). Rejected frames
/// are skipped here; <see cref="ItchReplaySource"/> is the path that counts them.
/// </summary>
public static class ItchTicks
{
    /// <summary>Every tick the capture normalizes to, in order, with <see cref="Tick.Sequence"/> = the message's position (1-based). Allocates the array.</summary>
    public static Tick[] Decode(ReadOnlySpan<byte> capture)
    {
        var ticks = new List<Tick>(capture.Length / 32);
        var frames = new BinaryFileFrameReader(capture);
        var tick = default(Tick);
        long index = 0;
        FrameStatus status;
        while ((status = frames.Next(out ReadOnlySpan<byte> message)) != FrameStatus.End)
        {
            index++;
            if (status == FrameStatus.Message && ItchNormalizer.Classify(message, out _) == ItchDisposition.Tick
                && ItchNormalizer.Normalize(message, ref tick) == NormalizeResult.Tick)
            {
                tick.Sequence = index;
                ticks.Add(tick);
            }
        }

        return [.. ticks];
    }
}
