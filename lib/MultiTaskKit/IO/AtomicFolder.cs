namespace MultiTaskKit.IO;

/// <summary>Writes folders so that a reader never sees a half-written one (the folder counterpart of <see cref="AtomicFile"/>).</summary>
public static class AtomicFolder
{
    /// <summary>
    /// Builds a folder in a temporary sibling and renames it onto <paramref name="folder"/>, so that a reader never
    /// sees a half-written folder; a crash leaves only a <c>.tmp-*</c> sibling, which nothing trusts.
    /// </summary>
    public static void Write(string folder, Action<string> write)
    {
        var full = Path.GetFullPath(folder);
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var tmp = $"{full}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(tmp);
        try
        {
            write(tmp);
            TestHooks.Pause(Path.GetFileName(full) + "-write");
            if (Directory.Exists(full))
            {
                // Directory renames cannot overwrite; move the old folder aside first and delete it after.
                var old = $"{full}.old-{Guid.NewGuid():N}";
                Directory.Move(full, old);
                TestHooks.Pause(Path.GetFileName(full) + "-rename");
                Directory.Move(tmp, full);
                Directory.Delete(old, recursive: true);
            }
            else Directory.Move(tmp, full);
        }
        finally { if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true); }
    }
}
