using System.Text.Json.Nodes;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Sweeps;

/// <summary>Where a cell stands.</summary>
public enum CellState
{
    /// <summary>No run folder, or one without a checkpoint or results.</summary>
    NotStarted,
    /// <summary>A process holds the run folder's lock now.</summary>
    Running,
    /// <summary>A checkpoint and no results, and nobody holds the lock: <c>sweep run</c> resumes it.</summary>
    Interrupted,
    /// <summary><c>metrics.json</c> and <c>test_predictions.csv</c> are there.</summary>
    Finished,
}

/// <summary>One cell's state and, when finished, its metrics.json.</summary>
public sealed record CellStatus(SweepCell Cell, CellState State, JsonObject? Metrics)
{
    /// <summary>Test metric <paramref name="metric"/> of <paramref name="task"/>, or null.</summary>
    public double? Test(string task, string metric) =>
        Metrics?["tasks"]?[task]?["metrics"]?[metric] is JsonValue v && v.TryGetValue<double>(out var x) ? x : null;

    /// <summary>Validation metric <paramref name="metric"/> of <paramref name="task"/> (the last validation), or null.</summary>
    public double? Validation(string task, string metric) =>
        Metrics?["validation"]?[task]?["metrics"]?[metric] is JsonValue v && v.TryGetValue<double>(out var x) ? x : null;
}

/// <summary>
/// Reads a sweep folder's state from the cells' run folders alone (needs nothing else running): finished cells have
/// their results; a held lock means running (probed by opening the lock file exclusively and closing it at once, which
/// writes nothing); a checkpoint without results means interrupted.
/// </summary>
public static class SweepStatus
{
    public static IReadOnlyList<CellStatus> Read(string sweepDir, SweepPlan plan) =>
        plan.Cells.Select(c => Of(c, c.RunDirIn(sweepDir))).ToList();

    public static CellStatus Of(SweepCell cell, string runDir)
    {
        if (IsFinished(runDir))
            return new CellStatus(cell, CellState.Finished, JsonNode.Parse(File.ReadAllText(Path.Combine(runDir, Trainer.MetricsFile))) as JsonObject);
        if (!Directory.Exists(runDir)) return new CellStatus(cell, CellState.NotStarted, null);
        if (IsLocked(runDir)) return new CellStatus(cell, CellState.Running, null);
        return new CellStatus(cell, RunFolder.HasCheckpoint(runDir) ? CellState.Interrupted : CellState.NotStarted, null);
    }

    /// <summary>A cell is finished when its run wrote both its metrics and its test predictions (the last two files a run writes).</summary>
    public static bool IsFinished(string runDir) =>
        File.Exists(Path.Combine(runDir, Trainer.MetricsFile)) && File.Exists(Path.Combine(runDir, TestPredictions.File));

    static bool IsLocked(string runDir)
    {
        var path = Path.Combine(runDir, RunFolder.LockFile);
        if (!File.Exists(path)) return false;
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (IOException) { return true; }
        catch (UnauthorizedAccessException) { return true; }
    }
}
