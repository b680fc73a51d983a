using System.Globalization;
using System.Text;
using Microsoft.Data.Analysis;
using MultiTaskKit.IO;
using MultiTaskKit.Runtime;
using MultiTaskKit.Optim;
using MultiTaskKit.Models;
using MultiTaskKit.Data;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Runs;

/// <summary>One long-format (tidy) history row: at <see cref="Step"/>, a <see cref="Kind"/> (train or eval) value of a metric for a task.</summary>
public sealed record HistoryRow(long Step, int Epoch, string Kind, string Task, string Metric, double Value);

/// <summary>
/// The run's history in long format (step, epoch, kind, task, metric, value): training losses, task weights and gradient
/// diagnostics per step, and evaluation metrics per evaluation. Saved atomically as CSV next to each checkpoint; on
/// resume, rows after the checkpoint's step are dropped so that the resumed run writes them again exactly once.
/// </summary>
public sealed class RunHistory
{
    readonly List<HistoryRow> rows = [];

    public IReadOnlyList<HistoryRow> Rows => rows;

    public void Add(long step, int epoch, string kind, string task, string metric, double value) =>
        rows.Add(new HistoryRow(step, epoch, kind, task, metric, value));

    public const string Header = "step,epoch,kind,task,metric,value";

    public void Save(string path)
    {
        var sb = new StringBuilder(Header).Append('\n');
        foreach (var r in rows)
            sb.Append(r.Step).Append(',').Append(r.Epoch).Append(',').Append(r.Kind).Append(',').Append(Csv(r.Task)).Append(',')
              .Append(Csv(r.Metric)).Append(',').Append(r.Value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>Loads a saved history, keeping rows up to and including <paramref name="upToStep"/> when given; a missing
    /// file is an empty history.</summary>
    public static RunHistory Load(string path, long? upToStep = null)
    {
        var history = new RunHistory();
        if (!File.Exists(path)) return history;
        history.rows.AddRange(Read(path).Where(r => upToStep is null || r.Step <= upToStep));
        return history;
    }

    /// <summary>
    /// The one reader of <c>history.csv</c>: the header <see cref="Header"/>, then one row a line (fields that hold a
    /// comma or a quote in double quotes, invariant culture). A malformed line is an error naming the file and line.
    /// </summary>
    public static IReadOnlyList<HistoryRow> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"history: expected {path}, found no such file.", path);
        var result = new List<HistoryRow>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            if (lineNo++ == 0)
            {
                if (line.Trim() != Header) throw new InvalidDataException($"{path}, line 1: expected the header '{Header}', found '{line}'.");
                continue;
            }
            if (string.IsNullOrWhiteSpace(line)) continue;
            var f = SplitCsv(line);
            if (f.Count != 6
                || !long.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var step)
                || !int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var epoch)
                || !double.TryParse(f[5], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw new InvalidDataException($"{path}, line {lineNo}: expected {Header} with an integer step and epoch and a numeric value, found '{line}'.");
            result.Add(new HistoryRow(step, epoch, f[2], f[3], f[4], value));
        }
        if (lineNo == 0) throw new InvalidDataException($"{path}, line 1: expected the header '{Header}', found an empty file.");
        return result;
    }

    public DataFrame ToDataFrame() => new(
        new Int64DataFrameColumn("step", rows.Select(r => r.Step)),
        new Int32DataFrameColumn("epoch", rows.Select(r => r.Epoch)),
        new StringDataFrameColumn("kind", rows.Select(r => r.Kind)),
        new StringDataFrameColumn("task", rows.Select(r => r.Task)),
        new StringDataFrameColumn("metric", rows.Select(r => r.Metric)),
        new DoubleDataFrameColumn("value", rows.Select(r => r.Value)));

    static string Csv(string s) => s.IndexOfAny([',', '"', '\n']) >= 0 ? $"\"{s.Replace("\"", "\"\"")}\"" : s;

    static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else sb.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(c);
        }
        fields.Add(sb.ToString());
        return fields;
    }
}
