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
    public static DelimitedTable LoadTable(string path, char? separator = null, bool? quotes = null)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"CSV task: expected a delimited file with a header at '{path}', found a folder.");
        if (!File.Exists(path)) throw new FileNotFoundException($"CSV task: expected a delimited file with a header at '{path}', found no such file.", path);
        var sep = separator ?? DefaultSeparator(path);
        return DelimitedText.Read(path, sep, quotes ?? sep != '\t');
    }

    public static char DefaultSeparator(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".tsv" or ".tab" ? '\t' : ',';

    /// <summary>Reads <paramref name="path"/> as one dataset; <paramref name="split"/> names it.</summary>
    public static TextDataset Read(string path, CsvTaskOptions options, string split = "all", string? datasetName = null)
    {
        var table = LoadTable(path, options.Separator, options.Quotes);
        var names = table.Header;
        int Column(string name, string role) =>
            names.Contains(name)
                ? names.ToList().IndexOf(name)
                : throw new InvalidDataException($"{path}: the {role} column '{name}' does not exist; found columns: {string.Join(", ", names.Select(n => $"'{n}'"))}.");
        var text = Column(options.TextColumn, "text");
        var label = Column(options.LabelColumn, options.Kind == TaskKind.Regression ? "target" : "label");
        int? id = options.IdColumn is { } idName ? Column(idName, "id") : null;
        if (table.Rows.Count == 0) throw new InvalidDataException($"{path}: expected at least one data row after the header, found none.");

        string Where(DelimitedRow row) => $"{path}, line {row.Line}";
        var raw = new List<(string Id, string Text, string Value, DelimitedRow Row)>();
        for (int r = 0; r < table.Rows.Count; r++)
        {
            var row = table.Rows[r];
            var t = row.Fields[text];
            if (string.IsNullOrWhiteSpace(t)) throw new InvalidDataException($"{Where(row)}: expected text in column '{options.TextColumn}', found an empty field.");
            var v = row.Fields[label].Trim();
            if (v.Length == 0 && !options.AllowMissing)
                throw new InvalidDataException($"{Where(row)}: expected a value in column '{options.LabelColumn}', found an empty field (a blank means 'no label' only for tasks that share one input: training.shared_input).");
            raw.Add((id is { } i ? row.Fields[i] : (r + 1).ToString(CultureInfo.InvariantCulture), TextNormalizer.Apply(options.Normalizer, t), v, row));
        }

        var dataset = datasetName ?? Path.GetFileNameWithoutExtension(path);
        if (options.Kind == TaskKind.Regression)
        {
            var examples = raw.Select(x =>
                x.Value.Length == 0 ? new TextExample(x.Id, x.Text) :
                float.TryParse(x.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var y) && float.IsFinite(y)
                    ? new TextExample(x.Id, x.Text, Target: y)
                    : throw new InvalidDataException($"{Where(x.Row)}: expected a finite numeric target in column '{options.LabelColumn}', found '{x.Value}'.")).ToList();
            return new TextDataset(dataset, split, TaskKind.Regression, [], examples, path);
        }

        // Numeric labels are compared as numbers when every label is a number: "2" and "2.0" are one class, not two.
        var labelled = raw.Where(x => x.Value.Length > 0).ToList();
        if (labelled.Count == 0) throw new InvalidDataException($"{path}: column '{options.LabelColumn}' holds no label at all; expected at least one labelled row.");
        bool numeric = labelled.All(x => IsNumber(x.Value)) && (options.LabelNames?.All(IsNumber) ?? true);
        string Canon(string v) => numeric ? CanonicalNumber(v) : v;
        var labelNames = (options.LabelNames ?? InferLabelNames(labelled.Select(x => Canon(x.Value)))).Select(Canon).ToList();
        if (options.LabelNames is null && labelNames.Count < 2)
            throw new InvalidDataException($"{path}: task '{dataset}': column '{options.LabelColumn}' holds a single class ('{labelNames[0]}'); a classification task needs at least two classes (or list them in 'labels').");
        var index = labelNames.Select((n, i) => (n, i)).ToDictionary(t => t.n, t => t.i, StringComparer.Ordinal);
        var rows = raw.Select(x =>
            x.Value.Length == 0 ? new TextExample(x.Id, x.Text) :
            index.TryGetValue(Canon(x.Value), out var l)
                ? new TextExample(x.Id, x.Text, l)
                : throw new InvalidDataException($"{Where(x.Row)}: label '{x.Value}' in column '{options.LabelColumn}' is not one of the configured labels ({string.Join(", ", labelNames)}).")).ToList();
        return new TextDataset(dataset, split, TaskKind.Classification, labelNames, rows, path);
    }

    static bool IsNumber(string v) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d);

    /// <summary>One spelling per number: integers as integers ("2.0" → "2"), others in their shortest round-trip form.</summary>
    static string CanonicalNumber(string v)
    {
        var d = double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture);
        return d == Math.Floor(d) && Math.Abs(d) < 1e15
            ? ((long)d).ToString(CultureInfo.InvariantCulture)
            : d.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>Numbers sorted numerically when every label is a number, else names sorted ordinally.</summary>
    public static IReadOnlyList<string> InferLabelNames(IEnumerable<string> values)
    {
        var distinct = values.Distinct(StringComparer.Ordinal).ToList();
        if (distinct.All(IsNumber))
            return distinct.OrderBy(v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture)).ToList();
        return distinct.OrderBy(v => v, StringComparer.Ordinal).ToList();
    }
}
