namespace MultiTaskKit.Data;

/// <summary>A task as the model sees it: name, kind and its label names (classes, labels or tags; none for regression).</summary>
public sealed record TaskSignature(string Name, TaskKind Kind, IReadOnlyList<string> LabelNames)
{
    /// <summary>The head's outputs per row (per token for token kinds).</summary>
    public int Outputs => Kind.Outputs(this);

    /// <summary>Multi-label: the probability at which a label is predicted (default 0.5).</summary>
    public double Threshold { get; init; } = 0.5;
}
