using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>Options of <see cref="ClassificationHead"/>.</summary>
/// <param name="ClassWeights">Per-class weights of the cross-entropy (length = classes), e.g. inverse frequencies; null = equal.</param>
/// <param name="LabelSmoothing">Label smoothing ε in [0, 1) (Szegedy et al. 2016); 0 = none.</param>
/// <param name="Dropout">Dropout on the pooled vector before the linear layer.</param>
public sealed record ClassificationHeadOptions(IReadOnlyList<float>? ClassWeights = null, double LabelSmoothing = 0.0, double Dropout = 0.0);

/// <summary>Single-label classification: dropout + <c>Linear(features, classes)</c> giving logits; loss is cross-entropy
/// with optional class weights and label smoothing. Targets are class indices (int64, [batch]).</summary>
public sealed class ClassificationHead : TaskHead
{
    readonly Dropout dropout;
    readonly Linear classifier;
    // looked up by name at use: Module.to() re-registers moved buffers, leaving a cached field behind
    Tensor? ClassWeights => has_buffer("class_weights") ? get_buffer("class_weights") : null;

    public int Classes { get; }
    public ClassificationHeadOptions Options { get; }

    public ClassificationHead(long inputSize, int classes, ClassificationHeadOptions? options = null) : base("classification_head")
    {
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "expected at least 2 classes");
        Options = options ?? new();
        if (Options.LabelSmoothing is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(options), Options.LabelSmoothing, "LabelSmoothing: expected a value in [0, 1)");
        Classes = classes;
        dropout = nn.Dropout(Options.Dropout);
        classifier = nn.Linear(inputSize, classes);
        register_module("dropout", dropout);
        register_module("classifier", classifier);
        if (Options.ClassWeights is { } w)
        {
            if (w.Count != classes)
                throw new ArgumentException($"ClassWeights: expected {classes} weights (one per class), found {w.Count}", nameof(options));
            if (w.Any(x => !float.IsFinite(x) || x < 0))
                throw new ArgumentException($"ClassWeights: expected finite non-negative weights, found [{string.Join(", ", w)}]", nameof(options));
            register_buffer("class_weights", tensor(w.ToArray()));
        }
    }

    public override HeadKind Kind => HeadKind.Classification;

    public override Tensor forward(Tensor pooled) => classifier.call(dropout.call(pooled));

    public override Tensor Loss(Tensor prediction, Tensor target) =>
        nn.functional.cross_entropy(prediction, target.to_type(ScalarType.Int64), weight: ClassWeights, label_smoothing: Options.LabelSmoothing);
}
