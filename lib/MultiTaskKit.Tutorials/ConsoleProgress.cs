namespace MultiTaskKit.Tutorials;

/// <summary>Progress for scripts: one line per report, at most every <c>minSeconds</c> (and always the last).</summary>
public sealed class ConsoleProgress(string title, double minSeconds = 2) : IProgress<TrainingSnapshot>
{
    readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
    double last = double.NegativeInfinity;

    public void Report(TrainingSnapshot v)
    {
        var now = clock.Elapsed.TotalSeconds;
        if (now - last < minSeconds && v.Step < v.TotalSteps) return;
        last = now;
        var losses = string.Join(", ", v.TaskLosses.Select(kv => $"{kv.Key} {kv.Value:0.0000}"));
        Console.WriteLine($"[{title}] step {v.Step}/{v.TotalSteps}{(losses.Length > 0 ? " · " + losses : "")}{(v.Note is null ? "" : " · " + v.Note)}");
    }
}
