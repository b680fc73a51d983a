using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.IO;

namespace MultiTaskKit.Data;

/// <summary>
/// A built-in dataset's manifest, <c>data/NAME.json</c> in the repository: where it comes from, its checksum and licence.
/// The files are embedded into the library as they are, so these JSON files are the one place that holds URLs and
/// checksums; <see cref="DatasetSources"/> reads them from here.
/// </summary>
/// <param name="Name">The manifest's <c>name</c> (equal to its file name).</param>
/// <param name="Title">What the dataset is.</param>
/// <param name="Url">The upstream URL; for per-task files a template with <c>&lt;task&gt;</c> in it.</param>
/// <param name="Checksum">The upstream file's digest, or null where upstream publishes none.</param>
/// <param name="Licence">The licence the data comes under.</param>
/// <param name="ArchiveEntry">For archives: the one entry the kit reads, or null.</param>
public sealed record DatasetManifest(string Name, string Title, string Url, Checksum? Checksum, string Licence, string? ArchiveEntry)
{
    const string ResourcePrefix = "MultiTaskKit.Data.Manifests.";

    /// <summary>IMDB movie reviews (<c>data/imdb.json</c>).</summary>
    public static DatasetManifest Imdb => Get("imdb");

    /// <summary>VADER tweets with human ratings (<c>data/vader-tweets.json</c>).</summary>
    public static DatasetManifest VaderTweets => Get("vader-tweets");

    /// <summary>TweetEval (<c>data/tweeteval.json</c>).</summary>
    public static DatasetManifest TweetEval => Get("tweeteval");

    /// <summary>Every embedded manifest by name.</summary>
    public static IReadOnlyDictionary<string, DatasetManifest> All => all.Value;
    static readonly Lazy<IReadOnlyDictionary<string, DatasetManifest>> all = new(LoadAll);

    /// <summary>The manifest <paramref name="name"/>; throws naming the known ones when there is none.</summary>
    public static DatasetManifest Get(string name) =>
        All.TryGetValue(name, out var m) ? m
        : throw new ArgumentException($"dataset manifest: expected one of {string.Join(", ", All.Keys)}, found '{name}'", nameof(name));

    /// <summary>For per-task URL templates: the part before <c>&lt;task&gt;</c>, to which a task's relative path is appended.</summary>
    public Uri BaseUrl()
    {
        int at = Url.IndexOf("<task>", StringComparison.Ordinal);
        return at > 0 ? new Uri(Url[..at]) : throw new InvalidDataException($"data/{Name}.json: key 'url': expected a template with <task>, found '{Url}'");
    }

    static IReadOnlyDictionary<string, DatasetManifest> LoadAll()
    {
        var assembly = typeof(DatasetManifest).Assembly;
        var result = new Dictionary<string, DatasetManifest>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            var manifest = Parse(reader.ReadToEnd(), "data/" + resource[ResourcePrefix.Length..]);
            result.Add(manifest.Name, manifest);
        }
        return result;
    }

    /// <summary>Reads one manifest; <paramref name="source"/> names the file in errors.</summary>
    public static DatasetManifest Parse(string json, string source)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"{source}: expected a JSON object at the top, found another value");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not valid JSON (line {e.LineNumber + 1}): {e.Message}", e);
        }

        string Text(string key, bool required = true)
        {
            var node = root[key];
            if (node is null) return required ? throw new InvalidDataException($"{source}: key '{key}': expected a string, found none") : null!;
            return node is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0
                ? s
                : throw new InvalidDataException($"{source}: key '{key}': expected a non-empty string, found {node.ToJsonString()}");
        }

        Checksum? sum = null;
        switch (root["checksum"])
        {
            case null: break;
            case JsonObject o when o.Count == 1 && o.First() is var (algorithm, value) && value is JsonValue hex && hex.TryGetValue<string>(out var h)
                                   && algorithm is "md5" or "sha256":
                sum = algorithm == "md5" ? Checksum.Md5(h) : Checksum.Sha256(h);
                break;
            case var other:
                throw new InvalidDataException($"{source}: key 'checksum': expected null or {{\"md5\"|\"sha256\": \"hex\"}}, found {other.ToJsonString()}");
        }
        var name = Text("name");
        var expected = Path.GetFileNameWithoutExtension(source);
        if (name != expected) throw new InvalidDataException($"{source}: key 'name': expected '{expected}' (the file's name), found '{name}'");
        return new DatasetManifest(name, Text("title"), Text("url"), sum, Text("licence"), root.ContainsKey("archive_entry") ? Text("archive_entry") : null);
    }
}
