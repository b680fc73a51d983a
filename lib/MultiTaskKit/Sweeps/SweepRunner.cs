using MultiTaskKit.Data;
using MultiTaskKit.Runtime;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Sweeps;

/// <summary>What running one cell did.</summary>
public enum CellOutcome { Trained, Resumed, SkippedFinished }

/// <summary>
/// Runs one cell of a sweep in this process: a finished cell is skipped; an interrupted one (a checkpoint, no results)
/// resumes from its checkpoint (<see cref="Trainer.Run"/> with resume, which continues exactly as if never stopped);
/// otherwise it trains from scratch. The run folder's lock (<see cref="RunFolder"/>) keeps two processes off one cell,
/// and cells share nothing else, so processes may run different cells of one sweep folder at the same time.
/// </summary>
public static class SweepRunner
{
    /// <summary>The environment variables a scheduler puts the cell index in, in the order they are read.</summary>
    public static readonly IReadOnlyList<string> IndexVariables = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"];

    /// <summary>The cell index from <c>--cell</c>, else from the first of <see cref="IndexVariables"/> that is set.</summary>
    public static int ResolveIndex(int? cell, Func<string, string?> environment)
    {
        if (cell is { } c) return c;
        foreach (var name in IndexVariables)
            if (environment(name) is { Length: > 0 } text)
                return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i)
                    ? i : throw new ArgumentException($"{name}: expected a cell index (a non-negative integer), found '{text}'.");
        throw new ArgumentException($"sweep run: expected --cell i, --local, or a scheduler's index in {string.Join(" or ", IndexVariables)}; found none.");
    }

    /// <summary>Runs one cell of the sweep in <paramref name="sweepDir"/> (skips a finished one, resumes an interrupted one).
    /// <c>runtime</c>: this process's runtime options (threads, device; the cell keeps its precision); <c>log</c>,
    /// <c>progress</c>: where lines and training progress go; <c>writeCharts</c>: writes the run's charts after it finishes.</summary>
    public static (CellOutcome Outcome, TrainingResult? Result) Run(string sweepDir, SweepCell cell, DatasetSources sources, KitOptions? runtime = null,
        Action<string>? log = null, IProgress<TrainingProgress>? progress = null, Action<string, RunHistory, Evaluation.MetricsReport>? writeCharts = null)
    {
        var dir = cell.RunDirIn(sweepDir);
        if (SweepStatus.IsFinished(dir)) return (CellOutcome.SkippedFinished, null);
        bool resume = RunFolder.HasCheckpoint(dir);
        var config = runtime is null ? cell.Config : cell.Config with { Runtime = runtime with { Precision = cell.Config.Runtime.Precision } };
        using var trainer = new Trainer(config, dir, sources) { Log = log, Progress = progress, WriteCharts = writeCharts };
        var result = trainer.Run(resume);
        return (resume ? CellOutcome.Resumed : CellOutcome.Trained, result);
    }
}
