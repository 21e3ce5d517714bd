using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Engine.Pipeline;

/// <summary>Throws for the pipeline, out of line, so hot methods carry no <c>throw new</c> or string formatting.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void BatchSizeOutOfRange(int n, int bufferSize) =>
        throw new ArgumentOutOfRangeException(nameof(n), n, $"A claim must be for 1 to {bufferSize} sequences (the ring's size).");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void SequencerClosed(string? reason) =>
        throw new InvalidOperationException($"The ring no longer accepts events: {reason ?? "closed"}. Producers that must survive a stopped pipeline claim with Claim(), which returns false instead.");

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void PublishRangeInvalid(long lo, long hi) =>
        throw new ArgumentOutOfRangeException(nameof(hi), hi, $"Publish range [{lo}, {hi}] is empty or reversed.");
}
