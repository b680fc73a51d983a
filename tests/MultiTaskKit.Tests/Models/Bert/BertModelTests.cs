using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Models.Bert;

[Collection(ProcessStateCollection.Name)]
public class BertModelTests
{

    static BertModel Tiny(int seed = 1, bool pooler = true)
    {
        manual_seed(seed);
        var model = new BertModel(BertConfig.Tiny, pooler);
        model.eval();
        return model;
    }

    static (Tensor Ids, Tensor Mask) Batch(int seed = 2, long batch = 3, long tokens = 7)
    {
        var gen = new Generator((ulong)seed);
        var ids = randint(5, 99, new long[] { batch, tokens }, dtype: int64, generator: gen);
        var mask = ones(batch, tokens, dtype: int64);
        // Row 1 has 4 real tokens and 3 of padding.
        mask[1, TensorIndex.Slice(4, null)] = 0;
        ids[1, TensorIndex.Slice(4, null)] = 0;
        return (ids, mask);
    }

    [Fact]
    public void ParameterNamesAreTheHuggingFaceCheckpointKeys()
    {
        using var model = Tiny();
        var keys = model.state_dict().Keys.ToHashSet();
        foreach (var key in new[]
        {
            "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight", "embeddings.token_type_embeddings.weight",
            "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
            "encoder.layer.0.attention.self.query.weight", "encoder.layer.0.attention.self.key.bias", "encoder.layer.1.attention.self.value.weight",
            "encoder.layer.0.attention.output.dense.weight", "encoder.layer.0.attention.output.LayerNorm.weight",
            "encoder.layer.1.intermediate.dense.weight", "encoder.layer.1.output.dense.bias", "encoder.layer.1.output.LayerNorm.bias",
            "pooler.dense.weight", "pooler.dense.bias",
        })
            Assert.Contains(key, keys);
        // 5 embedding tensors + 16 per layer + 2 pooler: nothing else (no buffers that a checkpoint would lack).
        Assert.Equal(5 + 16 * 2 + 2, keys.Count);
    }

    [Fact]
    public void OutputsHaveTheDocumentedShapes()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var (ids, mask) = Batch();
        var output = model.forward(ids, mask);
        Assert.Equal(new long[] { 3, 7, 32 }, output.LastHiddenState.shape);
        Assert.Equal(new long[] { 3, 32 }, output.PoolerOutput!.shape);
        Assert.Equal(new long[] { 3, 32 }, output.MeanPooled.shape);
    }

    [Fact]
    public void PaddingDoesNotChangeTheRealTokensOrTheMeanPool()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var (ids, mask) = Batch();
        var padded = model.forward(ids, mask);
        var alone = model.forward(ids[TensorIndex.Slice(1, 2), TensorIndex.Slice(0, 4)], mask[TensorIndex.Slice(1, 2), TensorIndex.Slice(0, 4)]);
        var diff = (padded.LastHiddenState[1, TensorIndex.Slice(0, 4)] - alone.LastHiddenState[0]).abs().max().item<float>();
        Assert.True(diff < 1e-5, $"row 1's real tokens changed by {diff} when padded");
        var poolDiff = (padded.MeanPooled[1] - alone.MeanPooled[0]).abs().max().item<float>();
        Assert.True(poolDiff < 1e-5, $"row 1's mean pool changed by {poolDiff} when padded");
        // And the mask matters: ignoring it changes the result.
        var unmasked = model.forward(ids, null);
        Assert.True((unmasked.MeanPooled[1] - padded.MeanPooled[1]).abs().max().item<float>() > 1e-4);
    }

    [Fact]
    public void MeanPoolingAveragesOnlyMaskedTokens()
    {
        using var scope = NewDisposeScope();
        var hidden = tensor(new float[] { 1, 2, 3, 4, 100, 100, 5, 6, 7, 8, 9, 10 }, new long[] { 2, 3, 2 });
        var mask = tensor(new long[] { 1, 1, 0, 1, 1, 1 }, new long[] { 2, 3 });
        var pooled = MeanPooling.Pool(hidden, mask);
        Assert.Equal(new float[] { 2, 3, 7, 8 }, pooled.data<float>().ToArray());
    }

    [Fact]
    public void DropoutFollowsTrainingAndEvaluationMode()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var (ids, mask) = Batch();
        model.eval();
        var a = model.forward(ids, mask).LastHiddenState;
        var b = model.forward(ids, mask).LastHiddenState;
        Assert.True(a.SameAs(b), "evaluation mode must be deterministic");
        model.train();
        var c = model.forward(ids, mask).LastHiddenState;
        var d = model.forward(ids, mask).LastHiddenState;
        Assert.False(c.SameAs(d), "training mode must apply dropout");
        Assert.False(a.SameAs(c));
    }

    [Fact]
    public void RunningLayersInTwoPartsEqualsTheFullEncoder()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var (ids, mask) = Batch();
        var full = model.forward(ids, mask).LastHiddenState;
        var input = TrunkInput.FromTokens(ids, mask);
        for (int k = 0; k <= 2; k++)
        {
            var lower = model.RunLayers(model.Embed(input), 0, k);
            var upper = model.RunLayers(lower, k, 2);
            Assert.True(upper.Hidden.SameAs(full), $"split at k={k} differs from the full encoder");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => model.RunLayers(model.Embed(input), 1, 3));
    }

    [Fact]
    public void TrunkSplitWithClonedUpperLayersEqualsTheFullModel()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var trunk = new BertTrunk(model);
        var (ids, mask) = Batch();
        var expected = model.forward(ids, mask).MeanPooled;
        var state = trunk.Stem.call(TrunkInput.FromTokens(ids, mask));
        state = trunk.Layers[0].call(state);
        var upper = trunk.CloneLayer(1);
        upper.eval();
        var pooled = trunk.ClonePool().call(upper.call(state));
        Assert.True(pooled.SameAs(expected));
        Assert.Equal(32, trunk.OutputSize);

        // The clone is independent: changing it leaves the original alone.
        using (no_grad()) foreach (var p in upper.parameters()) p.add_(1.0f);
        Assert.True(model.forward(ids, mask).MeanPooled.SameAs(expected));
        Assert.Throws<ArgumentOutOfRangeException>(() => trunk.CloneLayer(2));
    }

    [Fact]
    public void ClonedStemAndPoolerCopyWeights()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var trunk = new BertTrunk(model, BertPooling.Pooler);
        var (ids, mask) = Batch();
        var input = TrunkInput.FromTokens(ids, mask);
        var stem = trunk.CloneStem();
        stem.eval();
        Assert.True(stem.call(input).Hidden.SameAs(trunk.Stem.call(input).Hidden));
        var state = model.RunLayers(model.Embed(input), 0, 2);
        var pool = trunk.ClonePool();
        Assert.NotSame(trunk.Pool, pool);
        Assert.True(pool.call(state).SameAs(model.forward(ids, mask).PoolerOutput!));
        Assert.True(new BertTrunk(model, BertPooling.Cls).Pool.call(state).SameAs(state.Hidden.select(1, 0)));
    }

    [Fact]
    public void PoolerPoolingWithoutPoolerWeightsIsAClearError()
    {
        using var model = Tiny(pooler: false);
        var e = Assert.Throws<ArgumentException>(() => new BertTrunk(model, BertPooling.Pooler));
        Assert.Contains("pooler.dense", e.Message);
    }

    [Fact]
    public void BadInputsGetClearErrors()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var tooLong = ones(1, 65, dtype: int64);
        var e = Assert.Throws<ArgumentException>(() => model.forward(tooLong));
        Assert.Contains("65 tokens", e.Message);
        Assert.Contains("64", e.Message);
        var (ids, mask) = Batch();
        e = Assert.Throws<ArgumentException>(() => model.forward(ids, mask[TensorIndex.Colon, TensorIndex.Slice(0, 5)]));
        Assert.Contains("[3, 5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.forward(TrunkInput.FromFeatures(ones(2, 3))));
        Assert.Contains("InputIds", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.forward(ones(2, 3, 4, dtype: int64)));
        Assert.Contains("[batch, tokens]", e.Message);
    }

    [Fact]
    public void ConfigReadsHuggingFaceJsonAndRejectsBadValues()
    {
        var config = BertConfig.FromJson("""{"model_type":"bert","hidden_size":64,"num_attention_heads":4,"num_hidden_layers":3,"intermediate_size":128,"vocab_size":50,"unknown_key":1}""");
        Assert.Equal(64, config.HiddenSize);
        Assert.Equal(3, config.NumHiddenLayers);
        Assert.Equal(512, config.MaxPositionEmbeddings);
        Assert.Equal(config, BertConfig.FromJson(config.ToJson()));
        var e = Assert.Throws<ArgumentException>(() => BertConfig.FromJson("""{"hidden_size":30,"num_attention_heads":4}""", "cfg.json"));
        Assert.Contains("cfg.json", e.Message);
        Assert.Contains("multiple of num_attention_heads", e.Message);
        var d = Assert.Throws<InvalidDataException>(() => BertConfig.FromJson("""{"model_type":"gpt2"}""", "cfg.json"));
        Assert.Contains("gpt2", d.Message);
        d = Assert.Throws<InvalidDataException>(() => BertConfig.FromJson("""{"hidden_size":"big"}""", "cfg.json"));
        Assert.Contains("hidden_size", d.Message);
        Assert.Throws<ArgumentException>(() => BertConfig.FromJson("""{"hidden_act":"swiglu"}"""));
    }

    [Fact]
    public void TrainingStepUpdatesTheSharedLayersThroughTheTrunk()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        model.train();
        var trunk = new BertTrunk(model);
        var (ids, mask) = Batch();
        var before = model.state_dict()["encoder.layer.0.attention.self.query.weight"].clone();
        var optimizer = optim.Adam(model.parameters(), 1e-2);
        var state = trunk.Stem.call(TrunkInput.FromTokens(ids, mask));
        foreach (var layer in trunk.Layers) state = layer.call(state);
        trunk.Pool.call(state).pow(2).mean().backward();
        optimizer.step();
        Assert.False(before.SameAs(model.state_dict()["encoder.layer.0.attention.self.query.weight"]));
    }
}
