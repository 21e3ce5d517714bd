namespace Engine.LatencyHarness;

/// <summary>Bundled samples (copied next to the binary) and ../shared (from the repository root).</summary>
public static class Paths
{
    public static string Samples => Path.Combine(AppContext.BaseDirectory, "samples");

    /// <summary>The folder holding Engine.sln above the binary, or null when the harness runs outside the repository.</summary>
    public static string? RepositoryRoot
    {
        get
        {
            string? dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "Engine.sln")))
            {
                dir = Path.GetDirectoryName(dir);
            }

            return dir;
        }
    }

    /// <summary>../shared/models, or null when the shared folder is not there.</summary>
    public static string? SharedModels
    {
        get
        {
            string? dir = RepositoryRoot;
            string? models = dir is null ? null : Path.GetFullPath(Path.Combine(dir, "..", "shared", "models"));
            return models is not null && Directory.Exists(models) ? models : null;
        }
    }
}
