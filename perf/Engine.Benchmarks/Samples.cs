using Engine.Events;
using FeedHandlers.Capture;
using FeedHandlers.Itch;

namespace Engine.Benchmarks;

/// <summary>The bundled sample, loaded once per benchmark process.</summary>
public static class Samples
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "samples");

    public static byte[] Capture { get; } = CaptureFile.ReadAll(Path.Combine(Directory, "sample.itch.gz"));

    /// <summary>The capture's ticks.</summary>
    public static Tick[] Ticks() => ItchTicks.Decode(Capture);
}
