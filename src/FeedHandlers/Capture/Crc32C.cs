using System.Buffers.Binary;
using System.Numerics;

namespace FeedHandlers.Capture;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init and final XOR 0xFFFFFFFF: the CRC of iSCSI,
/// ext4 and SSE 4.2's <c>crc32</c> instruction), through <see cref="BitOperations.Crc32C(uint, ulong)"/>, which
/// the JIT turns into that instruction where the CPU has it. Allocation-free; any thread.
/// </summary>
public static class Crc32C
{
    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues <paramref name="crc"/> (a previous result, or 0 to start) over <paramref name="data"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint state = ~crc;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        }

        for (; i < data.Length; i++)
        {
            state = BitOperations.Crc32C(state, data[i]);
        }

        return ~state;
    }
}
