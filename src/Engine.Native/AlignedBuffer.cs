using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Engine.Native;

/// <summary>
/// A zeroed block of native memory aligned to a cache line (or more), holding <see cref="Length"/>
/// elements of <typeparamref name="T"/>. The GC never moves it, so its address can be handed to
/// ONNX Runtime or shared between threads without pinning.
/// </summary>
/// <remarks>
/// Cost: one native allocation at construction, none afterwards. Indexing is a bounds check and a
/// pointer add. Threading: the buffer itself has no synchronisation; callers order their own
/// reads and writes. Ownership: the creator disposes it; spans obtained from it are valid until then.
/// </remarks>
public sealed unsafe class AlignedBuffer<T> : IDisposable where T : unmanaged
{
    /// <summary>The alignment used when none is given: one 64-byte cache line.</summary>
    public const int CacheLine = 64;

    private T* _pointer;

    /// <summary>Allocates <paramref name="length"/> zeroed elements aligned to <paramref name="alignment"/> bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Length is negative, or alignment is not a power of two of at least 8.</exception>
    public AlignedBuffer(int length, int alignment = CacheLine)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (alignment < 8 || (alignment & (alignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alignment), alignment, "Alignment must be a power of two of at least 8 bytes.");
        }

        Length = length;
        Alignment = alignment;
        // Round the byte size up to whole alignment units so the last element never shares a line
        // with someone else's allocation.
        nuint bytes = (nuint)Math.Max(1, length) * (nuint)sizeof(T);
        bytes = (bytes + (nuint)alignment - 1) & ~((nuint)alignment - 1);
        SizeInBytes = (long)bytes;
        _pointer = (T*)NativeMemory.AlignedAlloc(bytes, (nuint)alignment);
        NativeMemory.Clear(_pointer, bytes);
    }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>Alignment of the first element, in bytes.</summary>
    public int Alignment { get; }

    /// <summary>Bytes allocated (the element bytes rounded up to the alignment).</summary>
    public long SizeInBytes { get; }

    /// <summary>Address of the first element; valid until <see cref="Dispose"/>.</summary>
    public nint Address
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer == null, this);
            return (nint)_pointer;
        }
    }

    /// <summary>The whole buffer as a span; valid until <see cref="Dispose"/>.</summary>
    public Span<T> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(_pointer, Length);
    }

    /// <summary>Reference to element <paramref name="index"/> (bounds-checked).</summary>
    public ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)index >= (uint)Length)
            {
                ThrowIndexOutOfRange(index);
            }

            return ref _pointer[index];
        }
    }

    /// <summary>Reference to the first element, for callers that index with their own masking.</summary>
    public ref T First
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref *_pointer;
    }

    /// <summary>A slice of the buffer; valid until <see cref="Dispose"/>.</summary>
    public Span<T> Slice(int start, int length) => Span.Slice(start, length);

    /// <summary>Frees the native memory. Idempotent. Not thread-safe with concurrent users.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the memory if the owner forgot to.</summary>
    ~AlignedBuffer() => Free();

    private void Free()
    {
        T* p = _pointer;
        _pointer = null;
        if (p != null)
        {
            NativeMemory.AlignedFree(p);
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowIndexOutOfRange(int index) =>
        throw new ArgumentOutOfRangeException(nameof(index), index, $"Index must be in [0, {Length}).");
}
