using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace FeedHandlers.Itch;

/// <summary>What a length-prefixed frame splitter found: <see cref="BinaryFileFrameReader.Next"/> (ITCH) and <see cref="Iex.IexMessageFrames.Next"/> (IEX-TP).</summary>
public enum FrameStatus
{
    /// <summary>A frame: the message is in the out parameter.</summary>
    Message,

    /// <summary>A length prefix of zero: a frame with no message (consumed).</summary>
    EmptyFrame,

    /// <summary>The input ends inside a frame (or inside a length prefix); the rest of the input was consumed.</summary>
    Truncated,

    /// <summary>No input left.</summary>
    End,
}

/// <summary>
/// Splits NASDAQ BinaryFILE framing — a 2-byte big-endian length before each message — over bytes in
/// memory, handing out each message as a slice (no copy, no allocation).
/// </summary>
public ref struct BinaryFileFrameReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    /// <summary>Reads frames from <paramref name="data"/>.</summary>
    public BinaryFileFrameReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    /// <summary>Bytes consumed so far.</summary>
    public readonly int Position => _position;

    /// <summary>Bytes not yet consumed.</summary>
    public readonly int Remaining => _data.Length - _position;

    /// <summary>Reads the next frame.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FrameStatus Next(out ReadOnlySpan<byte> message)
    {
        int remaining = _data.Length - _position;
        if (remaining >= 2)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(_data.Slice(_position, 2));
            if (length <= remaining - 2)
            {
                message = _data.Slice(_position + 2, length);
                _position += 2 + length;
                return length == 0 ? FrameStatus.EmptyFrame : FrameStatus.Message;
            }
        }

        message = default;
        if (remaining == 0)
        {
            return FrameStatus.End;
        }

        _position = _data.Length;
        return FrameStatus.Truncated;
    }
}
