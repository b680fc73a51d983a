using MultiTaskKit.Charts;
using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Training;

namespace MultiTaskKit.Tutorials;

/// <summary>
/// Notebook 02 (the article's case study, sections 4.3 and 5): the same <see cref="CaseStudy"/> configurations and
/// <see cref="Trainer"/> that <c>mtk casestudy</c> runs, so the notebook's numbers are the CLI's for the same seed.
/// </summary>
public static class CaseStudyTutorial
{
    /// <summary>
    /// The run configuration: at default size exactly <c>mtk casestudy --preset quick</c> (seed 42); at small size the
    /// same recipe on a few dozen examples and 32 tokens, so that CI can run it in a minute.
    /// </summary>
    public static RunConfig Config(TutorialSize size, ulong seed = 42)
    {
        var quick = CaseStudy.Preset("quick", seed: seed);
        if (size == TutorialSize.Default) return quick;
        return quick with
        {
            Name = "casestudy-small",
            Training = quick.Training with { Steps = 8, CheckpointEverySteps = 1000, EvalBatchSize = 32 },
            Tasks = quick.Tasks.Select(t => t with { MaxTokens = 32, BatchSize = 8, TrainSubset = 64, ValSubset = 32, TestSubset = 64 }).ToList(),
        };
    }

    /// <summary>The data, found as <c>mtk</c> finds it: MTK_DATA_DIR, else a shared/data folder nearby, else the download cache.</summary>
    public static DatasetSources Sources() => DatasetSources.Default();

    /// <summary>Trains <paramref name="config"/> into <paramref name="runDir"/> and returns the trainer's result with the prepared tasks.</summary>
    public static (TrainingResult Result, IReadOnlyList<PreparedTask> Tasks) Train(RunConfig config, string runDir, DatasetSources sources,
        IProgress<TrainingProgress>? progress = null, Action<string>? log = null)
    {
        using var trainer = new Trainer(config, runDir, sources) { Progress = progress, Log = log, WriteCharts = (dir, history, test) => RunCharts.Write(dir, history, test) };
        var result = trainer.Run(resume: Checkpoint.HasLatest(runDir));
        return (result, trainer.Tasks);
    }

    /// <summary>Dataset cards of the prepared tasks: counts per split, label or target distribution, lengths in words, examples.</summary>
    public static List<DatasetCardView> Cards(IEnumerable<PreparedTask> tasks) => tasks.Select(t =>
    {
        var s = t.Splits;
        var counts = new[] { s.Train, s.Validation, s.Test }.ToDictionary(d => d.Split, d => d.Examples.Count);
        var train = s.Train.Examples;
        Dictionary<string, double> distribution = s.Kind == TaskKind.Classification
            ? s.LabelNames.Select((l, i) => (l, share: train.Count(e => e.Label == i) / (double)Math.Max(1, train.Count))).ToDictionary(x => x.l, x => x.share)
            : new() { ["target mean"] = train.Average(e => e.Target), ["target min"] = train.Min(e => e.Target), ["target max"] = train.Max(e => e.Target) };
        var words = train.Select(e => (double)e.Text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length).Order().ToArray();
        var lengths = new[] { 50, 90, 99 }.ToDictionary(p => $"p{p} (words)", p => DatasetCard.Percentile(words, p));
        var examples = train.Take(3).Select(e => (e.Text, s.Kind == TaskKind.Classification ? s.LabelNames[e.Label] : e.Target.ToString("0.00"))).ToList();
        return new DatasetCardView(t.Name, $"{s.Dataset}: {s.Train.Source}", counts, distribution, lengths, examples);
    }).ToList();

    /// <summary>The test metrics of a report as a table (one row per task and metric).</summary>
    public static KitTable Metrics(MetricsReport report, string title) => KitViews.Metrics(report, title);

    /// <summary>The headline metrics Δm averages over, as <c>mtk casestudy --compare</c> does.</summary>
    public static readonly string[] HeadlineMetrics = ["accuracy", "macro_f1", "pearson", "spearman", "mse"];

    static IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Headline(MetricsReport r) =>
        r.Tasks.ToDictionary(t => t.Task, t => (IReadOnlyDictionary<string, double>)t.Metrics.Values.Where(kv => HeadlineMetrics.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value));

    /// <summary>Single-task baselines (isolated plan, same number of steps) and hard sharing, next to the split@2 run.</summary>
    public static (MetricsReport SingleTask, MetricsReport Hard) Compare(RunConfig config, TrainingResult main, string runDir, DatasetSources sources,
        Func<string, IProgress<TrainingProgress>?> progress)
    {
        var hard = Train(CaseStudy.WithPlan(config, SharingPlanKind.Hard, "hard"), runDir + "-hard", sources, progress("hard sharing")).Result;
        var singles = config.Tasks.Select(t => Train(CaseStudy.SingleTask(config, t.Name, main.Steps), $"{runDir}-single-{t.Name}", sources, progress($"single-task {t.Name}")).Result).ToList();
        return (new MetricsReport(singles.SelectMany(s => s.Test.Tasks).ToList()), hard.Test);
    }

    /// <summary>Results of the comparison for the bar charts, with Δm (in percent) against the single-task models.</summary>
    public static List<MethodResult> Comparison(MetricsReport single, MetricsReport hard, MetricsReport split)
    {
        MethodResult Of(string name, MetricsReport r, bool baseline) => new(name,
            Headline(r).SelectMany(t => t.Value.Select(m => (Key: $"{t.Key} {m.Key}", m.Value))).ToDictionary(x => x.Key, x => x.Value),
            baseline ? null : DeltaM.Compute(Headline(r), Headline(single)));
        return [Of("single-task", single, true), Of("hard sharing", hard, false), Of("split at layer 2", split, false)];
    }
}
