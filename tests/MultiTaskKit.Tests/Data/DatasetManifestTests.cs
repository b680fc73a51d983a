using MultiTaskKit.Data;
using MultiTaskKit.IO;

namespace MultiTaskKit.Tests.Data;

public class DatasetManifestTests
{
    static string DataFolder()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Kit.sln"))) return Path.Combine(d.FullName, "data");
        throw new DirectoryNotFoundException($"expected Kit.sln above {AppContext.BaseDirectory}, found none");
    }

    [Fact]
    public void EveryManifestInDataIsEmbeddedParsedAndReadByDatasetSources()
    {
        var files = Directory.GetFiles(DataFolder(), "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["imdb", "tweeteval", "vader-tweets"], files);
        Assert.Equal(files, DatasetManifest.All.Keys.Order(StringComparer.Ordinal));
        foreach (var name in files)
        {
            var fromFile = DatasetManifest.Parse(File.ReadAllText(Path.Combine(DataFolder(), name + ".json")), $"data/{name}.json");
            Assert.Equal(fromFile, DatasetManifest.All[name]);
        }

        // the downloads use the manifests' URLs and checksums, nothing else
        var sources = new DatasetSources();
        Assert.Equal(new Uri(DatasetManifest.Imdb.Url), sources.Imdb);
        Assert.Equal(Checksum.Md5("7c2ac02c03563afcf9b574c7e56c153a"), sources.ImdbSum);
        Assert.Equal(new Uri(DatasetManifest.VaderTweets.Url), sources.VaderArchive);
        Assert.Equal(DatasetManifest.VaderTweets.Checksum, sources.VaderSum);
        Assert.Equal("sha256", sources.VaderSum!.Algorithm);
        Assert.Equal("hutto_ICWSM_2014/tweets_GroundTruth.txt", DatasetSources.VaderEntry);
        Assert.Equal(new Uri("https://raw.githubusercontent.com/cardiffnlp/tweeteval/main/datasets/"), sources.TweetEvalBase);
        Assert.Null(DatasetManifest.TweetEval.Checksum);
    }

    [Fact]
    public void ABadManifestNamesTheFileAndTheKey()
    {
        const string good = """{ "name": "x", "title": "t", "url": "https://example.org/x.tgz", "checksum": { "md5": "AB" }, "licence": "MIT" }""";
        var m = DatasetManifest.Parse(good, "data/x.json");
        Assert.Equal(Checksum.Md5("ab"), m.Checksum);
        Assert.Null(m.ArchiveEntry);

        var ex = Assert.Throws<InvalidDataException>(() => DatasetManifest.Parse(good.Replace("\"url\": \"https://example.org/x.tgz\", ", ""), "data/x.json"));
        Assert.Equal("data/x.json: key 'url': expected a string, found none", ex.Message);
        ex = Assert.Throws<InvalidDataException>(() => DatasetManifest.Parse(good.Replace("\"md5\"", "\"crc32\""), "data/x.json"));
        Assert.StartsWith("data/x.json: key 'checksum': expected null or", ex.Message);
        ex = Assert.Throws<InvalidDataException>(() => DatasetManifest.Parse(good, "data/y.json"));
        Assert.Equal("data/y.json: key 'name': expected 'y' (the file's name), found 'x'", ex.Message);
        ex = Assert.Throws<InvalidDataException>(() => DatasetManifest.Parse("{ \"name\": ", "data/x.json"));
        Assert.StartsWith("data/x.json: not valid JSON", ex.Message);
        ex = Assert.Throws<InvalidDataException>(() => DatasetManifest.Parse(good.Replace("\"licence\": \"MIT\"", "\"licence\": 3"), "data/x.json"));
        Assert.Equal("data/x.json: key 'licence': expected a non-empty string, found 3", ex.Message);
    }
}
