using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Models.Bert;

[Collection(ProcessStateCollection.Name)]
public sealed class BertCheckpointTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "mtk-bert-ckpt-" + Guid.NewGuid().ToString("N"));

    public BertCheckpointTests()
    {
        Directory.CreateDirectory(dir);
    }

    public void Dispose() { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }

    string WriteVocab()
    {
        var path = Path.Combine(dir, "vocab.txt");
        var tokens = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Enumerable.Range(0, 94).Select(i => $"w{i}"));
        File.WriteAllLines(path, tokens);
        return path;
    }

    static BertModel Tiny(int seed = 3)
    {
        manual_seed(seed);
        return new BertModel(BertConfig.Tiny);
    }

    [Fact]
    public void FineTunedModelRoundTripsThroughAHuggingFaceFolderExactly()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var ids = randint(5, 99, new long[] { 2, 9 }, dtype: int64);
        var mask = ones(2, 9, dtype: int64);
        // A few optimizer steps so the weights are no longer the initial ones.
        model.train();
        var optimizer = optim.AdamW(model.parameters(), 1e-2);
        for (int i = 0; i < 3; i++)
        {
            optimizer.zero_grad();
            model.forward(ids, mask).MeanPooled.pow(2).mean().backward();
            optimizer.step();
        }
        model.eval();
        var expected = model.forward(ids, mask);

        var folder = Path.Combine(dir, "saved");
        BertCheckpoint.Save(model, folder, WriteVocab());
        Assert.True(File.Exists(Path.Combine(folder, "config.json")));
        Assert.True(File.Exists(Path.Combine(folder, "vocab.txt")));
        Assert.True(File.Exists(Path.Combine(folder, "model.safetensors")));
        Assert.Empty(Directory.GetDirectories(dir, "saved.tmp-*"));

        using var loaded = BertCheckpoint.LoadModel(folder);
        var actual = loaded.forward(ids, mask);
        Assert.True(actual.LastHiddenState.SameAs(expected.LastHiddenState), "last hidden state differs after the round trip");
        Assert.True(actual.PoolerOutput!.SameAs(expected.PoolerOutput!));

        // Saving again over an existing folder replaces it whole.
        BertCheckpoint.Save(loaded, folder, WriteVocab());
        using var again = BertCheckpoint.LoadModel(folder);
        Assert.True(again.forward(ids, mask).LastHiddenState.SameAs(expected.LastHiddenState));
    }

    [Fact]
    public void PretrainedBertSavesAndLoadsWithItsTokenizer()
    {
        using var scope = NewDisposeScope();
        var folder = Path.Combine(dir, "a");
        using (var model = Tiny()) BertCheckpoint.Save(model, folder, WriteVocab());
        using var pretrained = PretrainedBert.Load(folder);
        Assert.Equal(64, pretrained.Tokenizer.ModelMaxLength);
        Assert.Equal(99, pretrained.Tokenizer.VocabSize);
        var copy = Path.Combine(dir, "b");
        pretrained.Save(copy);
        using var reloaded = PretrainedBert.Load(copy);
        var batch = pretrained.Tokenizer.EncodeBatch(["w1 w2 w3", "w4"]);
        var (ids, mask) = batch.ToTensors();
        Assert.True(pretrained.Model.forward(ids, mask).LastHiddenState.SameAs(reloaded.Model.forward(ids, mask).LastHiddenState));
        Assert.True(reloaded.Tokenizer.Lowercase);

        // A cased vocabulary says so in tokenizer_config.json, and the tokenizer then keeps case.
        File.WriteAllText(Path.Combine(copy, "tokenizer_config.json"), """{"do_lower_case": false}""");
        using var cased = PretrainedBert.Load(copy);
        Assert.False(cased.Tokenizer.Lowercase);
    }

    Dictionary<string, Tensor> StateDictOf(BertModel model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    [Fact]
    public void MissingUnexpectedAndMisshapenKeysAreNamed()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var dict = StateDictOf(model);
        dict.Remove("encoder.layer.1.output.dense.weight");
        dict["encoder.layer.7.output.dense.weight"] = zeros(3);
        dict["embeddings.word_embeddings.weight"] = zeros(100, 32);
        var e = Assert.Throws<InvalidDataException>(() => BertCheckpoint.LoadInto(model, dict, "ckpt"));
        Assert.Contains("ckpt", e.Message);
        Assert.Contains("missing keys (1): 'encoder.layer.1.output.dense.weight'", e.Message);
        Assert.Contains("unexpected keys (1): 'encoder.layer.7.output.dense.weight'", e.Message);
        Assert.Contains("'embeddings.word_embeddings.weight': checkpoint [100, 32], model [99, 32]", e.Message);
    }

    [Fact]
    public void TaskCheckpointPrefixesAndLegacyLayerNormNamesAreNormalised()
    {
        using var scope = NewDisposeScope();
        using var source = Tiny(4);
        var dict = new Dictionary<string, Tensor>();
        foreach (var (k, v) in StateDictOf(source))
        {
            var key = k.Replace("LayerNorm.weight", "LayerNorm.gamma").Replace("LayerNorm.bias", "LayerNorm.beta");
            dict["bert." + key] = v;
        }
        dict["cls.predictions.bias"] = zeros(99);
        dict["bert.embeddings.position_ids"] = arange(64);
        var normalized = BertCheckpoint.NormalizeKeys(dict);
        using var target = Tiny(5);
        BertCheckpoint.LoadInto(target, normalized, "ckpt");
        var ids = randint(5, 99, new long[] { 1, 6 }, dtype: int64);
        source.eval(); target.eval();
        Assert.True(source.forward(ids).LastHiddenState.SameAs(target.forward(ids).LastHiddenState));
    }

    [Fact]
    public void CheckpointWithoutPoolerGivesAModelWithoutPooler()
    {
        using var scope = NewDisposeScope();
        using var model = new BertModel(BertConfig.Tiny, addPoolingLayer: false);
        var folder = Path.Combine(dir, "nopooler");
        BertCheckpoint.Save(model, folder, WriteVocab());
        using var loaded = BertCheckpoint.LoadModel(folder);
        Assert.Null(loaded.Pooler);
        Assert.Null(loaded.forward(ones(1, 3, dtype: int64)).PoolerOutput);
    }

    [Fact]
    public void PickleCheckpointNeedsAnExplicitOptIn()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var folder = Path.Combine(dir, "pickle");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), model.Config.ToJson());
        model.save_py(Path.Combine(folder, "pytorch_model.bin"));
        var e = Assert.Throws<InvalidOperationException>(() => BertCheckpoint.LoadModel(folder));
        Assert.Contains("pytorch_model.bin", e.Message);
        Assert.Contains("execute code", e.Message);
        using var loaded = BertCheckpoint.LoadModel(folder, allowPickle: true);
        var ids = ones(1, 4, dtype: int64);
        model.eval();
        Assert.True(loaded.forward(ids).LastHiddenState.SameAs(model.forward(ids).LastHiddenState));
    }

    [Fact]
    public void MissingFilesAreNamed()
    {
        var e1 = Assert.Throws<DirectoryNotFoundException>(() => BertCheckpoint.LoadModel(Path.Combine(dir, "nothing")));
        Assert.Contains("nothing", e1.Message);
        var folder = Path.Combine(dir, "empty");
        Directory.CreateDirectory(folder);
        var e2 = Assert.Throws<FileNotFoundException>(() => BertCheckpoint.LoadModel(folder));
        Assert.Contains("config.json", e2.Message);
        File.WriteAllText(Path.Combine(folder, "config.json"), BertConfig.Tiny.ToJson());
        var e3 = Assert.Throws<FileNotFoundException>(() => BertCheckpoint.LoadModel(folder));
        Assert.Contains("model.safetensors", e3.Message);
        File.WriteAllText(Path.Combine(folder, "model.safetensors"), "not safetensors");
        var e4 = Assert.Throws<InvalidDataException>(() => BertCheckpoint.LoadModel(folder));
        Assert.Contains("model.safetensors", e4.Message);
        var e5 = Assert.Throws<DirectoryNotFoundException>(() => PretrainedBert.Load("./no/such/folder"));
        Assert.Contains("./no/such/folder", e5.Message);
    }
}
