using System.Globalization;

namespace MultiTaskKit.Data;

/// <summary>How to read a token task from a CoNLL-style column file.</summary>
public sealed record ConllTaskOptions
{
    /// <summary>The names of the whitespace-separated fields of a line, in order (CoNLL-2003: token, pos, chunk, ner).</summary>
    public required IReadOnlyList<string> Columns { get; init; }

    /// <summary>The field that holds the word.</summary>
    public required string TextColumn { get; init; }

    /// <summary>The field that holds the task's tag.</summary>
    public required string LabelColumn { get; init; }

    /// <summary>Tag names in index order (null: the tags found, sorted ordinally).</summary>
    public IReadOnlyList<string>? LabelNames { get; init; }
}

/// <summary>
/// CoNLL-style column files: one token a line, its fields separated by spaces or tabs, a blank line between sentences;
/// <c>-DOCSTART-</c> lines (document breaks) are skipped. Every line must have as many fields as
/// <see cref="ConllTaskOptions.Columns"/> names; a problem names the file and line. Tags are kept as written, so IOB1
/// and IOB2 files both read (the metrics read both).
/// </summary>
public static class ConllReader
{
    /// <summary>The file's sentences: per sentence, its first line and each token's fields.</summary>
    public static IReadOnlyList<(long Line, IReadOnlyList<string[]> Tokens)> ReadSentences(string path, int fields)
    {
        var lines = DelimitedText.ReadLines(path);
        var sentences = new List<(long, IReadOnlyList<string[]>)>();
        var current = new List<string[]>();
        long start = 0;
        for (int i = 0; i < lines.Count; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith("-DOCSTART-", StringComparison.Ordinal))
            {
                if (current.Count > 0) { sentences.Add((start, current)); current = []; }
                continue;
            }
            var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != fields)
                throw new InvalidDataException($"{path}, line {i + 1}: expected {fields} space-separated fields (token and tags), found {f.Length}.");
            if (current.Count == 0) start = i + 1;
            current.Add(f);
        }
        if (current.Count > 0) sentences.Add((start, current));
        if (sentences.Count == 0) throw new InvalidDataException($"{path}: expected sentences (one token a line, a blank line between sentences), found none.");
        return sentences;
    }

    /// <summary>Reads one tag column of <paramref name="path"/> as a token-classification dataset.</summary>
    public static TextDataset Read(string path, ConllTaskOptions options, string split = "all", string? datasetName = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"CoNLL task: expected a column file at '{path}', found no such file.", path);
        int Column(string name, string role)
        {
            int i = options.Columns.ToList().IndexOf(name);
            return i >= 0 ? i : throw new InvalidDataException($"{path}: the {role} column '{name}' is not one of the configured columns ({string.Join(", ", options.Columns)}).");
        }
        int word = Column(options.TextColumn, "text"), tag = Column(options.LabelColumn, "label");
        var sentences = ReadSentences(path, options.Columns.Count);
        var rows = sentences.Select((s, i) =>
        {
            var words = s.Tokens.Select(t => t[word]).ToArray();
            var example = new TextExample((i + 1).ToString(CultureInfo.InvariantCulture), string.Join(' ', words)) { Words = words };
            return (example, (IReadOnlyList<string>)s.Tokens.Select(t => t[tag]).ToArray(), $"{path}, line {s.Line}");
        }).ToList();
        var (names, examples) = TokenClassificationKind.LabelWords(rows, new LabelOptions(path, options.LabelColumn, options.LabelNames));
        return new TextDataset(datasetName ?? Path.GetFileNameWithoutExtension(path), split, TaskKinds.Get("token_classification"), names, examples, path);
    }
}
