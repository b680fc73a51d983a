using MultiTaskKit.Models.Bert;
using MultiTaskKit.Models.Hub;
using MultiTaskKit.Runtime;
using MultiTaskKit.Tests.Models.Bert;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Models.Hub;

/// <summary>Downloads against a real HTTP server on loopback that serves the hub's URL layout.</summary>
[Collection(ProcessStateCollection.Name)]
public sealed class HubClientTests : IDisposable
{
    const string Repo = "kit-tests/tiny-bert";
    const string Commit = "0123456789abcdef0123456789abcdef01234567";
    readonly string dir = Path.Combine(Path.GetTempPath(), "mtk-hub-" + Guid.NewGuid().ToString("N"));
    readonly LoopbackHubServer server = new();
    readonly Dictionary<string, byte[]> files;
    readonly BertModel model;

    public HubClientTests()
    {
        manual_seed(21);
        model = new BertModel(BertConfig.Tiny);
        model.eval();
        var source = Path.Combine(dir, "source");
        var vocab = Path.Combine(dir, "vocab.txt");
        Directory.CreateDirectory(dir);
        File.WriteAllLines(vocab, new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]" }.Concat(Enumerable.Range(0, 95).Select(i => $"w{i}")));
        BertCheckpoint.Save(model, source, vocab);
        files = Directory.GetFiles(source).ToDictionary(f => Path.GetFileName(f)!, File.ReadAllBytes);
        server.AddRepo(Repo, Commit, files, "model.safetensors");
    }

    public void Dispose()
    {
        server.Dispose();
        model.Dispose();
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    HubClient Client(bool offline = false, int attempts = 3) => new(Path.Combine(dir, "hub"), server.Endpoint, offline) { MaxAttempts = attempts };

    string RepoFolder => Path.Combine(dir, "hub", "models--kit-tests--tiny-bert");

    [Fact]
    public void DownloadsIntoTheHuggingFaceCacheLayoutAndLoads()
    {
        using var pretrained = PretrainedBert.Load(Repo, new PretrainedBertOptions { Hub = Client() });
        var sha = LoopbackHubServer.Sha256(files["model.safetensors"]);
        Assert.True(File.Exists(Path.Combine(RepoFolder, "blobs", sha)));
        Assert.True(File.Exists(Path.Combine(RepoFolder, "blobs", LoopbackHubServer.GitBlobSha1(files["config.json"]))));
        Assert.Equal(Commit, File.ReadAllText(Path.Combine(RepoFolder, "refs", "main")));
        var snapshot = Path.Combine(RepoFolder, "snapshots", Commit, "model.safetensors");
        Assert.Equal(files["model.safetensors"], File.ReadAllBytes(snapshot));
        Assert.Equal(Path.Combine(RepoFolder, "snapshots", Commit), pretrained.Folder);

        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 2, 7, 8, 9, 3 }, new long[] { 1, 5 });
        Assert.True(pretrained.Model.forward(ids).LastHiddenState.SameAs(model.forward(ids).LastHiddenState));
        Assert.Contains(server.Log, r => r.Path == $"/cdn/{sha}"); // the LFS redirect was followed

        // A second load finds every blob in place and downloads no body again.
        int bodies = server.Log.Count(r => r.Method == "GET");
        using var again = PretrainedBert.Load(Repo, new PretrainedBertOptions { Hub = Client() });
        Assert.Equal(bodies, server.Log.Count(r => r.Method == "GET"));
    }

    [Fact]
    public void AnInterruptedDownloadResumesWithARangeRequest()
    {
        var size = files["model.safetensors"].Length;
        long cut = size / 3;
        server.DropAfterBytes = cut;
        // One attempt only, as if the process had died: the error says what is kept.
        var e = Assert.Throws<IOException>(() => Client(attempts: 1).DownloadModel(Repo));
        Assert.Contains("resumes", e.Message);
        var sha = LoopbackHubServer.Sha256(files["model.safetensors"]);
        var partial = Path.Combine(RepoFolder, "blobs", sha + ".incomplete");
        Assert.Equal(cut, new FileInfo(partial).Length);
        Assert.False(File.Exists(Path.Combine(RepoFolder, "blobs", sha)), "a partial download must never be taken for the blob");
        Assert.False(File.Exists(Path.Combine(RepoFolder, "snapshots", Commit, "model.safetensors")));

        var folder = Client().DownloadModel(Repo);
        Assert.Contains(server.Log, r => r.Method == "GET" && r.Path == $"/cdn/{sha}" && r.Range == $"bytes={cut}-");
        Assert.Equal(files["model.safetensors"], File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public void AConnectionThatDropsIsRetriedWithinOneCall()
    {
        server.DropAfterBytes = 100;
        var folder = Client(attempts: 3).DownloadModel(Repo);
        Assert.Equal(files["model.safetensors"], File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.Contains(server.Log, r => r.Range == "bytes=100-");
    }

    [Fact]
    public void ACorruptDownloadIsDiscarded()
    {
        server.Corrupt = true;
        var e = Assert.Throws<InvalidDataException>(() => Client().DownloadFile(Repo, "config.json"));
        Assert.Contains("failed verification", e.Message);
        Assert.Contains("git SHA-1", e.Message);
        var e2 = Assert.Throws<InvalidDataException>(() => Client().DownloadFile(Repo, "model.safetensors"));
        Assert.Contains("SHA-256", e2.Message);
        Assert.False(Directory.Exists(Path.Combine(RepoFolder, "snapshots")));
        Assert.Empty(Directory.GetFiles(Path.Combine(RepoFolder, "blobs")));
    }

    [Fact]
    public void OfflineModeReadsTheCacheAndExplainsHowToPreDownload()
    {
        Client().DownloadModel(Repo);
        server.Dispose(); // nothing answers any more
        using var pretrained = PretrainedBert.Load(Repo, new PretrainedBertOptions { Hub = Client(offline: true) });
        Assert.Equal(32, pretrained.Config.HiddenSize);

        var e = Assert.Throws<InvalidOperationException>(() => PretrainedBert.Load("google/bert_uncased_L-4_H-256_A-4", new PretrainedBertOptions { Hub = Client(offline: true) }));
        Assert.Contains("HF_HUB_OFFLINE=1", e.Message);
        Assert.Contains("huggingface-cli download google/bert_uncased_L-4_H-256_A-4", e.Message);
    }

    [Fact]
    public void MissingFilesAndPickleOnlyRepositoriesGetClearErrors()
    {
        var e = Assert.Throws<FileNotFoundException>(() => Client().DownloadFile(Repo, "tokenizer.json"));
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Contains("404", e.Message);
        server.AddRepo("kit-tests/pickle-only", Commit, new Dictionary<string, byte[]>
        {
            ["config.json"] = files["config.json"], ["vocab.txt"] = files["vocab.txt"], ["pytorch_model.bin"] = [1, 2, 3],
        });
        var p = Assert.Throws<FileNotFoundException>(() => Client().DownloadModel("kit-tests/pickle-only"));
        Assert.Contains("execute code", p.Message);
        Assert.Throws<ArgumentException>(() => Client().DownloadModel("../escape"));
    }

    [Fact]
    public void EnvironmentSelectsEndpointCacheAndOfflineMode()
    {
        var saved = new[] { "HF_HOME", "HF_HUB_CACHE", "HF_ENDPOINT", "HF_HUB_OFFLINE" }.ToDictionary(k => k, Environment.GetEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", null);
            Environment.SetEnvironmentVariable("HF_HOME", Path.Combine(dir, "hf-home"));
            Environment.SetEnvironmentVariable("HF_ENDPOINT", server.Endpoint + "/");
            Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", "1");
            var client = HubClient.FromEnvironment();
            Assert.Equal(Path.Combine(dir, "hf-home", "hub"), client.CacheDir);
            Assert.Equal(server.Endpoint, client.Endpoint);
            Assert.True(client.Offline);
        }
        finally
        {
            foreach (var (k, v) in saved) Environment.SetEnvironmentVariable(k, v);
        }
    }
}
