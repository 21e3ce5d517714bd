using System.Buffers.Binary;
using System.Text;

namespace FeedHandlers.Capture;

/// <summary>
/// Checks that bytes are a well-formed MemoryPack <see cref="CaptureHeader"/> or <see cref="CaptureSummary"/>
/// before MemoryPack reads them. MemoryPack trusts the lengths it reads (member sizes of the
/// version-tolerant form, string and array lengths): bytes whose CRC was made to match but whose
/// lengths lie can make it read outside the buffer, an <see cref="AccessViolationException"/> that no
/// <c>catch</c> stops (found by the <c>capture</c> fuzz target). This walks the schema with bounds
/// checks, so a reader refuses such bytes with a <see cref="CaptureFormatException"/> or a
/// <see cref="CaptureCorruption.Summary"/> instead. Cold path: once per header or summary.
/// </summary>
/// <remarks>
/// The version-tolerant form is: a member count byte, one VarInt byte size per member, then the
/// members. Members this version knows must have exactly the size their walk gives; members a later
/// version added are skipped by their size. Strings are MemoryPack's: an int32 header (−1 null, 0 empty,
/// n &gt; 0 UTF-16 code units, ~n UTF-8 bytes followed by the UTF-16 length) whose UTF-8 must be valid and
/// decode to the announced length. Null strings and arrays are refused (the writers never write them).
/// </remarks>
internal static class CaptureMemoryPackCheck
{
    private enum Member : byte
    {
        Byte,
        Bool,
        Long,
        String,
        StringArray,
        InstrumentArray,
    }

    private static readonly Member[] s_header = [Member.Byte, Member.String, Member.StringArray, Member.Long, Member.Long, Member.InstrumentArray, Member.String];

    private static readonly Member[] s_summary = [Member.Long, Member.Long, Member.Long, Member.String, Member.Long, Member.Long, Member.Long, Member.InstrumentArray, Member.Bool];

    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>True when <paramref name="bytes"/> are a well-formed <see cref="CaptureHeader"/>.</summary>
    public static bool IsHeader(ReadOnlySpan<byte> bytes) => IsVersionTolerant(bytes, s_header);

    /// <summary>True when <paramref name="bytes"/> are a well-formed <see cref="CaptureSummary"/>.</summary>
    public static bool IsSummary(ReadOnlySpan<byte> bytes) => IsVersionTolerant(bytes, s_summary);

    private static bool IsVersionTolerant(ReadOnlySpan<byte> bytes, Member[] schema)
    {
        // 250 and above are MemoryPack's codes (255 null object, 250 wide tag, ...), never a member count here.
        if (bytes.IsEmpty || bytes[0] >= 250)
        {
            return false;
        }

        int count = bytes[0];
        int at = 1;
        Span<int> sizes = stackalloc int[count];
        for (int i = 0; i < count; i++)
        {
            if (!TryReadVarInt(bytes, ref at, out long size) || size < 0 || size > bytes.Length)
            {
                return false;
            }

            sizes[i] = (int)size;
        }

        for (int i = 0; i < count; i++)
        {
            if (sizes[i] > bytes.Length - at)
            {
                return false;
            }

            ReadOnlySpan<byte> member = bytes.Slice(at, sizes[i]);
            if (i < schema.Length)
            {
                int used = 0;
                if (!TryWalk(schema[i], member, ref used) || used != member.Length)
                {
                    return false;
                }
            }

            at += sizes[i];
        }

        return at == bytes.Length;
    }

    private static bool TryWalk(Member kind, ReadOnlySpan<byte> b, ref int at)
    {
        switch (kind)
        {
            case Member.Byte:
            case Member.Bool:
                return Take(b, ref at, 1);
            case Member.Long:
                return Take(b, ref at, 8);
            case Member.String:
                return TryString(b, ref at);
            case Member.StringArray:
            case Member.InstrumentArray:
                if (!TryInt(b, ref at, out int length) || length < 0 || length > b.Length - at)
                {
                    return false;
                }

                for (int i = 0; i < length; i++)
                {
                    bool ok = kind == Member.StringArray ? TryString(b, ref at) : TryInstrument(b, ref at);
                    if (!ok)
                    {
                        return false;
                    }
                }

                return true;
            default:
                return false;
        }
    }

    // CaptureInstrument(int Id, string Symbol): MemoryPack's object form, a member count byte (2) then the members.
    private static bool TryInstrument(ReadOnlySpan<byte> b, ref int at) =>
        at < b.Length && b[at++] == 2 && Take(b, ref at, 4) && TryString(b, ref at);

    private static bool TryString(ReadOnlySpan<byte> b, ref int at)
    {
        if (!TryInt(b, ref at, out int header) || header == -1)
        {
            return false;
        }

        if (header >= 0)
        {
            return header <= (b.Length - at) / 2 && Take(b, ref at, header * 2);
        }

        int utf8Length = ~header;
        if (!TryInt(b, ref at, out int utf16Length) || utf8Length > b.Length - at)
        {
            return false;
        }

        ReadOnlySpan<byte> utf8 = b.Slice(at, utf8Length);
        at += utf8Length;
        try
        {
            int chars = s_strictUtf8.GetCharCount(utf8);
            return utf16Length <= 0 || chars == utf16Length;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static bool TryInt(ReadOnlySpan<byte> b, ref int at, out int value)
    {
        if (b.Length - at < 4)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadInt32LittleEndian(b[at..]);
        at += 4;
        return true;
    }

    private static bool Take(ReadOnlySpan<byte> b, ref int at, int count)
    {
        if (count > b.Length - at)
        {
            return false;
        }

        at += count;
        return true;
    }

    // MemoryPack's VarInt: a first sbyte of -120..127 is the value; -121..-128 name the type that follows (byte, sbyte, ushort, short, uint, int, ulong, long).
    private static bool TryReadVarInt(ReadOnlySpan<byte> b, ref int at, out long value)
    {
        value = 0;
        if (at >= b.Length)
        {
            return false;
        }

        sbyte code = (sbyte)b[at++];
        if (code >= -120)
        {
            value = code;
            return true;
        }

        int size = code switch
        {
            -121 or -122 => 1,
            -123 or -124 => 2,
            -125 or -126 => 4,
            _ => 8,
        };
        if (b.Length - at < size)
        {
            return false;
        }

        ReadOnlySpan<byte> v = b.Slice(at, size);
        value = code switch
        {
            -121 => v[0],
            -122 => (sbyte)v[0],
            -123 => BinaryPrimitives.ReadUInt16LittleEndian(v),
            -124 => BinaryPrimitives.ReadInt16LittleEndian(v),
            -125 => BinaryPrimitives.ReadUInt32LittleEndian(v),
            -126 => BinaryPrimitives.ReadInt32LittleEndian(v),
            -127 => (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(v), long.MaxValue),
            _ => BinaryPrimitives.ReadInt64LittleEndian(v),
        };
        at += size;
        return true;
    }
}
