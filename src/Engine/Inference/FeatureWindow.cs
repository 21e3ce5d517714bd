using System.Runtime.CompilerServices;

namespace Engine.Inference;

/// <summary>
/// The last <see cref="Length"/> feature rows of one instrument, kept so that they are always
/// contiguous, oldest first, in pinned memory: each row is written twice, at slot <c>s</c> and
/// <c>s + Length</c> of a buffer of <c>2 × Length</c> rows, so rows <c>[Start, Start + Length)</c> are the
/// window. A model input bound to that range (one binding per start, see <see cref="WindowedModel"/>)
/// reads the window in place: no copy per inference.
/// </summary>
/// <remarks>
/// Cost per row: two copies of <see cref="Features"/> floats. No allocation after construction.
/// Threading: one writer (the stage thread), no synchronisation. Ownership: the creator disposes it.
/// </remarks>
public sealed class FeatureWindow : IDisposable
{
    private readonly ModelTensor _storage;
    private int _next;
    private long _rows;

    /// <summary>Allocates a zeroed window of <paramref name="length"/> rows of <paramref name="features"/> floats; <paramref name="name"/> names the model input it feeds.</summary>
    public FeatureWindow(int length, int features, string name = "window")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        Length = length;
        Features = features;
        _storage = new ModelTensor(name, [2L * length, features]);
    }

    /// <summary>Rows in the window (the model's W).</summary>
    public int Length { get; }

    /// <summary>Floats per row (the model's F).</summary>
    public int Features { get; }

    /// <summary>Rows pushed since construction or <see cref="Clear"/>.</summary>
    public long Rows => _rows;

    /// <summary>True once <see cref="Length"/> rows have been pushed: the window holds no padding.</summary>
    public bool IsFull => _rows >= Length;

    /// <summary>Slot of the oldest row of the window; the window is slots <c>[Start, Start + Length)</c>.</summary>
    public int Start => _next;

    /// <summary>The window, oldest row first (<see cref="Length"/> × <see cref="Features"/> floats; zeros before the first rows arrive).</summary>
    public ReadOnlySpan<float> Latest => _storage.Span.Slice(_next * Features, Length * Features);

    /// <summary>The buffer of 2 × <see cref="Length"/> rows (for binding views over it).</summary>
    internal ModelTensor Storage => _storage;

    /// <summary>Appends <paramref name="row"/> (exactly <see cref="Features"/> floats), dropping the oldest row once full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(ReadOnlySpan<float> row)
    {
        if (row.Length != Features)
        {
            ThrowRowLength(row.Length);
        }

        Span<float> buffer = _storage.Span;
        int slot = _next;
        row.CopyTo(buffer.Slice(slot * Features, Features));
        row.CopyTo(buffer.Slice((slot + Length) * Features, Features));
        _next = slot + 1 == Length ? 0 : slot + 1;
        _rows++;
    }

    /// <summary>Empties the window (zeros, no rows).</summary>
    public void Clear()
    {
        _storage.Span.Clear();
        _next = 0;
        _rows = 0;
    }

    /// <inheritdoc />
    public void Dispose() => _storage.Dispose();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowRowLength(int length) =>
        throw new ArgumentException($"A window row has {Features} features; got {length}.", nameof(length));
}
