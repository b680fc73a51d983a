using System.Formats.Tar;
using System.IO.Compression;

namespace MultiTaskKit.IO;

/// <summary>
/// Extracts tar and tar.gz archives without trusting their entry names: an entry whose path would land outside the
/// target folder (<c>../</c>, an absolute path, or a link pointing out) stops the extraction with an error.
/// Extraction goes to a temporary sibling folder that is renamed into place only when complete.
/// </summary>
public static class SafeArchive
{
    /// <summary>
    /// Extracts the regular files of <paramref name="archive"/> accepted by <paramref name="include"/> (all when null)
    /// into <paramref name="targetDir"/>, which must not exist yet. Links are checked, then skipped: the datasets need none.
    /// </summary>
    public static void Extract(string archive, string targetDir, Func<string, bool>? include = null)
    {
        var target = Path.GetFullPath(targetDir);
        if (Directory.Exists(target)) throw new IOException($"extract: the target folder '{target}' already exists; remove it first.");
        AtomicFolder.Write(target, tmp =>
        {
            using (var file = File.OpenRead(archive))
            {
                Stream stream = archive.EndsWith(".tar", StringComparison.OrdinalIgnoreCase) ? file : new GZipStream(file, CompressionMode.Decompress);
                using var tar = new TarReader(stream);
                try
                {
                    while (tar.GetNextEntry() is { } entry)
                    {
                        var dest = Inside(tmp, entry.Name, archive);
                        if (entry.EntryType is TarEntryType.SymbolicLink or TarEntryType.HardLink)
                        {
                            var linkBase = entry.EntryType == TarEntryType.SymbolicLink ? Path.GetDirectoryName(dest)! : tmp;
                            Inside(linkBase, entry.LinkName, archive, tmp, entry.Name);
                            continue;
                        }
                        if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
                        if (include != null && !include(entry.Name)) continue;
                        Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
                        using var output = File.Create(dest);
                        entry.DataStream.CopyTo(output);
                    }
                }
                catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
                {
                    throw new InvalidDataException($"'{archive}' is not a readable tar archive ({e.Message}).", e);
                }
            }
        });
    }

    /// <summary>The full path of <paramref name="name"/> under <paramref name="root"/>; throws when it escapes <paramref name="limit"/>.</summary>
    static string Inside(string root, string name, string archive, string? limit = null, string? entryName = null)
    {
        limit ??= root;
        var full = Path.GetFullPath(Path.Combine(root, name));
        var prefix = Path.TrimEndingDirectorySeparator(Path.GetFullPath(limit)) + Path.DirectorySeparatorChar;
        if (Path.IsPathRooted(name) || !(full + Path.DirectorySeparatorChar).StartsWith(prefix, StringComparison.Ordinal))
            throw new InvalidDataException(entryName is null
                ? $"'{archive}': entry '{name}' would be written outside the target folder; refusing to extract this archive."
                : $"'{archive}': link '{entryName}' points to '{name}', outside the target folder; refusing to extract this archive.");
        return full;
    }
}
