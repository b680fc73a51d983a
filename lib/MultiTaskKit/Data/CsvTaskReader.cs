using System.Globalization;
using Microsoft.Data.Analysis;

namespace MultiTaskKit.Data;

/// <summary>How to read a task from a delimited file: which columns hold the text and the label or target.</summary>
public sealed record CsvTaskOptions
{
    /// <summary>The column with the input text.</summary>
    public required string TextColumn { get; init; }

    /// <summary>The column with the class label (classification) or the real-valued target (regression).</summary>
    public required string LabelColumn { get; init; }

    public TaskKind Kind { get; init; } = TaskKind.Classification;

    /// <summary>Field separator; null picks tab for <c>.tsv</c>/<c>.tab</c> files and comma otherwise.</summary>
    public char? Separator { get; init; }

    /// <summary>
    /// Class names in label-index order. When null, the labels found are used: integers sorted numerically when every
    /// label is an integer, else names sorted ordinally. Give them explicitly when a split may miss a class.
    /// </summary>
    public IReadOnlyList<string>? LabelNames { get; init; }

    /// <summary>Optional id column; row numbers are used when absent.</summary>
    public string? IdColumn { get; init; }

    /// <summary>Text normaliser applied to every row (see <see cref="TextNormalizer"/>).</summary>
    public string? Normalizer { get; init; }
}

/// <summary>
/// Any task from a CSV or TSV file with a header, read through Microsoft.Data.Analysis's <see cref="DataFrame"/>.
/// Every column is read as text (no type guessing), so a bad value in a target column is reported with its line
/// rather than silently turned into a null.
/// </summary>
public static class CsvTaskReader
{
    /// <summary>Loads the whole file as a string-typed DataFrame.</summary>
    public static DataFrame LoadFrame(string path, char? separator = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"CSV task: expected a delimited file with a header at '{path}', found no such file.", path);
        var sep = separator ?? DefaultSeparator(path);
        using var stream = File.OpenRead(path);
        try
        {
            return DataFrame.LoadCsv(stream, separator: sep, header: true, guessTypeFunction: _ => typeof(string), cultureInfo: CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is FormatException or IndexOutOfRangeException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: could not parse as '{(sep == '\t' ? "\\t" : sep.ToString())}'-separated text with a header ({e.Message}).", e);
        }
    }

    public static char DefaultSeparator(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".tsv" or ".tab" ? '\t' : ',';

    /// <summary>Reads <paramref name="path"/> as one dataset; <paramref name="split"/> names it.</summary>
    public static TextDataset Read(string path, CsvTaskOptions options, string split = "all", string? datasetName = null)
    {
        var frame = LoadFrame(path, options.Separator);
        var names = frame.Columns.Select(c => c.Name).ToList();
        DataFrameColumn Column(string name, string role) =>
            names.Contains(name)
                ? frame.Columns[name]
                : throw new InvalidDataException($"{path}: the {role} column '{name}' does not exist; found columns: {string.Join(", ", names.Select(n => $"'{n}'"))}.");
        var text = Column(options.TextColumn, "text");
        var label = Column(options.LabelColumn, options.Kind == TaskKind.Regression ? "target" : "label");
        var id = options.IdColumn is { } idName ? Column(idName, "id") : null;
        if (frame.Rows.Count == 0) throw new InvalidDataException($"{path}: expected at least one data row after the header, found none.");

        // Line numbers count the header as line 1 (quoted fields spanning lines would shift them; then the row number still holds).
        string Where(long row) => $"{path}, line {row + 2} (data row {row + 1})";
        var raw = new List<(string Id, string Text, string Value, long Row)>();
        for (long r = 0; r < frame.Rows.Count; r++)
        {
            var t = text[r]?.ToString();
            if (string.IsNullOrWhiteSpace(t)) throw new InvalidDataException($"{Where(r)}: expected text in column '{options.TextColumn}', found an empty field.");
            var v = label[r]?.ToString()?.Trim();
            if (string.IsNullOrEmpty(v)) throw new InvalidDataException($"{Where(r)}: expected a value in column '{options.LabelColumn}', found an empty field.");
            raw.Add((id?[r]?.ToString() ?? (r + 1).ToString(CultureInfo.InvariantCulture), TextNormalizer.Apply(options.Normalizer, t), v, r));
        }

        var dataset = datasetName ?? Path.GetFileNameWithoutExtension(path);
        if (options.Kind == TaskKind.Regression)
        {
            var examples = raw.Select(x =>
                float.TryParse(x.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var y) && float.IsFinite(y)
                    ? new TextExample(x.Id, x.Text, Target: y)
                    : throw new InvalidDataException($"{Where(x.Row)}: expected a numeric target in column '{options.LabelColumn}', found '{x.Value}'.")).ToList();
            return new TextDataset(dataset, split, TaskKind.Regression, [], examples, path);
        }

        var labelNames = options.LabelNames ?? InferLabelNames(raw.Select(x => x.Value));
        var index = labelNames.Select((n, i) => (n, i)).ToDictionary(t => t.n, t => t.i, StringComparer.Ordinal);
        var rows = raw.Select(x =>
            index.TryGetValue(x.Value, out var l)
                ? new TextExample(x.Id, x.Text, l)
                : throw new InvalidDataException($"{Where(x.Row)}: label '{x.Value}' in column '{options.LabelColumn}' is not one of the configured labels ({string.Join(", ", labelNames)}).")).ToList();
        return new TextDataset(dataset, split, TaskKind.Classification, labelNames, rows, path);
    }

    /// <summary>Integers sorted numerically when every label is an integer, else names sorted ordinally.</summary>
    public static IReadOnlyList<string> InferLabelNames(IEnumerable<string> values)
    {
        var distinct = values.Distinct(StringComparer.Ordinal).ToList();
        if (distinct.All(v => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
            return distinct.OrderBy(v => long.Parse(v, CultureInfo.InvariantCulture)).ToList();
        return distinct.OrderBy(v => v, StringComparer.Ordinal).ToList();
    }
}
