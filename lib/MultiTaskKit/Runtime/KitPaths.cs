namespace MultiTaskKit.Runtime;

/// <summary>Where the kit looks for data and keeps its caches. Environment variables win over defaults.</summary>
public static class KitPaths
{
    /// <summary>The kit's cache root: <c>MTK_CACHE_DIR</c>, else <c>$XDG_CACHE_HOME/multitaskkit</c>, else <c>~/.cache/multitaskkit</c>.</summary>
    public static string CacheRoot =>
        Environment.GetEnvironmentVariable("MTK_CACHE_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(XdgCache, "multitaskkit");

    /// <summary>Converted and downloaded models (the embedded MiniLM is converted here once).</summary>
    public static string ModelCache => Path.Combine(CacheRoot, "models");

    /// <summary>Downloaded datasets.</summary>
    public static string DataCache => Path.Combine(CacheRoot, "data");

    /// <summary>Patched native libraries (see <see cref="LibStdCxxCompat"/>).</summary>
    public static string NativeCache => Path.Combine(CacheRoot, "native");

    static string XdgCache =>
        Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");

    /// <summary>
    /// The local data directory: <paramref name="explicitDir"/> (a <c>--data-dir</c> argument), else <c>MTK_DATA_DIR</c>,
    /// else the first <c>shared/data</c> folder found beside the working directory or one of its ancestors. Null when none.
    /// </summary>
    public static string? FindDataDir(string? explicitDir = null)
    {
        if (!string.IsNullOrEmpty(explicitDir))
            return Directory.Exists(explicitDir)
                ? Path.GetFullPath(explicitDir)
                : throw new DirectoryNotFoundException($"--data-dir: expected an existing folder, found none at '{explicitDir}'.");
        if (Environment.GetEnvironmentVariable("MTK_DATA_DIR") is { Length: > 0 } env)
            return Directory.Exists(env)
                ? Path.GetFullPath(env)
                : throw new DirectoryNotFoundException($"MTK_DATA_DIR: expected an existing folder, found none at '{env}'.");
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "data");
                if (File.Exists(Path.Combine(candidate, "README.md"))) return candidate;
            }
        return null;
    }
}
