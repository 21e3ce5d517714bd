using Engine.Pipeline;
using FeedHandlers.Itch;

namespace FeedHandlers.Capture;

/// <summary>Opens a file for replay by what it is, told by its first bytes: an engine capture or ITCH 5.0 BinaryFILE (either possibly gzip'd). Cold path.</summary>
public static class ReplaySources
{
    /// <summary>
    /// An engine capture (<see cref="CaptureFormat.IsCaptureFile"/>) replays through
    /// <see cref="CaptureReplaySource"/> (the live MoldUDP64 path, read chunk by chunk); anything else
    /// is read whole into memory as ITCH 5.0 BinaryFILE (<see cref="ItchReplaySource"/>). Throws
    /// <see cref="FileNotFoundException"/> or <see cref="CaptureFormatException"/> with the reason.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="pacing">Messages (BinaryFILE) or datagrams (capture) per second.</param>
    /// <param name="sizeHint">Bytes of ITCH read (BinaryFILE), or the file's size (capture): sizes output buffers.</param>
    public static ITickSource Open(string path, ReplayPacing pacing, out long sizeHint)
    {
        if (CaptureFormat.IsCaptureFile(path))
        {
            sizeHint = new FileInfo(path).Length;
            return CaptureReplaySource.Open(path, pacing);
        }

        byte[] itch = CaptureFile.ReadAll(path);
        sizeHint = itch.Length;
        return new ItchReplaySource(itch, pacing, Path.GetFullPath(path));
    }
}
