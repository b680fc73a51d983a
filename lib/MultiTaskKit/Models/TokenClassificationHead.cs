using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>Token classification: dropout + <c>Linear(features, tags)</c> on every token's vector, giving [batch, tokens,
/// tags] logits; the loss is cross-entropy over the tokens whose target is not <see cref="IgnoreIndex"/> (word pieces after
/// a word's first, [CLS], [SEP], padding). Targets are int64 [batch, tokens]. It reads the unpooled state
/// (<see cref="TaskHead.ReadsTokens"/>), so it needs a trunk that keeps tokens (BERT).</summary>
public sealed class TokenClassificationHead : TaskHead
{
    /// <summary>Targets the loss skips (PyTorch's <c>ignore_index</c> default).</summary>
    public const long IgnoreIndex = -100;

    readonly Dropout dropout;
    readonly Linear classifier;

    public int Tags { get; }

    public TokenClassificationHead(long inputSize, int tags, double dropoutRate = 0.0) : base("token_classification_head")
    {
        if (tags < 2) throw new ArgumentOutOfRangeException(nameof(tags), tags, "expected at least 2 tags");
        Tags = tags;
        dropout = nn.Dropout(dropoutRate);
        classifier = nn.Linear(inputSize, tags);
        register_module("dropout", dropout);
        register_module("classifier", classifier);
    }

    public override HeadKind Kind => HeadKind.TokenClassification;

    public override bool ReadsTokens => true;

    public override Tensor forward(Tensor tokens)
    {
        if (tokens.dim() != 3)
            throw new ArgumentException($"token classification: expected every token's vector, [batch, tokens, features], found [{string.Join(", ", tokens.shape)}]; the trunk must keep tokens (BERT, not mlp).", nameof(tokens));
        return classifier.call(dropout.call(tokens));
    }

    public override Tensor Loss(Tensor prediction, Tensor target)
    {
        if (prediction.dim() != 3 || target.dim() != 2 || prediction.shape[0] != target.shape[0] || prediction.shape[1] != target.shape[1])
            throw new ArgumentException($"token classification target: expected shape [{prediction.shape[0]}, {prediction.shape[1]}], found [{string.Join(", ", target.shape)}]", nameof(target));
        return nn.functional.cross_entropy(prediction.reshape(-1, Tags), target.reshape(-1).to_type(ScalarType.Int64), ignore_index: IgnoreIndex);
    }
}
