using System.Formats.Tar;
using System.IO.Compression;
using System.Text.RegularExpressions;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Tests.Models.Bert;

/// <summary>
/// A seeded sample of real text from the shared data folder: IMDB reviews (the first entries of the archive) and
/// VADER/TweetEval tweets. Null when the data folder is absent; tests then skip with the reason.
/// </summary>
public static partial class RealSentences
{
    static readonly Lazy<(IReadOnlyList<string>? Texts, string Reason)> Cache = new(Read);

    public static IReadOnlyList<string>? Texts => Cache.Value.Texts;
    public static string MissingReason => Cache.Value.Reason;

    [GeneratedRegex(@"<br\s*/?>", RegexOptions.IgnoreCase)]
    private static partial Regex LineBreak();

    static (IReadOnlyList<string>?, string) Read()
    {
        string? dir;
        try { dir = KitPaths.FindDataDir(); }
        catch (DirectoryNotFoundException e) { return (null, e.Message); }
        if (dir is null) return (null, "no data folder: set MTK_DATA_DIR or keep ../shared/data beside the repository");
        var imdb = Path.Combine(dir, "imdb", "aclImdb-labeled.tar.gz");
        var vader = Path.Combine(dir, "vader", "tweets_GroundTruth.txt");
        var emotion = Path.Combine(dir, "tweeteval", "emotion", "train_text.txt");
        foreach (var f in new[] { imdb, vader, emotion })
            if (!File.Exists(f)) return (null, $"data file '{f}' is absent");

        var reviews = new List<string>();
        using (var gz = new GZipStream(File.OpenRead(imdb), CompressionMode.Decompress))
        using (var tar = new TarReader(gz))
        {
            TarEntry? entry;
            while (reviews.Count < 400 && (entry = tar.GetNextEntry()) is not null)
            {
                if (entry.DataStream is null || !entry.Name.EndsWith(".txt", StringComparison.Ordinal)) continue;
                using var reader = new StreamReader(entry.DataStream);
                // The line breaks are markup, not text; the dataset loaders remove them the same way.
                reviews.Add(LineBreak().Replace(reader.ReadToEnd(), " "));
            }
        }
        var tweets = File.ReadLines(vader).Select(l => l.Split('\t')).Where(p => p.Length >= 3).Select(p => p[2]).ToList();
        tweets.AddRange(File.ReadLines(emotion));
        var rng = new Random(20261128);
        var sample = reviews.OrderBy(_ => rng.Next()).Take(120)
            .Concat(tweets.OrderBy(_ => rng.Next()).Take(120))
            .Where(s => !string.IsNullOrWhiteSpace(s))
            .ToList();
        return (sample, "");
    }
}
