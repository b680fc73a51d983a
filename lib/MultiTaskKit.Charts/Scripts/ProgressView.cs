using MultiTaskKit.Training;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Charts.Scripts;

/// <summary>
/// Training progress for the exported scripts: the console counterpart of the notebook's live display
/// (<c>MultiTaskKit.Interactive.ProgressView</c>), with the same <see cref="Show"/>, so that notebook and script run
/// the same line. One line at most every <c>minInterval</c>, on every evaluation, and at the end.
/// </summary>
public sealed class ProgressView : IProgress<TrainingProgress>
{
    readonly string title;
    readonly TimeSpan minInterval;
    readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
    TimeSpan? lastLine;

    ProgressView(string title, TimeSpan minInterval) { this.title = title; this.minInterval = minInterval; }

    /// <summary>Starts reporting under <paramref name="title"/>.</summary>
    public static ProgressView Show(string title = "training", TimeSpan? minInterval = null) => new(title, minInterval ?? TimeSpan.FromSeconds(5));

    public void Report(TrainingProgress value)
    {
        var now = clock.Elapsed;
        bool due = lastLine is null || now - lastLine >= minInterval || value.Step >= value.TotalSteps || value.Kind == "eval";
        if (!due) return;
        lastLine = now;
        Console.WriteLine($"[{title}] {(value.Message is { } m && value.Kind != "eval" ? m : value.ToString())}");
    }
}
