using MultiTaskKit.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>Configuration of <see cref="MlpTrunk"/>: a stem projecting features (or embedding tokens) to
/// <see cref="HiddenSize"/>, then <see cref="Layers"/> hidden layers of the same width.</summary>
/// <param name="InputSize">Features per row of <see cref="TrunkInput.Features"/> (ignored when <see cref="VocabSize"/> is set).</param>
/// <param name="HiddenSize">Width of the stem output and of every layer.</param>
/// <param name="Layers">Hidden layers after the stem (the ones a sharing plan can split).</param>
/// <param name="Dropout">Dropout after each layer's activation (0 = none).</param>
/// <param name="VocabSize">When above 0, the trunk reads token ids instead of features: the stem is an embedding table
/// of this many rows, averaged over the real tokens of each row (a bag of embeddings), so text tasks can train on a
/// small, fast trunk (<c>"trunk": "mlp"</c> in <c>mtk train</c>'s configuration).</param>
public sealed record MlpTrunkOptions(long InputSize, long HiddenSize = 32, int Layers = 2, double Dropout = 0.0, long VocabSize = 0)
{
    /// <summary>An MLP over token ids: a <paramref name="vocabSize"/>-row embedding bag, then <paramref name="layers"/> layers.</summary>
    public static MlpTrunkOptions ForTokens(long vocabSize, long hiddenSize = 32, int layers = 2, double dropout = 0.0) =>
        new(0, hiddenSize, layers, dropout, vocabSize);

    internal void Validate()
    {
        if (VocabSize < 0) throw new ArgumentOutOfRangeException(nameof(VocabSize), VocabSize, "expected 0 (features) or a vocabulary size");
        if (VocabSize == 0 && InputSize < 1) throw new ArgumentOutOfRangeException(nameof(InputSize), InputSize, "expected at least 1 input feature");
        if (HiddenSize < 1) throw new ArgumentOutOfRangeException(nameof(HiddenSize), HiddenSize, "expected a hidden size of at least 1");
        if (Layers < 0) throw new ArgumentOutOfRangeException(nameof(Layers), Layers, "expected 0 or more layers");
        if (Dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "expected dropout in [0, 1)");
    }
}

/// <summary>
/// A small feed-forward trunk for feature vectors: stem <c>Linear(InputSize, HiddenSize) + ReLU</c> (or, with
/// <see cref="MlpTrunkOptions.VocabSize"/>, the masked mean of token embeddings), then
/// <c>Layers</c> blocks of <c>Linear(HiddenSize, HiddenSize) + ReLU (+ dropout)</c>, then a parameter-free pool
/// (identity for [batch, hidden]; masked mean for [batch, tokens, hidden]). It implements <see cref="ISplittableTrunk"/>
/// so every sharing plan works on it exactly as on the BERT trunk.
/// </summary>
public sealed class MlpTrunk : nn.Module<TrunkInput, Tensor>, ISplittableTrunk
{
    readonly nn.Module<TrunkInput, HiddenState> stem;
    readonly List<MlpLayer> layers;
    readonly MeanPool pool;

    public MlpTrunkOptions Options { get; }

    public MlpTrunk(MlpTrunkOptions options) : base("mlp_trunk")
    {
        options.Validate();
        Options = options;
        stem = NewStem(options);
        layers = Enumerable.Range(0, options.Layers).Select(_ => new MlpLayer(options.HiddenSize, options.Dropout)).ToList();
        pool = new MeanPool();
        register_module("stem", stem);
        var layerFolder = new ModuleContainer("layers");
        for (int i = 0; i < layers.Count; i++) layerFolder.Add(i.ToString(), layers[i]);
        register_module("layers", layerFolder);
        register_module("pool", pool);
    }

    public nn.Module<TrunkInput, HiddenState> Stem => stem;
    public IReadOnlyList<nn.Module<HiddenState, HiddenState>> Layers => layers;
    public nn.Module<HiddenState, Tensor> Pool => pool;
    public long OutputSize => Options.HiddenSize;

    public override Tensor forward(TrunkInput input)
    {
        var state = stem.call(input);
        foreach (var layer in layers) state = layer.call(state);
        return pool.call(state);
    }

    public nn.Module<HiddenState, HiddenState> CloneLayer(int index)
    {
        if (index < 0 || index >= layers.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"expected a layer index in [0, {layers.Count})");
        return CopyWeights(layers[index], new MlpLayer(Options.HiddenSize, Options.Dropout));
    }

    public nn.Module<HiddenState, Tensor> ClonePool() => new MeanPool();

    public nn.Module<TrunkInput, HiddenState> CloneStem() => CopyWeights(stem, NewStem(Options));

    static nn.Module<TrunkInput, HiddenState> NewStem(MlpTrunkOptions o) =>
        o.VocabSize > 0 ? new MlpTokenStem(o.VocabSize, o.HiddenSize) : new MlpStem(o.InputSize, o.HiddenSize);

    /// <summary>Copies <paramref name="source"/>'s weights into <paramref name="target"/> on the source's device and training mode.</summary>
    internal static T CopyWeights<T>(nn.Module source, T target) where T : nn.Module
    {
        var first = source.parameters().FirstOrDefault();
        if (first is not null) target.to(first.device);
        var (missing, unexpected) = target.load_state_dict(source.state_dict(), strict: true);
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new InvalidOperationException($"cloning {source.GetName()}: missing keys [{string.Join(", ", missing)}], unexpected keys [{string.Join(", ", unexpected)}]");
        target.train(source.training);
        return target;
    }

    sealed class MlpStem : nn.Module<TrunkInput, HiddenState>
    {
        readonly Linear dense;
        public MlpStem(long inputSize, long hiddenSize) : base("mlp_stem")
        {
            dense = nn.Linear(inputSize, hiddenSize);
            register_module("dense", dense);
        }

        public override HiddenState forward(TrunkInput input)
        {
            var features = input.Features ?? throw new ArgumentException("MlpTrunk reads TrunkInput.Features, found none (token ids go to a BERT trunk)", nameof(input));
            if (features.shape[^1] != dense.in_features)
                throw new ArgumentException($"MlpTrunk: expected {dense.in_features} features per row, found shape [{string.Join(", ", features.shape)}]", nameof(input));
            return new HiddenState(nn.functional.relu(dense.call(features)));
        }
    }

    /// <summary>Token ids [batch, tokens] to the mean of their embeddings over the attention mask: [batch, hidden].</summary>
    sealed class MlpTokenStem : nn.Module<TrunkInput, HiddenState>
    {
        readonly Embedding embeddings;
        public MlpTokenStem(long vocabSize, long hiddenSize) : base("mlp_token_stem")
        {
            embeddings = nn.Embedding(vocabSize, hiddenSize);
            register_module("embeddings", embeddings);
        }

        public override HiddenState forward(TrunkInput input)
        {
            var ids = input.InputIds ?? throw new ArgumentException("MlpTrunk (token mode) reads TrunkInput.InputIds, found none (features go to a feature MLP)", nameof(input));
            var vectors = embeddings.call(ids);
            if (input.AttentionMask is null) return new HiddenState(vectors.mean(new long[] { 1 }));
            var mask = input.AttentionMask.unsqueeze(-1).to_type(vectors.dtype);
            return new HiddenState((vectors * mask).sum(1) / mask.sum(1).clamp_min(1.0));
        }
    }

    sealed class MlpLayer : nn.Module<HiddenState, HiddenState>
    {
        readonly Linear dense;
        readonly Dropout dropout;
        public MlpLayer(long hiddenSize, double dropoutRate) : base("mlp_layer")
        {
            dense = nn.Linear(hiddenSize, hiddenSize);
            dropout = nn.Dropout(dropoutRate);
            register_module("dense", dense);
            register_module("dropout", dropout);
        }

        public override HiddenState forward(HiddenState state) =>
            state with { Hidden = dropout.call(nn.functional.relu(dense.call(state.Hidden))) };
    }

    /// <summary>Identity on [batch, hidden]; mean over real tokens on [batch, tokens, hidden].</summary>
    sealed class MeanPool : nn.Module<HiddenState, Tensor>
    {
        public MeanPool() : base("mean_pool") { }

        public override Tensor forward(HiddenState state)
        {
            if (state.Hidden.dim() == 2) return state.Hidden;
            if (state.AttentionMask is null) return state.Hidden.mean(new long[] { 1 });
            var mask = state.AttentionMask.unsqueeze(-1).to_type(state.Hidden.dtype);
            return (state.Hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0);
        }
    }
}
