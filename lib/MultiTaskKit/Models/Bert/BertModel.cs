using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models.Bert;

/// <summary>The stack of transformer layers (Hugging Face <c>BertEncoder</c>); the checkpoint key is <c>encoder.layer.N</c>.</summary>
public sealed class BertEncoder : nn.Module<HiddenState, HiddenState>
{
    readonly ModuleList<BertLayer> layer;

    public BertEncoder(BertConfig config) : base("encoder")
    {
        layer = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BertLayer(config)).ToArray());
        RegisterComponents();
    }

    /// <summary>The layers, bottom first.</summary>
    public IReadOnlyList<BertLayer> Layers => layer.ToArray();

    public override HiddenState forward(HiddenState state) => Run(state, 0, layer.Count);

    /// <summary>Runs layers [<paramref name="from"/>, <paramref name="to"/>); the identity when they are equal.</summary>
    public HiddenState Run(HiddenState state, int from, int to)
    {
        if (from < 0 || to > layer.Count || from > to)
            throw new ArgumentOutOfRangeException(nameof(from), $"BertEncoder: expected 0 <= from <= to <= {layer.Count}, found from {from}, to {to}.");
        using var scope = NewDisposeScope();
        var input = state;
        for (int i = from; i < to; i++)
            state = layer[i].forward(state);
        // Only the final hidden tensor leaves; intermediate ones die with this scope. The mask is the caller's.
        if (ReferenceEquals(state, input)) return input;
        return state with { Hidden = state.Hidden.MoveToOuterDisposeScope() };
    }
}

/// <summary>What <see cref="BertModel"/> returns.</summary>
/// <param name="LastHiddenState">[batch, tokens, hidden], the top layer's output.</param>
/// <param name="PoolerOutput">[batch, hidden], tanh(dense([CLS])); null when the model has no pooler.</param>
/// <param name="MeanPooled">[batch, hidden], the mean of token vectors under the attention mask.</param>
public sealed record BertModelOutput(Tensor LastHiddenState, Tensor? PoolerOutput, Tensor MeanPooled);

/// <summary>
/// A BERT encoder (Devlin et al., NAACL 2019, arXiv:1810.04805) with Hugging Face's module tree, so that
/// <c>state_dict()</c> keys equal a <c>BertModel</c> checkpoint's keys and weights load by a plain name match.
/// </summary>
public sealed class BertModel : nn.Module<TrunkInput, BertModelOutput>
{
    readonly BertEmbeddings embeddings;
    readonly BertEncoder encoder;
    readonly BertPooler? pooler;

    public BertConfig Config { get; }

    /// <param name="config">The hyperparameters; <see cref="BertConfig.Tiny"/> for tests.</param>
    /// <param name="addPoolingLayer">Whether to build <c>pooler.dense</c> (Hugging Face's <c>add_pooling_layer</c>).</param>
    public BertModel(BertConfig config, bool addPoolingLayer = true) : base("bert")
    {
        Config = config.Validate();
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        if (addPoolingLayer) pooler = new BertPooler(config);
        RegisterComponents();
    }

    public BertEmbeddings Embeddings => embeddings;
    public BertEncoder Encoder => encoder;
    public BertPooler? Pooler => pooler;

    public override BertModelOutput forward(TrunkInput input)
    {
        using var scope = NewDisposeScope();
        var state = encoder.forward(embeddings.forward(input));
        var pooled = pooler?.forward(state);
        var mean = MeanPooling.Pool(state.Hidden, state.AttentionMask);
        return new BertModelOutput(state.Hidden.MoveToOuterDisposeScope(), pooled?.MoveToOuterDisposeScope(), mean.MoveToOuterDisposeScope());
    }

    /// <summary>Runs the whole model on token ids [batch, tokens] and a mask (1 = real token; null = all real).</summary>
    public BertModelOutput forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null) =>
        forward(TrunkInput.FromTokens(inputIds, attentionMask!, tokenTypeIds));

    /// <summary>The embeddings' output, the state that layer 0 reads.</summary>
    public HiddenState Embed(TrunkInput input) => embeddings.forward(input);

    /// <summary>Runs encoder layers [<paramref name="from"/>, <paramref name="to"/>) on a state.</summary>
    public HiddenState RunLayers(HiddenState state, int from, int to) => encoder.Run(state, from, to);
}
