using MultiTaskKit.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models.Bert;

/// <summary>
/// Word + position + token-type embeddings, then LayerNorm and dropout (Hugging Face <c>BertEmbeddings</c>).
/// It is also the trunk's stem: it reads a <see cref="TrunkInput"/> and starts the <see cref="HiddenState"/> that the
/// layers pass on, with the attention mask turned to booleans once per batch so that no layer converts it again (and dropped when
/// the batch has no padding).
/// </summary>
public sealed class BertEmbeddings : nn.Module<TrunkInput, HiddenState>
{
    // Field names are the checkpoint keys (embeddings.word_embeddings.weight, ...).
    readonly Embedding word_embeddings;
    readonly Embedding position_embeddings;
    readonly Embedding token_type_embeddings;
    // Capitalised as in the original TensorFlow checkpoints, so that the key reads embeddings.LayerNorm.weight.
    readonly LayerNorm LayerNorm;
    readonly FastDropout dropout;

    public BertConfig Config { get; }

    public BertEmbeddings(BertConfig config) : base("embeddings")
    {
        Config = config.Validate();
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        position_embeddings = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = nn.Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        dropout = new FastDropout(config.HiddenDropoutProb, config.Kernels.FastDropout);
        RegisterComponents();
    }

    public override HiddenState forward(TrunkInput input)
    {
        var ids = input.InputIds ?? throw new ArgumentException("BertEmbeddings: the TrunkInput holds no InputIds; a BERT trunk reads token ids (TrunkInput.FromTokens).", nameof(input));
        if (ids.dim() != 2)
            throw new ArgumentException($"BertEmbeddings: expected input ids of shape [batch, tokens], found [{string.Join(", ", ids.shape)}].", nameof(input));
        if (ids.dtype != ScalarType.Int64 && ids.dtype != ScalarType.Int32)
            throw new ArgumentException($"BertEmbeddings: expected integer input ids (int64), found {ids.dtype}.", nameof(input));
        long batch = ids.shape[0], tokens = ids.shape[1];
        if (tokens > Config.MaxPositionEmbeddings)
            throw new ArgumentException($"BertEmbeddings: {tokens} tokens per row, but the position table has {Config.MaxPositionEmbeddings} rows (max_position_embeddings); truncate the text when tokenizing (BertTokenizer's maxLength).", nameof(input));
        if (tokens == 0)
            throw new ArgumentException("BertEmbeddings: the batch has no tokens (shape [batch, 0]); every row needs at least [CLS] and [SEP].", nameof(input));
        var mask = input.AttentionMask;
        if (mask is not null && !mask.shape.SequenceEqual(ids.shape))
            throw new ArgumentException($"BertEmbeddings: attention mask shape [{string.Join(", ", mask.shape)}] differs from input ids shape [{string.Join(", ", ids.shape)}].", nameof(input));

        using var scope = NewDisposeScope();
        var positions = arange(tokens, dtype: ScalarType.Int64, device: ids.device);
        var x = word_embeddings.forward(ids).add(position_embeddings.forward(positions), Scalars.One);
        // Segment 0 everywhere is the common case; adding the one row broadcasts instead of gathering B×T rows.
        x = input.TokenTypeIds is { } types
            ? x.add(token_type_embeddings.forward(types), Scalars.One)
            : x.add(token_type_embeddings.weight![0], Scalars.One);
        x = dropout.forward(LayerNorm.forward(x));
        // A boolean mask passes through as the caller's own tensor; anything else is converted once, here. A mask with
        // no padding in it is dropped: every layer then attends unmasked, which is the same function and lets the fused
        // attention kernel skip the mask (rows of a length-bucketed batch are often all the same length).
        var boolMask = mask is null ? null : mask.dtype == ScalarType.Bool ? mask : mask.ne(Scalars.ZeroInt64);
        if (boolMask is not null && boolMask.all().item<bool>()) boolMask = null;
        else if (boolMask is not null && !ReferenceEquals(boolMask, mask)) boolMask.MoveToOuterDisposeScope();
        return new HiddenState(x.MoveToOuterDisposeScope(), boolMask);
    }
}
