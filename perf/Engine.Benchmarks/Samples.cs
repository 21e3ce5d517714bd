using Engine.Events;
using FeedHandlers.Capture;
using FeedHandlers.Itch;

namespace Engine.Benchmarks;

/// <summary>The bundled sample, loaded once per benchmark process.</summary>
public static class Samples
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "samples");

    public static byte[] Capture { get; } = CaptureFile.ReadAll(Path.Combine(Directory, "sample.itch.gz"));

    /// <summary>The capture's ticks, decoded once.</summary>
    public static Tick[] Ticks()
    {
        var ticks = new List<Tick>();
        var frames = new BinaryFileFrameReader(Capture);
        var tick = default(Tick);
        long index = 0;
        while (frames.Next(out ReadOnlySpan<byte> m) != FrameStatus.End)
        {
            index++;
            if (ItchDecoder.TryValidate(m, out _) && ItchNormalizer.ProducesTick(m[0]) && ItchNormalizer.Normalize(m, ref tick) == NormalizeResult.Tick)
            {
                tick.Sequence = index;
                ticks.Add(tick);
            }
        }

        return [.. ticks];
    }
}
