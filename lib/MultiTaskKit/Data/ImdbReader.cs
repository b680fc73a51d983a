using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace MultiTaskKit.Data;

/// <summary>
/// The Large Movie Review Dataset (Maas et al., ACL 2011), read from its upstream layout
/// <c>aclImdb/{train,test}/{pos,neg}/&lt;id&gt;_&lt;rating&gt;.txt</c>: either straight from the <c>.tar.gz</c>
/// (streamed, never extracted to disk) or from an extracted folder. The upstream archive's extra parts
/// (<c>unsup/</c>, bag-of-words files, URLs) are skipped, so the full archive and the labelled-only copy both load.
/// Labels come from the folder (neg = 0, pos = 1), the star rating from the file name, and HTML line breaks are cleaned.
/// Examples are ordered by split, label and numeric id, whatever the order inside the archive.
/// </summary>
public static partial class ImdbReader
{
    public const string DatasetName = "imdb";
    public static readonly IReadOnlyList<string> LabelNames = ["neg", "pos"];

    /// <summary>Reads both splits from <paramref name="path"/>: a <c>.tar.gz</c>/<c>.tgz</c>/<c>.tar</c> file, an <c>aclImdb</c> folder, or a folder holding one of those.</summary>
    public static (TextDataset Train, TextDataset Test) Read(string path)
    {
        var found = new List<(string Split, int Label, int Id, int Rating, string Text)>();
        if (File.Exists(path)) ReadArchive(path, found);
        else if (Directory.Exists(path)) ReadFolder(path, found);
        else throw new FileNotFoundException($"IMDB: expected the aclImdb .tar.gz or an extracted aclImdb folder, found nothing at '{path}'.", path);

        TextDataset Make(string split)
        {
            var rows = found.Where(r => r.Split == split).OrderBy(r => r.Label).ThenBy(r => r.Id).ThenBy(r => r.Rating)
                .Select(r => new TextExample($"{split}/{LabelNames[r.Label]}/{r.Id}_{r.Rating}", TextNormalizer.CleanImdb(r.Text), r.Label) { Rating = r.Rating })
                .ToList();
            if (rows.Count == 0)
                throw new InvalidDataException($"IMDB: expected reviews under aclImdb/{split}/pos and aclImdb/{split}/neg in '{path}', found none.");
            return new TextDataset(DatasetName, split, TaskKind.Classification, LabelNames, rows, path);
        }
        return (Make("train"), Make("test"));
    }

    static void ReadArchive(string path, List<(string, int, int, int, string)> found)
    {
        try
        {
            using var file = File.OpenRead(path);
            Stream stream = file;
            GZipStream? gz = null;
            if (!path.EndsWith(".tar", StringComparison.OrdinalIgnoreCase))
                stream = gz = new GZipStream(file, CompressionMode.Decompress);
            using (gz)
            using (var tar = new TarReader(stream))
            {
                while (tar.GetNextEntry() is { } entry)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
                    if (Parse(entry.Name) is not { } key) continue;
                    using var reader = new StreamReader(entry.DataStream, Encoding.UTF8);
                    found.Add((key.Split, key.Label, key.Id, key.Rating, reader.ReadToEnd()));
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new InvalidDataException($"IMDB: '{path}' is not a readable gzip'd tar archive ({e.Message}). Delete it and download again, or point --data-dir at a good copy.", e);
        }
    }

    static void ReadFolder(string path, List<(string, int, int, int, string)> found)
    {
        // Accept the aclImdb folder itself or any folder above it.
        var root = Path.GetFileName(Path.TrimEndingDirectorySeparator(path)) == "aclImdb" ? Path.GetDirectoryName(Path.GetFullPath(path))! : path;
        var archive = Directory.EnumerateFiles(root, "*.tar.gz").Concat(Directory.EnumerateFiles(root, "*.tgz")).OrderBy(f => f).FirstOrDefault();
        if (!Directory.Exists(Path.Combine(root, "aclImdb")))
        {
            if (archive is null)
                throw new FileNotFoundException($"IMDB: expected an aclImdb folder or an aclImdb .tar.gz in '{path}', found neither.");
            ReadArchive(archive, found);
            return;
        }
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "aclImdb"), "*.txt", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (Parse(rel) is { } key) found.Add((key.Split, key.Label, key.Id, key.Rating, File.ReadAllText(file, Encoding.UTF8)));
        }
    }

    static (string Split, int Label, int Id, int Rating)? Parse(string name)
    {
        var m = EntryName().Match(name);
        if (!m.Success) return null;
        return (m.Groups[1].Value, m.Groups[2].Value == "pos" ? 1 : 0, int.Parse(m.Groups[3].Value), int.Parse(m.Groups[4].Value));
    }

    [GeneratedRegex(@"^(?:\./)?aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")] private static partial Regex EntryName();
}
