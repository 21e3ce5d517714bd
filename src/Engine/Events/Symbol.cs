using System.Buffers.Binary;
using System.Text;

namespace Engine.Events;

/// <summary>
/// Packs up to 8 ASCII characters into a <see cref="ulong"/> (first character in the lowest byte),
/// so reference data can travel in a <see cref="Tick"/> without a string.
/// </summary>
public static class Symbol
{
    /// <summary>Packs 8 raw bytes (as on the wire, space-padded) into a ulong. Allocation-free.</summary>
    public static ulong Pack(ReadOnlySpan<byte> eightBytes) => BinaryPrimitives.ReadUInt64LittleEndian(eightBytes);

    /// <summary>Packs a string of at most 8 ASCII characters, padding with spaces. Cold path.</summary>
    public static ulong Pack(string symbol)
    {
        ArgumentNullException.ThrowIfNull(symbol);
        if (symbol.Length > 8)
        {
            throw new ArgumentException($"Symbol '{symbol}' is longer than 8 characters.", nameof(symbol));
        }

        Span<byte> bytes = stackalloc byte[8];
        bytes.Fill((byte)' ');
        Encoding.ASCII.GetBytes(symbol, bytes);
        return Pack(bytes);
    }

    /// <summary>Unpacks to a trimmed string. Allocates: cold path only.</summary>
    public static string Unpack(ulong packed)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, packed);
        return Encoding.ASCII.GetString(bytes).TrimEnd(' ', '\0');
    }
}
