using System.Buffers.Binary;

namespace Engine.Fuzz;

/// <summary>
/// Makes fuzz inputs from seeds of real messages: bit flips, random and boundary bytes, 16/32/64-bit
/// fields set to boundary values (both byte orders, since ITCH is big-endian and IEX little-endian),
/// inserted, deleted and duplicated ranges, truncation, splices of two seeds, and, for text formats,
/// digits, signs, commas and line breaks. Deterministic for a given seed.
/// </summary>
public sealed class Mutator(IReadOnlyList<byte[]> seeds, ulong seed, int maxLength = 1 << 16)
{
    private static readonly long[] s_boundaries = [0, 1, -1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, int.MaxValue, int.MinValue, uint.MaxValue, long.MaxValue, long.MinValue, 40, 36, 12];
    private static readonly byte[] s_text = "0123456789-.,\n\r 7e+9"u8.ToArray();
    private ulong _state = seed == 0 ? 0x9E3779B97F4A7C15UL : seed;

    /// <summary>The next input.</summary>
    public byte[] Next()
    {
        byte[] input = (byte[])seeds[Below(seeds.Count)].Clone();
        int mutations = 1 + Below(8);
        for (int i = 0; i < mutations; i++)
        {
            input = Mutate(input);
        }

        return input.Length > maxLength ? input[..maxLength] : input;
    }

    private byte[] Mutate(byte[] b)
    {
        if (b.Length == 0)
        {
            return [(byte)Below(256)];
        }

        switch (Below(12))
        {
            case 0:
                b[Below(b.Length)] ^= (byte)(1 << Below(8));
                return b;
            case 1:
                b[Below(b.Length)] = (byte)Below(256);
                return b;
            case 2:
            case 3:
                return Field(b);
            case 4:
                {
                    int at = Below(b.Length + 1);
                    int n = 1 + Below(16);
                    var extra = new byte[n];
                    for (int i = 0; i < n; i++)
                    {
                        extra[i] = (byte)Below(256);
                    }

                    return [.. b.AsSpan(0, at), .. extra, .. b.AsSpan(at)];
                }

            case 5:
                {
                    int at = Below(b.Length);
                    int n = 1 + Below(Math.Min(64, b.Length - at));
                    return [.. b.AsSpan(0, at), .. b.AsSpan(at + n)];
                }

            case 6:
                {
                    int at = Below(b.Length);
                    int n = 1 + Below(Math.Min(128, b.Length - at));
                    int to = Below(b.Length + 1);
                    return [.. b.AsSpan(0, to), .. b.AsSpan(at, n), .. b.AsSpan(to)];
                }

            case 7:
                return b[..Below(b.Length)];
            case 8:
                {
                    byte[] other = seeds[Below(seeds.Count)];
                    int cut = Below(b.Length + 1);
                    int from = Below(other.Length + 1);
                    return [.. b.AsSpan(0, cut), .. other.AsSpan(from)];
                }

            case 9:
            case 10:
                b[Below(b.Length)] = s_text[Below(s_text.Length)];
                return b;
            default:
                {
                    // Swap two bytes (reorders fields, lengths and digits).
                    int i = Below(b.Length);
                    int j = Below(b.Length);
                    (b[i], b[j]) = (b[j], b[i]);
                    return b;
                }
        }
    }

    private byte[] Field(byte[] b)
    {
        long value = s_boundaries[Below(s_boundaries.Length)] + (Below(4) == 0 ? Below(5) - 2 : 0);
        int width = Below(3) switch { 0 => 2, 1 => 4, _ => 8 };
        if (b.Length < width)
        {
            return b;
        }

        Span<byte> at = b.AsSpan(Below(b.Length - width + 1), width);
        bool big = Below(2) == 0;
        switch (width)
        {
            case 2:
                if (big)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(at, (ushort)value);
                }
                else
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(at, (ushort)value);
                }

                break;
            case 4:
                if (big)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(at, (uint)value);
                }
                else
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(at, (uint)value);
                }

                break;
            default:
                if (big)
                {
                    BinaryPrimitives.WriteInt64BigEndian(at, value);
                }
                else
                {
                    BinaryPrimitives.WriteInt64LittleEndian(at, value);
                }

                break;
        }

        return b;
    }

    // SplitMix64: fast, deterministic, good enough to pick mutations.
    private int Below(int n)
    {
        if (n <= 1)
        {
            return 0;
        }

        _state += 0x9E3779B97F4A7C15UL;
        ulong z = _state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z % (ulong)n);
    }
}
