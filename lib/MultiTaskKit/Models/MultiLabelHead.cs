using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>Multi-label classification: <c>Linear(features, labels)</c> giving one logit per label; loss is binary
/// cross-entropy on the logits, with optional per-label positive weights. Targets are 0/1, [batch, labels].</summary>
public sealed class MultiLabelHead : TaskHead
{
    readonly Dropout dropout;
    readonly Linear classifier;
    Tensor? PositiveWeights => has_buffer("positive_weights") ? get_buffer("positive_weights") : null;

    public int Labels { get; }

    public MultiLabelHead(long inputSize, int labels, IReadOnlyList<float>? positiveWeights = null, double dropoutRate = 0.0) : base("multilabel_head")
    {
        if (labels < 1) throw new ArgumentOutOfRangeException(nameof(labels), labels, "expected at least 1 label");
        Labels = labels;
        dropout = nn.Dropout(dropoutRate);
        classifier = nn.Linear(inputSize, labels);
        register_module("dropout", dropout);
        register_module("classifier", classifier);
        if (positiveWeights is not null)
        {
            if (positiveWeights.Count != labels)
                throw new ArgumentException($"positiveWeights: expected {labels} weights (one per label), found {positiveWeights.Count}", nameof(positiveWeights));
            register_buffer("positive_weights", tensor(positiveWeights.ToArray()));
        }
    }

    public override HeadKind Kind => HeadKind.MultiLabel;

    public override Tensor forward(Tensor pooled) => classifier.call(dropout.call(pooled));

    public override Tensor Loss(Tensor prediction, Tensor target) =>
        nn.functional.binary_cross_entropy_with_logits(prediction, target.to_type(prediction.dtype), pos_weights: PositiveWeights);
}
