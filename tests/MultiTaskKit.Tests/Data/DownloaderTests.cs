using System.Security.Cryptography;
using MultiTaskKit.Data;
using MultiTaskKit.IO;

namespace MultiTaskKit.Tests.Data;

public class DownloaderTests
{
    static byte[] Payload(int n)
    {
        var bytes = new byte[n];
        new Random(7).NextBytes(bytes);
        return bytes;
    }

    static string TempDir() => Directory.CreateTempSubdirectory("mtk-dl").FullName;

    [Fact]
    public async Task DownloadsVerifiesAndCaches()
    {
        using var server = new LoopbackHttpServer();
        var data = Payload(300_000);
        server.Files["a.bin"] = data;
        var target = Path.Combine(TempDir(), "cache", "a.bin");
        var sum = Checksum.Sha256(Convert.ToHexStringLower(SHA256.HashData(data)));
        await new Downloader().DownloadAsync(new Uri(server.BaseUri, "a.bin"), target, sum);
        Assert.Equal(data, File.ReadAllBytes(target));
        Assert.False(File.Exists(target + Downloader.PartialSuffix));
        // A second call trusts the verified file and does not ask the server again.
        await new Downloader().DownloadAsync(new Uri(server.BaseUri, "a.bin"), target, sum);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task InterruptedDownloadResumesWithRangeRequest()
    {
        using var server = new LoopbackHttpServer();
        var data = Payload(500_000);
        server.Files["big.tar.gz"] = data;
        server.CutNextAfter = 200_000;
        var target = Path.Combine(TempDir(), "big.tar.gz");
        var url = new Uri(server.BaseUri, "big.tar.gz");
        var sum = Checksum.Md5(Convert.ToHexStringLower(MD5.HashData(data)));
        await Assert.ThrowsAnyAsync<Exception>(() => new Downloader().DownloadAsync(url, target, sum));
        Assert.False(File.Exists(target)); // never a half-written file under the final name
        var partial = new FileInfo(target + Downloader.PartialSuffix);
        Assert.True(partial.Exists && partial.Length > 0 && partial.Length < data.Length, $"partial length {partial.Length}");

        await new Downloader().DownloadAsync(url, target, sum);
        Assert.Equal(data, File.ReadAllBytes(target));
        Assert.Contains($"big.tar.gz from {partial.Length}", server.Requests);
        Assert.False(File.Exists(target + Downloader.PartialSuffix));
    }

    [Fact]
    public async Task ChecksumMismatchLeavesNothingToTrust()
    {
        using var server = new LoopbackHttpServer();
        server.Files["x.txt"] = Payload(10_000);
        var target = Path.Combine(TempDir(), "x.txt");
        var wrong = Checksum.Sha256(new string('0', 64));
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => new Downloader().DownloadAsync(new Uri(server.BaseUri, "x.txt"), target, wrong));
        Assert.Contains("Checksum mismatch", ex.Message);
        Assert.Contains(wrong.Hex, ex.Message);
        Assert.False(File.Exists(target));
        Assert.False(File.Exists(target + Downloader.PartialSuffix));
    }

    [Fact]
    public async Task MissingFileNamesTheStatus()
    {
        using var server = new LoopbackHttpServer();
        var target = Path.Combine(TempDir(), "none.txt");
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => new Downloader().DownloadAsync(new Uri(server.BaseUri, "none.txt"), target, null));
        Assert.Contains("404", ex.Message);
        Assert.False(File.Exists(target));
    }

    [Fact]
    public void SourcesDownloadVaderAndTweetEvalFromTheServerAndReadThem()
    {
        using var server = new LoopbackHttpServer();
        // A VADER-shaped upstream archive with the one file the loader extracts.
        var vader = "1\t2.5\tI love this @someone http://t.co/x\r\n2\t-1.25\tnot great &amp; sad\r\n3\t0\tmeh\r\n";
        var archive = Fixtures.TarGz(("hutto_ICWSM_2014/tweets_GroundTruth.txt", vader), ("hutto_ICWSM_2014/other.txt", "x"));
        server.Files["vader.tar.gz"] = archive;
        server.Files["te/irony/mapping.txt"] = "0\tnon_irony\n1\tirony\n"u8.ToArray();
        foreach (var s in new[] { "train", "val", "test" })
        {
            server.Files[$"te/irony/{s}_text.txt"] = "a tweet \nanother @bob one \n"u8.ToArray();
            server.Files[$"te/irony/{s}_labels.txt"] = "0\n1\n"u8.ToArray();
        }
        var sources = new DatasetSources
        {
            CacheDir = TempDir(),
            VaderArchive = new Uri(server.BaseUri, "vader.tar.gz"),
            VaderSum = Checksum.Sha256(Convert.ToHexStringLower(SHA256.HashData(archive))),
            TweetEvalBase = new Uri(server.BaseUri, "te/"),
        };
        var tweets = VaderReader.Read(sources.VaderPath());
        Assert.Equal(3, tweets.Count);
        Assert.Equal("I love this @user http", tweets.Examples[0].Text);
        Assert.Equal("not great & sad", tweets.Examples[1].Text);
        var irony = TweetEvalReader.Read(sources.TweetEvalPath("irony"), "val");
        Assert.Equal(["non_irony", "irony"], irony.LabelNames);
        Assert.Equal("another @user one", irony.Examples[1].Text);
    }
}
