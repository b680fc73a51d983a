using System.Globalization;
using System.Text;
using MultiTaskKit.IO;

namespace MultiTaskKit.Charts;

/// <summary>Reads and writes <c>history.csv</c>: header <c>step,epoch,kind,task,metric,value</c>, invariant culture.</summary>
public static class HistoryCsv
{
    public const string Header = "step,epoch,kind,task,metric,value";

    /// <summary>Reads a history file; a malformed line gives an error naming the file and line.</summary>
    public static List<HistoryPoint> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"history: expected {path}, found no such file.", path);
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0].Trim() != Header)
            throw new FormatException($"{path}: expected the header '{Header}', found '{(lines.Length == 0 ? "(empty file)" : lines[0])}'.");
        var points = new List<HistoryPoint>(lines.Length - 1);
        for (int i = 1; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            var f = lines[i].Split(',');
            if (f.Length != 6
                || !long.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var step)
                || !double.TryParse(f[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var epoch)
                || !double.TryParse(f[5], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw new FormatException($"{path}, line {i + 1}: expected step,epoch,kind,task,metric,value with numeric step/epoch/value, found '{lines[i]}'.");
            points.Add(new HistoryPoint(step, epoch, f[2], f[3], f[4], value));
        }
        return points;
    }

    /// <summary>Writes a history file atomically.</summary>
    public static void Write(string path, IEnumerable<HistoryPoint> points)
    {
        var sb = new StringBuilder(Header).Append('\n');
        foreach (var p in points)
        {
            if (p.Kind.Contains(',') || p.Task.Contains(',') || p.Metric.Contains(','))
                throw new ArgumentException($"history: kind, task and metric must not contain commas, found '{p.Kind}', '{p.Task}', '{p.Metric}'.");
            sb.Append(p.Step.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(p.Epoch.ToString("R", CultureInfo.InvariantCulture)).Append(',')
              .Append(p.Kind).Append(',').Append(p.Task).Append(',').Append(p.Metric).Append(',')
              .Append(p.Value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        AtomicFile.WriteAllText(path, sb.ToString());
    }
}
