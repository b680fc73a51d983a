using MultiTaskKit.Evaluation;
using MultiTaskKit.Training;
using Spectre.Console;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Cli.Commands;

/// <summary>Console rendering shared by casestudy and train: a live progress bar on a terminal, plain lines otherwise, and result tables.</summary>
static class TrainingConsole
{
    sealed class Callback<T>(Action<T> action) : IProgress<T>
    {
        public void Report(T value) => action(value);
    }

    /// <summary>Runs <paramref name="trainer"/> under a Spectre.Console progress bar (or line output when not interactive).</summary>
    public static TrainingResult Run(Func<IProgress<TrainingProgress>, TrainingResult> train)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            long lastPrinted = -1;
            var started = DateTime.UtcNow;
            return train(new Callback<TrainingProgress>(p =>
            {
                if (p.Kind == "eval") { Console.WriteLine(p.ToString()); return; }
                long every = Math.Max(1, p.TotalSteps / 20);
                if (p.Step == p.TotalSteps || p.Step - lastPrinted >= every || (DateTime.UtcNow - started).TotalSeconds < 1)
                {
                    lastPrinted = p.Step;
                    Console.WriteLine(p.ToString());
                }
            }));
        }
        TrainingResult? result = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var bar = ctx.AddTask("training", maxValue: 1);
                result = train(new Callback<TrainingProgress>(p =>
                {
                    bar.MaxValue = p.TotalSteps;
                    bar.Value = p.Step;
                    var losses = string.Join(" ", p.TaskLosses.Select(kv => $"{kv.Key} {kv.Value:F3}"));
                    bar.Description = Markup.Escape(p.Kind == "eval"
                        ? $"eval @ {p.Step}: " + string.Join("; ", p.Evaluation!.Select(t => $"{t.Key} {Headline(t.Value)}"))
                        : $"step {p.Step}/{p.TotalSteps} ep {p.Epoch} {losses} | {p.StepsPerSecond:F2} st/s {p.TokensPerSecond:F0} tok/s");
                }));
            });
        return result!;
    }

    static string Headline(IReadOnlyDictionary<string, double> m) =>
        m.TryGetValue("accuracy", out var a) ? $"acc {a:F4}" : m.TryGetValue("pearson", out var r) ? $"r {r:F4}" : "";

    /// <summary>The test metrics as a table, with each task's dataset, split, count and caveat.</summary>
    public static void PrintReport(MetricsReport report, string title)
    {
        var table = new Table().Title(Markup.Escape(title)).AddColumn("task").AddColumn("dataset / split").AddColumn("n").AddColumn("metrics").AddColumn("note");
        foreach (var t in report.Tasks)
            table.AddRow(Markup.Escape(t.Task), Markup.Escape($"{t.Dataset} / {t.Split}"), t.Count.ToString(),
                Markup.Escape(string.Join("  ", t.Metrics.Values.Select(kv => $"{kv.Key} {kv.Value:F4}"))), Markup.Escape(t.Note ?? ""));
        AnsiConsole.Write(table);
        if (report.DeltaM is { } dm) AnsiConsole.MarkupLine($"Δm vs single-task baselines: [bold]{dm:+0.00;-0.00}%[/]");
    }

    public static void PrintRun(TrainingResult r)
    {
        AnsiConsole.MarkupLine(Markup.Escape($"run folder: {r.RunDir}"));
        AnsiConsole.MarkupLine(Markup.Escape($"{r.Steps} steps, training {r.TrainTime:hh\\:mm\\:ss} ({r.TokensPerSecond:F0} tokens/s), evaluation {r.EvalTime:hh\\:mm\\:ss}{(r.StoppedEarly ? ", stopped early" : "")}"));
    }
}
