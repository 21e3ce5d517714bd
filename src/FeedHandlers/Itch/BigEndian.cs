using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FeedHandlers.Itch;

/// <summary>
/// Big-endian field reads at fixed offsets of a message whose length the caller has already checked
/// against the spec. No bounds checks here: that is the point, and the reason every caller validates
/// the length first (see <see cref="ItchDecoder"/>). Tested on its own.
/// </summary>
internal static class BigEndian
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort UInt16(ReadOnlySpan<byte> message, int offset) =>
        BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref MemoryMarshal.GetReference(message), offset)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint UInt32(ReadOnlySpan<byte> message, int offset) =>
        BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref MemoryMarshal.GetReference(message), offset)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong UInt64(ReadOnlySpan<byte> message, int offset) =>
        BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetReference(message), offset)));

    /// <summary>ITCH's 6-byte timestamp: nanoseconds since midnight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long UInt48(ReadOnlySpan<byte> message, int offset) =>
        ((long)UInt16(message, offset) << 32) | UInt32(message, offset + 2);

    /// <summary>8 raw ASCII bytes (a space-padded symbol) packed little-endian, as <see cref="Engine.Events.Symbol"/> does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Alpha8(ReadOnlySpan<byte> message, int offset) =>
        Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetReference(message), offset)) is var v && BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);

    /// <summary>4 raw ASCII bytes (an MPID or reason code) packed little-endian.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Alpha4(ReadOnlySpan<byte> message, int offset) =>
        Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref MemoryMarshal.GetReference(message), offset)) is var v && BitConverter.IsLittleEndian ? v : BinaryPrimitives.ReverseEndianness(v);
}
