using System.Globalization;
using System.Text;

namespace Engine.Native;

/// <summary>
/// Reads the kernel's text interfaces (<c>/proc</c>, <c>/sys</c>) under a root folder, so the checks
/// that read them can be tested against a fake tree. Cold path only (start-up reports).
/// </summary>
public sealed class SystemFiles
{
    /// <summary>Creates a reader whose absolute paths resolve under <paramref name="root"/> ("/" for the live system).</summary>
    public SystemFiles(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = root;
    }

    /// <summary>The running system.</summary>
    public static SystemFiles Live { get; } = new("/");

    /// <summary>The folder absolute paths resolve under.</summary>
    public string Root { get; }

    /// <summary>The trimmed text of <paramref name="path"/> (absolute, e.g. <c>/proc/cmdline</c>), or null when it is absent or unreadable.</summary>
    public string? Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            string full = Resolve(path);
            return File.Exists(full) ? File.ReadAllText(full, Encoding.UTF8).Trim() : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The value of the <c>Key:</c> line of a <c>/proc</c> status-style file, or null.</summary>
    public string? ReadField(string path, string key)
    {
        string? text = Read(path);
        if (text is null)
        {
            return null;
        }

        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith(key, StringComparison.Ordinal) && line.Length > key.Length && line[key.Length] == ':')
            {
                return line[(key.Length + 1)..].Trim();
            }
        }

        return null;
    }

    /// <summary>True when the folder <paramref name="path"/> exists.</summary>
    public bool DirectoryExists(string path) => Directory.Exists(Resolve(path));

    private string Resolve(string path) => Path.Combine(Root, path.TrimStart('/'));
}

/// <summary>The kernel's CPU list syntax (<c>0-3,8,10-11</c>), as in <c>/sys/devices/system/cpu/online</c> or <c>isolcpus=</c>.</summary>
public static class CpuList
{
    /// <summary>Parses a CPU list; an empty or whitespace string is the empty list. False on anything malformed.</summary>
    public static bool TryParse(string? text, out IReadOnlyList<int> cpus)
    {
        var list = new SortedSet<int>();
        cpus = [];
        if (text is null)
        {
            return false;
        }

        foreach (string raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = raw.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out int single))
                {
                    return false;
                }

                list.Add(single);
                continue;
            }

            if (!int.TryParse(raw.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out int first)
                || !int.TryParse(raw.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int last)
                || last < first || last - first > 65_536)
            {
                return false;
            }

            for (int c = first; c <= last; c++)
            {
                list.Add(c);
            }
        }

        cpus = [.. list];
        return true;
    }

    /// <summary>Formats CPUs in the kernel's syntax, ranges compressed: <c>0-3,8</c>.</summary>
    public static string Format(IEnumerable<int> cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        int[] sorted = [.. new SortedSet<int>(cpus)];
        var text = new StringBuilder();
        for (int i = 0; i < sorted.Length; i++)
        {
            int start = sorted[i];
            while (i + 1 < sorted.Length && sorted[i + 1] == sorted[i] + 1)
            {
                i++;
            }

            if (text.Length > 0)
            {
                text.Append(',');
            }

            text.Append(start.ToString(CultureInfo.InvariantCulture));
            if (sorted[i] != start)
            {
                text.Append('-').Append(sorted[i].ToString(CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }
}
