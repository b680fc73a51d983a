namespace MultiTaskKit.Runtime;

/// <summary>Finds TorchSharp's native folders: the app's own, the host's probe list, then the NuGet cache.</summary>
static class NativeSearch
{
    const string Rid = "linux-x64";

    public static string? FindDirectoryWith(string fileName) =>
        Candidates().FirstOrDefault(dir => File.Exists(Path.Combine(dir, fileName)));

    public static IEnumerable<string> Candidates()
    {
        var seen = new HashSet<string>();
        foreach (var dir in Raw())
            if (Directory.Exists(dir) && seen.Add(Path.GetFullPath(dir))) yield return dir;
    }

    static IEnumerable<string> Raw()
    {
        yield return AppContext.BaseDirectory;
        yield return Path.Combine(AppContext.BaseDirectory, "runtimes", Rid, "native");
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string probe)
            foreach (var dir in probe.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                yield return dir;

        // In a notebook kernel the assembly comes straight from the NuGet cache: .../torchsharp/<ver>/lib/<tfm>/TorchSharp.dll
        var asmDir = Path.GetDirectoryName(typeof(TorchSharp.torch).Assembly.Location);
        if (!string.IsNullOrEmpty(asmDir))
        {
            yield return asmDir;
            var packageRoot = Path.GetFullPath(Path.Combine(asmDir, "..", ".."));
            yield return Path.Combine(packageRoot, "runtimes", Rid, "native");
            foreach (var dir in LibTorchPackages(Path.GetFullPath(Path.Combine(packageRoot, "..", "..")))) yield return dir;
        }
        var nuget = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var ver = TorchRuntime.TorchSharpVersion;
        yield return Path.Combine(nuget, "torchsharp", ver, "runtimes", Rid, "native");
        foreach (var dir in LibTorchPackages(nuget)) yield return dir;
    }

    /// <summary>libtorch-cpu-linux-x64 and libtorch-cuda-*-linux-x64 package folders, newest version first.</summary>
    static IEnumerable<string> LibTorchPackages(string nugetRoot)
    {
        if (!Directory.Exists(nugetRoot)) yield break;
        foreach (var package in Directory.EnumerateDirectories(nugetRoot, "libtorch-*-linux-x64*"))
            foreach (var version in Directory.EnumerateDirectories(package).OrderByDescending(v => v, StringComparer.Ordinal))
                yield return Path.Combine(version, "runtimes", Rid, "native");
    }
}
