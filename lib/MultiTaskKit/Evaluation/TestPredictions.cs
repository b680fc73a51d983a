using System.Globalization;
using System.Text;
using MultiTaskKit.IO;

namespace MultiTaskKit.Evaluation;

/// <summary>One test example of one task as a run predicted it: the example's index in the task's test split, the gold
/// value and the prediction. Scalar kinds fill <see cref="Gold"/> and <see cref="Predicted"/> (classification: label
/// indices; regression: the target and the predicted value; NaN for an example without a label). Kinds whose label is a
/// list fill <see cref="GoldIndices"/> and <see cref="PredictedIndices"/> instead (multi-label: the indices of the labels
/// that apply, ascending; token classification: one tag index per word, in word order) and leave the scalars NaN.</summary>
public readonly record struct ExamplePrediction(int Index, double Gold, double Predicted)
{
    public IReadOnlyList<int>? GoldIndices { get; init; }
    public IReadOnlyList<int>? PredictedIndices { get; init; }

    /// <summary>Whether the row holds index lists rather than scalars.</summary>
    public bool IsList => GoldIndices is not null || PredictedIndices is not null;

    /// <summary>A row of a list kind (an unlabelled example: <paramref name="gold"/> null, written as an empty list).</summary>
    public static ExamplePrediction Lists(int index, IReadOnlyList<int>? gold, IReadOnlyList<int> predicted) =>
        new(index, double.NaN, double.NaN) { GoldIndices = gold ?? [], PredictedIndices = predicted };
}

/// <summary>
/// <c>test_predictions.csv</c> of a run folder: every test example of every task with its gold value and the run's
/// prediction, so that two runs that saw the same test examples can be compared example by example (the paired
/// bootstrap of <c>Comparison/PairedBootstrap</c>). Columns: <c>task,kind,index,gold,predicted</c>; <c>kind</c> is the
/// task's kind name. A scalar cell is a number: for <c>classification</c> a label index, for <c>regression</c> a real value
/// (round-trip precision). A list cell is written in brackets, space-separated label indices (<c>[0 3]</c>, <c>[]</c>):
/// for <c>multi_label</c> the labels that apply (predicted: probability at least the task's threshold), for
/// <c>token_classification</c> one tag per word (predicted: the arg-max tag of the word's first piece; a word cut by the
/// token budget is predicted "O"). The indices refer to the label names in the run's <c>tasks.json</c>. The paired
/// bootstrap reads scalar rows only; list rows are recorded for inspection and other tools.
/// </summary>
public static class TestPredictions
{
    public const string File = "test_predictions.csv";
    const string Header = "task,kind,index,gold,predicted";

    /// <summary>One task's predictions, sorted by example index.</summary>
    public sealed record TaskPredictions(string Task, string Kind, IReadOnlyList<ExamplePrediction> Rows)
    {
        public bool IsClassification => Kind == "classification";
        /// <summary>Whether every row holds scalars (what the paired bootstrap reads).</summary>
        public bool IsScalar => Rows.All(r => !r.IsList);
        public double[] Gold => Rows.Select(r => r.Gold).ToArray();
        public double[] Predicted => Rows.Select(r => r.Predicted).ToArray();
    }

    /// <summary>Writes the file atomically into <paramref name="runDir"/>; rows of each task in index order.</summary>
    public static void Write(string runDir, IEnumerable<TaskPredictions> tasks)
    {
        var text = new StringBuilder(Header).Append('\n');
        foreach (var t in tasks)
        {
            if (t.Task.Contains(',') || t.Task.Contains('\n')) throw new ArgumentException($"task name '{t.Task}': expected no comma or line break in a predictions file", nameof(tasks));
            foreach (var r in t.Rows.OrderBy(r => r.Index))
                text.Append(t.Task).Append(',').Append(t.Kind).Append(',').Append(r.Index.ToString(CultureInfo.InvariantCulture)).Append(',')
                    .Append(r.IsList ? List(r.GoldIndices) : Number(r.Gold)).Append(',').Append(r.IsList ? List(r.PredictedIndices) : Number(r.Predicted)).Append('\n');
        }
        AtomicFile.WriteAllText(Path.Combine(runDir, File), text.ToString());
    }

    static string Number(double x) => x.ToString("R", CultureInfo.InvariantCulture);
    static string List(IReadOnlyList<int>? x) => "[" + string.Join(' ', (x ?? []).Select(i => i.ToString(CultureInfo.InvariantCulture))) + "]";

    static bool TryList(string cell, out int[] indices)
    {
        indices = [];
        if (cell.Length < 2 || cell[0] != '[' || cell[^1] != ']') return false;
        var parts = cell[1..^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i])) return false;
        indices = result;
        return true;
    }

    /// <summary>Reads a run folder's predictions, task → predictions; a malformed line is named by file and line number.</summary>
    public static IReadOnlyDictionary<string, TaskPredictions> Read(string runDir)
    {
        var path = Path.Combine(runDir, File);
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"{path}: expected the run's test predictions, found no such file (runs written before the kit recorded them have none).", path);
        var rows = new Dictionary<string, (string Kind, List<ExamplePrediction> Rows)>();
        int line = 0;
        foreach (var raw in System.IO.File.ReadLines(path))
        {
            line++;
            if (line == 1)
            {
                if (raw.TrimEnd('\r') != Header) throw new InvalidDataException($"{path}:1: expected the header '{Header}', found '{raw}'.");
                continue;
            }
            if (raw.Length == 0) continue;
            var f = raw.TrimEnd('\r').Split(',');
            const string expected = "task,kind,index,gold,predicted: a kind name, an index, and gold and predicted both numbers or both bracketed index lists";
            if (f.Length != 5 || f[1].Length == 0 || !f[1].All(c => char.IsAsciiLetterLower(c) || c == '_')
                || !int.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var index))
                throw new InvalidDataException($"{path}:{line}: expected {expected}, found '{raw}'.");
            ExamplePrediction row;
            if (TryList(f[3], out var goldList) && TryList(f[4], out var predictedList))
                row = ExamplePrediction.Lists(index, goldList, predictedList);
            else if (double.TryParse(f[3], NumberStyles.Float, CultureInfo.InvariantCulture, out var gold)
                && double.TryParse(f[4], NumberStyles.Float, CultureInfo.InvariantCulture, out var predicted))
                row = new ExamplePrediction(index, gold, predicted);
            else throw new InvalidDataException($"{path}:{line}: expected {expected}, found '{raw}'.");
            if (!rows.TryGetValue(f[0], out var entry)) rows[f[0]] = entry = (f[1], new List<ExamplePrediction>());
            else if (entry.Kind != f[1]) throw new InvalidDataException($"{path}:{line}: task '{f[0]}' is {entry.Kind} above, found {f[1]}.");
            else if (entry.Rows[0].IsList != row.IsList) throw new InvalidDataException($"{path}:{line}: task '{f[0]}' has {(entry.Rows[0].IsList ? "index lists" : "numbers")} above, found '{raw}'.");
            entry.Rows.Add(row);
        }
        return rows.ToDictionary(kv => kv.Key, kv => new TaskPredictions(kv.Key, kv.Value.Kind, kv.Value.Rows.OrderBy(r => r.Index).ToList()));
    }
}
