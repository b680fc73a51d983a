using MultiTaskKit.Runs;

namespace MultiTaskKit.Charts;

/// <summary>
/// <c>history.csv</c> as chart points, through the core's one codec (<see cref="RunHistory"/>): header
/// <c>step,epoch,kind,task,metric,value</c>, invariant culture.
/// </summary>
public static class HistoryCsv
{
    public const string Header = RunHistory.Header;

    /// <summary>Reads a history file; a malformed line gives an error naming the file and line.</summary>
    public static List<HistoryPoint> Read(string path) =>
        RunHistory.Read(path).Select(r => new HistoryPoint(r.Step, r.Epoch, r.Kind, r.Task, r.Metric, r.Value)).ToList();

    /// <summary>Writes a history file atomically. Epochs are whole numbers in <c>history.csv</c>.</summary>
    public static void Write(string path, IEnumerable<HistoryPoint> points)
    {
        var history = new RunHistory();
        foreach (var p in points)
        {
            if (p.Epoch != Math.Floor(p.Epoch) || p.Epoch < int.MinValue || p.Epoch > int.MaxValue)
                throw new ArgumentException($"history: epochs are whole numbers in {RunHistory.Header}, found {p.Epoch} at step {p.Step}.", nameof(points));
            history.Add(p.Step, (int)p.Epoch, p.Kind, p.Task, p.Metric, p.Value);
        }
        history.Save(path);
    }
}
