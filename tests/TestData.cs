namespace TestSupport;

/// <summary>
/// Locates the repository, its bundled samples and the shared data folder (../shared from the repo
/// root). One file, linked into every test project.
/// </summary>
internal static class TestData
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The bundled samples folder (sample capture, demo model, feature spec).</summary>
    public static string Samples => Path.Combine(RepoRoot, "samples");

    public static string Shared => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    /// <summary>A path under ../shared; the test is skipped, saying what is missing, when ../shared is absent.</summary>
    public static string SharedFile(params string[] parts)
    {
        if (!Directory.Exists(Shared))
        {
            Assert.Ignore($"The shared data folder '{Shared}' (../shared from the repository root) is absent: test skipped.");
        }

        string path = Path.Combine([Shared, .. parts]);
        if (!File.Exists(path))
        {
            Assert.Fail($"'{path}' is missing from the shared data folder.");
        }

        return path;
    }

    private static string FindRepoRoot()
    {
        string? dir = TestContext.CurrentContext.TestDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Engine.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("Engine.sln not found above the test directory.");
    }
}
