namespace MultiTaskKit.IO;

/// <summary>Writes files so that a reader never sees a half-written one: write a temporary sibling, then rename.</summary>
public static class AtomicFile
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var tmp = TempSibling(path);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally { if (File.Exists(tmp)) File.Delete(tmp); }
    }

    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>Runs <paramref name="write"/> against a temporary path, then renames it onto <paramref name="path"/>.</summary>
    public static void Write(string path, Action<string> write)
    {
        var tmp = TempSibling(path);
        try
        {
            write(tmp);
            File.Move(tmp, path, overwrite: true);
        }
        finally { if (File.Exists(tmp)) File.Delete(tmp); }
    }

    /// <summary>Creates the folder <paramref name="path"/> (and its parents); refuses it when it is a symbolic link, so
    /// that what is written into it lands where the caller meant.</summary>
    public static string CreateFolder(string path)
    {
        var full = Path.GetFullPath(path);
        if (new DirectoryInfo(full).LinkTarget is { } target)
            throw new IOException($"'{full}' is a symbolic link (to '{target}'); the kit does not write through links: remove it.");
        Directory.CreateDirectory(full);
        return full;
    }

    static string TempSibling(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
    }
}
