using System.IO.Compression;

namespace FeedHandlers.Capture;

/// <summary>
/// Opens captures: files ending in <c>.gz</c> are decompressed on the fly. <see cref="ReadAll"/> loads a
/// whole capture into memory before a replay, so the replay reads memory, not disk. Cold path.
/// </summary>
public static class CaptureFile
{
    /// <summary>Reads (and if gzip'd, decompresses) the whole capture. Throws <see cref="FileNotFoundException"/> naming the path.</summary>
    public static byte[] ReadAll(string path)
    {
        string full = CheckExists(path);
        if (!IsGzip(full))
        {
            return File.ReadAllBytes(full);
        }

        using Stream stream = OpenRead(full);
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    /// <summary>A sequential read stream over the capture, decompressing a <c>.gz</c>; the caller owns it. Throws <see cref="FileNotFoundException"/> naming the path.</summary>
    public static Stream OpenRead(string path)
    {
        string full = CheckExists(path);
        var file = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return IsGzip(full) ? new GZipStream(file, CompressionMode.Decompress) : file;
    }

    private static bool IsGzip(string path) => path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);

    private static string CheckExists(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"Capture '{full}' does not exist.", full);
        }

        return full;
    }
}
