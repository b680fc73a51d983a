using System.Globalization;
using Microsoft.Data.Analysis;

namespace MultiTaskKit.Data;

/// <summary>How to read a task from a delimited file: which columns hold the text and the label or target.</summary>
public sealed record CsvTaskOptions
{
    /// <summary>The column with the input text.</summary>
    public required string TextColumn { get; init; }

    /// <summary>The column with the second text of a sentence pair (null: one text per row).</summary>
    public string? PairColumn { get; init; }

    /// <summary>The column with the label as the task's kind reads it: a class, a real-valued target, delimited labels.</summary>
    public required string LabelColumn { get; init; }

    public TaskKind Kind { get; init; } = TaskKind.Classification;

    /// <summary>The names of the file's columns when it has no header row (STS-B's CSV); null: the first line is the header.</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>With <see cref="SplitValue"/>: the column that says which split a row belongs to (SICK's <c>SemEval_set</c>);
    /// rows with another value are left out.</summary>
    public string? SplitColumn { get; init; }

    /// <summary>The value of <see cref="SplitColumn"/> whose rows are read (e.g. <c>TRAIN</c>).</summary>
    public string? SplitValue { get; init; }

    /// <summary>Multi-label: what separates the labels in one cell.</summary>
    public string LabelDelimiter { get; init; } = ",";

    /// <summary>Field separator; null picks tab for <c>.tsv</c>/<c>.tab</c> files and comma otherwise.</summary>
    public char? Separator { get; init; }

    /// <summary>
    /// Class names in label-index order. When null, the labels found are used: numbers sorted numerically when every
    /// label is a number, else names sorted ordinally. Give them explicitly when a split may miss a class.
    /// </summary>
    public IReadOnlyList<string>? LabelNames { get; init; }

    /// <summary>Optional id column; row numbers are used when absent.</summary>
    public string? IdColumn { get; init; }

    /// <summary>Text normaliser applied to every row (see <see cref="TextNormalizer"/>).</summary>
    public string? Normalizer { get; init; }

    /// <summary>Whether double quotes enclose fields; null: yes for comma-separated files, no for tab-separated ones.</summary>
    public bool? Quotes { get; init; }

    /// <summary>
    /// A blank label or target means "this row has no label for this task" (several tasks labelling one shared input,
    /// each row labelled for some of them): the row is kept with a label of -1 and a NaN target. When false (a task of
    /// its own) a blank is an error naming its line.
    /// </summary>
    public bool AllowMissing { get; init; }
}

/// <summary>
/// Any task from a CSV or TSV file with a header, read strictly by <see cref="DelimitedText"/>: UTF-8 only, one row per
/// line, every row as wide as the header, each problem reported with its file and line. Every column is read as text
/// (no type guessing), so a bad value in a target column is reported with its line rather than silently turned into a null.
/// </summary>
public static class CsvTaskReader
{
    /// <summary>Loads the whole file as a string-typed DataFrame.</summary>
    public static DataFrame LoadFrame(string path, char? separator = null, bool? quotes = null)
    {
        var table = LoadTable(path, separator, quotes);
        var frame = new DataFrame();
        for (int c = 0; c < table.Header.Count; c++)
            frame.Columns.Add(new StringDataFrameColumn(table.Header[c], table.Rows.Select(r => r.Fields[c])));
        return frame;
    }

    /// <summary>Reads the file strictly (see <see cref="DelimitedText"/>); quotes default to on for CSV, off for TSV.</summary>
    public static DelimitedTable LoadTable(string path, char? separator = null, bool? quotes = null, IReadOnlyList<string>? columns = null)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"CSV task: expected a delimited file {(columns is null ? "with a header " : "")}at '{path}', found a folder.");
        if (!File.Exists(path)) throw new FileNotFoundException($"CSV task: expected a delimited file {(columns is null ? "with a header " : "")}at '{path}', found no such file.", path);
        var sep = separator ?? DefaultSeparator(path);
        return DelimitedText.Read(path, sep, quotes ?? sep != '\t', columns);
    }

    public static char DefaultSeparator(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".tsv" or ".tab" ? '\t' : ',';

    /// <summary>Reads <paramref name="path"/> as one dataset; <paramref name="split"/> names it.</summary>
    public static TextDataset Read(string path, CsvTaskOptions options, string split = "all", string? datasetName = null)
    {
        var table = LoadTable(path, options.Separator, options.Quotes, options.Columns);
        var names = table.Header;
        int Column(string name, string role) =>
            names.Contains(name)
                ? names.ToList().IndexOf(name)
                : throw new InvalidDataException($"{path}: the {role} column '{name}' does not exist; found columns: {string.Join(", ", names.Select(n => $"'{n}'"))}.");
        var text = Column(options.TextColumn, "text");
        int? pair = options.PairColumn is { } pairName ? Column(pairName, "pair") : null;
        var label = Column(options.LabelColumn, "label");
        int? id = options.IdColumn is { } idName ? Column(idName, "id") : null;
        int? splitColumn = options.SplitColumn is { } splitName ? Column(splitName, "split") : null;
        if (splitColumn is not null && options.SplitValue is null) throw new ArgumentException("SplitValue: expected the split column's value for this split, found none.", nameof(options));
        var kept = table.Rows.Where(r => splitColumn is not { } sc || r.Fields[sc].Trim() == options.SplitValue).ToList();
        if (kept.Count == 0)
            throw new InvalidDataException(table.Rows.Count == 0
                ? $"{path}: expected at least one data row{(options.Columns is null ? " after the header" : "")}, found none."
                : $"{path}: no row has '{options.SplitValue}' in column '{options.SplitColumn}'; expected the {split} split's rows.");

        string Where(DelimitedRow row) => $"{path}, line {row.Line}";
        var cells = new List<(TextExample Example, string Cell, string Where)>();
        for (int r = 0; r < kept.Count; r++)
        {
            var row = kept[r];
            var t = row.Fields[text];
            if (string.IsNullOrWhiteSpace(t)) throw new InvalidDataException($"{Where(row)}: expected text in column '{options.TextColumn}', found an empty field.");
            string? second = null;
            if (pair is { } p)
            {
                second = row.Fields[p];
                if (string.IsNullOrWhiteSpace(second)) throw new InvalidDataException($"{Where(row)}: expected text in the pair column '{options.PairColumn}', found an empty field.");
                second = TextNormalizer.Apply(options.Normalizer, second);
            }
            var v = row.Fields[label].Trim();
            if (v.Length == 0 && !options.AllowMissing)
                throw new InvalidDataException($"{Where(row)}: expected a value in column '{options.LabelColumn}', found an empty field (a blank means 'no label' only for tasks that share one input: training.shared_input).");
            var rowId = id is { } i ? row.Fields[i] : (splitColumn is null ? r + 1 : row.Line).ToString(CultureInfo.InvariantCulture);
            cells.Add((new TextExample(rowId, TextNormalizer.Apply(options.Normalizer, t)) { Pair = second }, v, Where(row)));
        }

        var dataset = datasetName ?? Path.GetFileNameWithoutExtension(path);
        var (labelNames, examples) = options.Kind.Label(cells, new LabelOptions(path, options.LabelColumn, options.LabelNames, options.LabelDelimiter) { Task = dataset });
        return new TextDataset(dataset, split, options.Kind, labelNames, examples, path);
    }

    internal static bool IsNumber(string v) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d);

    /// <summary>Numbers sorted numerically when every label is a number, else names sorted ordinally.</summary>
    public static IReadOnlyList<string> InferLabelNames(IEnumerable<string> values)
    {
        var distinct = values.Distinct(StringComparer.Ordinal).ToList();
        if (distinct.All(IsNumber))
            return distinct.OrderBy(v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture)).ToList();
        return distinct.OrderBy(v => v, StringComparer.Ordinal).ToList();
    }
}
