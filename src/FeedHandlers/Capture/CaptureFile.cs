using System.IO.Compression;

namespace FeedHandlers.Capture;

/// <summary>
/// Loads a capture into memory before a replay, so the replay reads memory, not disk. Files ending
/// in <c>.gz</c> are decompressed. Cold path.
/// </summary>
public static class CaptureFile
{
    /// <summary>Reads (and if gzip'd, decompresses) the whole capture. Throws <see cref="FileNotFoundException"/> naming the path.</summary>
    public static byte[] ReadAll(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"Capture '{full}' does not exist.", full);
        }

        if (!full.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            return File.ReadAllBytes(full);
        }

        using FileStream file = File.OpenRead(full);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gzip.CopyTo(memory);
        return memory.ToArray();
    }
}
