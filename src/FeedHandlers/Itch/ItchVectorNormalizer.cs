using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Engine.Events;

namespace FeedHandlers.Itch;

/// <summary>
/// The vector half of <see cref="ItchNormalizer.Normalize"/> on CPUs with AVX-512 VBMI: one 64-byte load
/// of the message (masked to the message's bytes when the caller's buffer ends within 64 bytes), one
/// byte permutation that puts every big-endian field where the 64-byte <see cref="Tick"/> keeps it,
/// byte-reversed, a mask and the per-type constants (kind, flags), and one 64-byte store. The
/// permutation per type is built from the same field layout the scalar path reads.
/// </summary>
/// <remarks>
/// Measured on the bundled capture: parse + normalize 5.9 → 4.3 ns per message (the plain load saves
/// 0.3 ns of that over the masked one). The caller fixes up what a permutation cannot do
/// (Price(4) × 10,000, the printable byte of 'C', a cross's 64-bit size clamp).
/// </remarks>
internal static unsafe class ItchVectorNormalizer
{
    /// <summary>True when this CPU has the instructions (AVX-512 BW for the masked load, VBMI for the byte permutation).</summary>
    public static readonly bool IsSupported = Avx512BW.IsSupported && Avx512Vbmi.IsSupported;

    private static readonly Vector512<byte> s_iota = Vector512.Create(
        (byte)0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
        32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63);

    private static readonly Shuffle[] s_shuffles = new Shuffle[256];

    // Per 8-byte lane of the Tick: Price (lane 5) is scaled from Price(4) to the engine's 1e-8 units, and
    // Quantity (lane 6) is clamped to long.MaxValue (a cross's 64-bit size); both in registers, so the
    // tick is written once (fixing fields after a 64-byte store would stall on store forwarding).
    private static readonly Vector512<ulong> s_scale = Vector512.Create(1UL, 1, 1, 1, 1, (ulong)ItchSpec.Price4ToEngine, 1, 1);
    private static readonly Vector512<ulong> s_clamp = Vector512.Create(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, long.MaxValue, ulong.MaxValue);
    // The printable flag of 'C' (its byte 31 is 'Y' or 'N') is decided in registers too: the permutation
    // routes that byte to the flags byte (62), where it is compared with 'Y' and becomes the Printable
    // bit. Other types route their type byte there, which is never 'Y' for a tick-producing type.
    private static readonly Vector512<byte> s_yAtFlags = AtFlagsByte((byte)'Y');
    private static readonly Vector512<byte> s_printableAtFlags = AtFlagsByte((byte)TickFlags.Printable);

    /// <summary>
    /// Registers the permutation of a message type (called by <see cref="ItchNormalizer"/>'s table builder).
    /// <paramref name="printableOffset"/>: the message byte holding 'Y'/'N' for the printable flag, or -1.
    /// </summary>
    public static void Register(byte type, ReadOnlySpan<sbyte> sources, TickKind kind, TickFlags flags, int printableOffset)
    {
        Span<byte> index = stackalloc byte[64];
        Span<byte> keep = stackalloc byte[64];
        Span<byte> constant = stackalloc byte[64];
        for (int i = 0; i < 64; i++)
        {
            index[i] = sources[i] < 0 ? (byte)0 : (byte)sources[i];
            keep[i] = sources[i] < 0 ? (byte)0 : (byte)0xFF;
        }

        constant[60] = (byte)kind;
        constant[62] = (byte)flags;
        index[62] = printableOffset < 0 ? (byte)0 : (byte)printableOffset;
        keep[62] = 0;
        s_shuffles[type] = new Shuffle(Vector512.Create<byte>(index), Vector512.Create<byte>(keep), Vector512.Create<byte>(constant));
    }

    /// <summary>
    /// Writes all 64 bytes of <paramref name="tick"/> from <paramref name="m"/> (at most 64 bytes long) by its
    /// type's permutation, Price scaled, Quantity clamped, the printable flag decided.
    /// <paramref name="readableAfter"/> is how many bytes after the message's end may be read (the rest of the
    /// caller's buffer): with 64 readable bytes from the message's start the load is a plain one; otherwise it
    /// is masked to the message's own bytes, so the end of a buffer is never read past.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Fill(ReadOnlySpan<byte> m, ref Tick tick, int readableAfter)
    {
        ref readonly Shuffle s = ref s_shuffles[m[0]];
        Vector512<byte> bytes;
        if (m.Length + readableAfter >= Vector512<byte>.Count)
        {
            bytes = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(m));
        }
        else
        {
            Vector512<byte> present = Vector512.LessThan(s_iota, Vector512.Create((byte)m.Length));
            fixed (byte* p = m)
            {
                bytes = Avx512BW.MaskLoad(p, present, Vector512<byte>.Zero);
            }
        }

        Vector512<byte> permuted = Avx512Vbmi.PermuteVar64x8(bytes, s.Index);
        Vector512<byte> printable = Vector512.Equals(permuted, s_yAtFlags) & s_printableAtFlags;
        Vector512<ulong> lanes = Vector512.Min((permuted & s.Keep).AsUInt64() * s_scale, s_clamp);
        Unsafe.As<Tick, Vector512<byte>>(ref tick) = lanes.AsByte() | s.Constant | printable;
    }

    private static Vector512<byte> AtFlagsByte(byte value)
    {
        Span<byte> bytes = stackalloc byte[64];
        bytes[62] = value;
        return Vector512.Create<byte>(bytes);
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct Shuffle(Vector512<byte> index, Vector512<byte> keep, Vector512<byte> constant)
    {
        public readonly Vector512<byte> Index = index;
        public readonly Vector512<byte> Keep = keep;
        public readonly Vector512<byte> Constant = constant;
    }
}
