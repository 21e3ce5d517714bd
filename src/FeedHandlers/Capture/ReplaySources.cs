using System.Buffers.Binary;
using Engine.Pipeline;
using FeedHandlers.Iex;
using FeedHandlers.Itch;
using FeedHandlers.Lobster;

namespace FeedHandlers.Capture;

/// <summary>
/// Opens a file for replay by what it is: an engine capture, an IEX DEEP/TOPS pcap or pcapng, a LOBSTER
/// day (its zip, or its <c>*_message_L.csv</c> next to the orderbook file), or ITCH 5.0 BinaryFILE.
/// Any of the single-file formats may be gzip'd. Cold path.
/// </summary>
public static class ReplaySources
{
    /// <summary>
    /// An engine capture (<see cref="CaptureFormat.IsCaptureFile"/>) replays through
    /// <see cref="CaptureReplaySource"/> (the live MoldUDP64 path, read chunk by chunk); a pcap/pcapng through
    /// <see cref="IexPcapSource"/>; LOBSTER through <see cref="LobsterReplaySource"/>; anything else is read
    /// whole into memory as ITCH 5.0 BinaryFILE (<see cref="ItchReplaySource"/>). IEX and LOBSTER replay
    /// as fast as the pipeline takes them (<paramref name="pacing"/> applies to ITCH and captures). Throws
    /// <see cref="FileNotFoundException"/>, <see cref="CaptureFormatException"/> or <see cref="InvalidDataException"/> with the reason.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="pacing">Messages (BinaryFILE) or datagrams (capture) per second.</param>
    /// <param name="sizeHint">Bytes read, or the file's size (capture): sizes output buffers.</param>
    public static ITickSource Open(string path, ReplayPacing pacing, out long sizeHint)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (CaptureFormat.IsCaptureFile(path))
        {
            sizeHint = new FileInfo(path).Length;
            return CaptureReplaySource.Open(path, pacing);
        }

        string name = Path.GetFileName(path);
        if (name.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            LobsterData zip = LobsterData.FromZip(path);
            sizeHint = zip.Messages.Length;
            return new LobsterReplaySource(zip);
        }

        if (name.Contains("_message_", StringComparison.Ordinal) && name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
        {
            string book = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, name.Replace("_message_", "_orderbook_", StringComparison.Ordinal));
            LobsterData files = LobsterData.FromFiles(path, book);
            sizeHint = files.Messages.Length;
            return new LobsterReplaySource(files);
        }

        byte[] bytes = CaptureFile.ReadAll(path);
        sizeHint = bytes.Length;
        if (IsPcap(bytes))
        {
            return new IexPcapSource(bytes, $"IEX capture {Path.GetFullPath(path)}");
        }

        return new ItchReplaySource(bytes, pacing, Path.GetFullPath(path));
    }

    /// <summary>True when <paramref name="bytes"/> start like a pcap (either byte order, µs or ns) or pcapng file.</summary>
    public static bool IsPcap(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 4)
        {
            return false;
        }

        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        return magic is 0xA1B2C3D4 or 0xD4C3B2A1 or 0xA1B23C4D or 0x4D3CB2A1 or 0x0A0D0D0A;
    }
}
