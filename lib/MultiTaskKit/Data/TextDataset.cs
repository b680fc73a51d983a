namespace MultiTaskKit.Data;

/// <summary>
/// One example of a text task, as a reader found it: the text (or a pair, or pre-split words) and the label cells its
/// task's <see cref="TaskKind"/> reads. Classification examples carry <see cref="Label"/> (an index into the dataset's
/// label names), regression examples <see cref="Target"/>, multi-label and token examples <see cref="Labels"/>; what a
/// kind does not read stays at its default (-1, NaN, null).
/// </summary>
public sealed record TextExample(string Id, string Text, int Label = -1, float Target = float.NaN)
{
    /// <summary>Side information some datasets carry (IMDB: the 1-10 star rating from the file name).</summary>
    public int? Rating { get; init; }

    /// <summary>The second text of a sentence pair (null: one text).</summary>
    public string? Pair { get; init; }

    /// <summary>Pre-split words (token tasks; <see cref="Text"/> is them joined by spaces), or null.</summary>
    public IReadOnlyList<string>? Words { get; init; }

    /// <summary>Label indices: the labels that apply (multi-label) or one tag per word (token classification); null: none.</summary>
    public IReadOnlyList<int>? Labels { get; init; }
}

/// <summary>An ordered, read-only set of examples of one task and split, with where it came from.</summary>
public sealed record TextDataset(
    string Dataset,
    string Split,
    TaskKind Kind,
    IReadOnlyList<string> LabelNames,
    IReadOnlyList<TextExample> Examples,
    string Source)
{
    public int Count => Examples.Count;

    /// <summary>The same dataset holding only <paramref name="examples"/>, under the split name <paramref name="split"/>.</summary>
    public TextDataset With(string split, IReadOnlyList<TextExample> examples) => this with { Split = split, Examples = examples };

    public override string ToString() => $"{Dataset}/{Split}: {Count} examples ({Kind})";
}

/// <summary>
/// A task's three splits. <see cref="Note"/> says how they were made when they are not the upstream ones
/// (for example a validation split carved from train), so that every reported figure can say so.
/// </summary>
public sealed record TaskSplits(TextDataset Train, TextDataset Validation, TextDataset Test, string? Note = null)
{
    public TaskKind Kind => Train.Kind;
    public IReadOnlyList<string> LabelNames => Train.LabelNames;
    public string Dataset => Train.Dataset;

    public TextDataset this[string split] => split.ToLowerInvariant() switch
    {
        "train" => Train,
        "val" or "validation" or "dev" => Validation,
        "test" => Test,
        _ => throw new ArgumentException($"split: expected train, val or test, found '{split}'.", nameof(split)),
    };
}
