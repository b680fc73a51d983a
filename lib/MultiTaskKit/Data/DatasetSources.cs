using MultiTaskKit.IO;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Data;

/// <summary>
/// Where the built-in datasets come from (the upstream URLs and checksums of their <see cref="DatasetManifest"/>, read
/// from <c>data/*.json</c>) and where they are found on this machine: a local data folder (<c>--data-dir</c>,
/// <c>MTK_DATA_DIR</c>, laid out like <c>shared/data</c>) needs no network; otherwise files are downloaded once into
/// <see cref="CacheDir"/>.
/// </summary>
public sealed class DatasetSources
{
    /// <summary>The one entry of the VADER archive the kit reads (from <c>data/vader-tweets.json</c>).</summary>
    public static string VaderEntry => DatasetManifest.VaderTweets.ArchiveEntry
        ?? throw new InvalidDataException("data/vader-tweets.json: key 'archive_entry': expected the tweets file's path in the archive, found none");

    /// <summary>Local copies; null means download into the cache.</summary>
    public string? DataDir { get; init; }

    public string CacheDir { get; init; } = KitPaths.DataCache;

    /// <summary>Overridable so that tests can serve the files from a loopback server.</summary>
    public Uri Imdb { get; init; } = new(DatasetManifest.Imdb.Url);
    public Checksum? ImdbSum { get; init; } = DatasetManifest.Imdb.Checksum;
    public Uri VaderArchive { get; init; } = new(DatasetManifest.VaderTweets.Url);
    public Checksum? VaderSum { get; init; } = DatasetManifest.VaderTweets.Checksum;
    public Uri TweetEvalBase { get; init; } = DatasetManifest.TweetEval.BaseUrl();

    public Downloader Downloader { get; init; } = new();
    public IProgress<DownloadProgress>? Progress { get; init; }

    /// <summary>Local data folder from <paramref name="dataDir"/>/<c>MTK_DATA_DIR</c>/nearby <c>shared/data</c>, else the cache.</summary>
    public static DatasetSources Default(string? dataDir = null) => new() { DataDir = KitPaths.FindDataDir(dataDir) };

    /// <summary>The IMDB archive or folder.</summary>
    public string ImdbPath()
    {
        if (DataDir is { } d)
        {
            foreach (var candidate in new[] { Path.Combine(d, "imdb"), d })
            {
                if (!Directory.Exists(candidate)) continue;
                var archive = Directory.EnumerateFiles(candidate, "*.tar.gz").Concat(Directory.EnumerateFiles(candidate, "*.tgz"))
                    .Where(f => Path.GetFileName(f).StartsWith("aclImdb", StringComparison.OrdinalIgnoreCase)).OrderBy(f => f).FirstOrDefault();
                if (archive != null)
                {
                    // The upstream archive under its own name is checked against the manifest (data/imdb.json);
                    // any other copy cannot be, and BuiltInTasks says so in the task's note.
                    if (Path.GetFileName(archive) == UpstreamImdbName && ImdbSum is { } sum && !string.Equals(sum.Compute(archive), sum.Hex, StringComparison.OrdinalIgnoreCase))
                        throw new InvalidDataException($"{archive}: expected the upstream IMDB archive ({sum}), found other bytes; replace the file, or remove it to download it.");
                    return archive;
                }
                if (Directory.Exists(Path.Combine(candidate, "aclImdb"))) return candidate;
            }
            throw new FileNotFoundException($"IMDB: expected imdb/aclImdb*.tar.gz or imdb/aclImdb/ under the data folder '{d}', found neither.");
        }
        return Downloader.Download(Imdb, Path.Combine(CacheDir, "imdb", "aclImdb_v1.tar.gz"), ImdbSum, Progress);
    }

    /// <summary>The upstream IMDB archive's file name.</summary>
    public const string UpstreamImdbName = "aclImdb_v1.tar.gz";

    /// <summary>How a dataset file was verified: by checksum (downloads, the upstream IMDB archive) or not at all (other local copies).</summary>
    public string Verification(string path) =>
        DataDir is null ? "checksum-verified download"
        : Path.GetFileName(path) == UpstreamImdbName ? "local upstream archive, checksum-verified"
        : $"local copy {Path.GetFileName(path)}, not checksum-verified (the manifest's checksum is for the upstream file)";

    /// <summary>The VADER tweets file.</summary>
    public string VaderPath()
    {
        if (DataDir is { } d)
        {
            foreach (var candidate in new[] { Path.Combine(d, "vader", VaderReader.FileName), Path.Combine(d, VaderReader.FileName) })
                if (File.Exists(candidate)) return candidate;
            throw new FileNotFoundException($"VADER tweets: expected vader/{VaderReader.FileName} under the data folder '{d}', found none.");
        }
        var folder = Path.Combine(CacheDir, "vader");
        var file = Path.Combine(folder, "extracted", VaderEntry);
        if (File.Exists(file)) return file;
        var archive = Downloader.Download(VaderArchive, Path.Combine(folder, "hutto_ICWSM_2014.tar.gz"), VaderSum, Progress);
        var extracted = Path.Combine(folder, "extracted");
        if (Directory.Exists(extracted)) Directory.Delete(extracted, recursive: true); // complete folders only appear by rename, but may lack the file
        SafeArchive.Extract(archive, extracted, name => name.TrimStart('.', '/') == VaderEntry);
        return File.Exists(file) ? file : throw new InvalidDataException($"VADER: '{archive}' holds no '{VaderEntry}'.");
    }

    /// <summary>The folder of TweetEval task <paramref name="task"/> (emotion, hate, irony, offensive, sentiment, ...).</summary>
    public string TweetEvalPath(string task)
    {
        if (task.Length == 0 || task.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
            throw new ArgumentException($"TweetEval task: expected a name such as 'sentiment' or 'stance_climate', found '{task}'.", nameof(task));
        if (DataDir is { } d)
        {
            var dir = Path.Combine(d, "tweeteval", task);
            return Directory.Exists(dir) ? dir : throw new DirectoryNotFoundException($"TweetEval: expected the folder tweeteval/{task} under the data folder '{d}', found none.");
        }
        var target = Path.Combine(CacheDir, "tweeteval", task);
        // Upstream publishes no checksums for these files; the reader's line-count checks are what verifies them.
        foreach (var name in new[] { "mapping.txt" }.Concat(TweetEvalReader.SplitNames.SelectMany(s => new[] { $"{s}_text.txt", $"{s}_labels.txt" })))
            Downloader.Download(new Uri(TweetEvalBase, $"{task}/{name}"), Path.Combine(target, name), null, Progress);
        return target;
    }
}
