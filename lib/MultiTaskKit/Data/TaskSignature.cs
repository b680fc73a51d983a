namespace MultiTaskKit.Data;

/// <summary>A task as the model sees it: name, kind and (classification) its label names.</summary>
public sealed record TaskSignature(string Name, TaskKind Kind, IReadOnlyList<string> LabelNames)
{
    public int Outputs => Kind == TaskKind.Classification ? LabelNames.Count : 1;
}
