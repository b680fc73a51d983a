using System.Globalization;
using System.Text;
using MultiTaskKit.IO;

namespace MultiTaskKit.Evaluation;

/// <summary>One test example of one task as a run predicted it: the example's index in the task's test split, the gold
/// value and the prediction (classification: label indices; regression: the target and the predicted value).</summary>
public readonly record struct ExamplePrediction(int Index, double Gold, double Predicted);

/// <summary>
/// <c>test_predictions.csv</c> of a run folder: every test example of every task with its gold value and the run's
/// prediction, so that two runs that saw the same test examples can be compared example by example (the paired
/// bootstrap of <c>Comparison/PairedBootstrap</c>). Columns: <c>task,kind,index,gold,predicted</c>; <c>kind</c> is
/// <c>classification</c> (gold and predicted are label indices) or <c>regression</c> (real values, round-trip precision).
/// </summary>
public static class TestPredictions
{
    public const string File = "test_predictions.csv";
    const string Header = "task,kind,index,gold,predicted";

    /// <summary>One task's predictions, sorted by example index.</summary>
    public sealed record TaskPredictions(string Task, string Kind, IReadOnlyList<ExamplePrediction> Rows)
    {
        public bool IsClassification => Kind == "classification";
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
                    .Append(r.Gold.ToString("R", CultureInfo.InvariantCulture)).Append(',').Append(r.Predicted.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        AtomicFile.WriteAllText(Path.Combine(runDir, File), text.ToString());
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
            if (f.Length != 5
                || f[1] is not ("classification" or "regression")
                || !int.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var index)
                || !double.TryParse(f[3], NumberStyles.Float, CultureInfo.InvariantCulture, out var gold)
                || !double.TryParse(f[4], NumberStyles.Float, CultureInfo.InvariantCulture, out var predicted))
                throw new InvalidDataException($"{path}:{line}: expected task,classification|regression,index,gold,predicted with numbers, found '{raw}'.");
            if (!rows.TryGetValue(f[0], out var entry)) rows[f[0]] = entry = (f[1], new List<ExamplePrediction>());
            else if (entry.Kind != f[1]) throw new InvalidDataException($"{path}:{line}: task '{f[0]}' is {entry.Kind} above, found {f[1]}.");
            entry.Rows.Add(new ExamplePrediction(index, gold, predicted));
        }
        return rows.ToDictionary(kv => kv.Key, kv => new TaskPredictions(kv.Key, kv.Value.Kind, kv.Value.Rows.OrderBy(r => r.Index).ToList()));
    }
}
