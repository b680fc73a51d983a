using MultiTaskKit.Aggregation;
using MultiTaskKit.Charts;
using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Models;
using MultiTaskKit.Steps;
using MultiTaskKit.Weighting;

namespace MultiTaskKit.Tutorials;

/// <summary>The recipe line-ups of notebooks 03, 04 and 06, shared with their scripts.</summary>
public static class Lineups
{
    /// <summary>The single-task baselines: the isolated plan (nothing shared), same budget.</summary>
    public static MtlLab.Recipe SingleTask { get; } = new("single-task (isolated)", SharingPlan.Isolated, tasks => new EqualWeighting(tasks));

    /// <summary>Notebook 03: fixed weights, then every method of the kit's <see cref="MethodCatalog"/> that takes two tasks
    /// (hard sharing, papers' defaults).</summary>
    public static List<MtlLab.Recipe> WeightingMethods()
    {
        var list = new List<MtlLab.Recipe> { new("Fixed(1, 0.5)", SharingPlan.Hard, tasks => new FixedWeighting(tasks, [1.0, 0.5])) };
        list.AddRange(MethodCatalog.NamesFor(2).Select(n => MtlLab.Recipe.FromCatalog(n))); // the notebooks' data has two tasks
        return list;
    }

    /// <summary>Notebook 04: the article's remedies for task conflict, then gradient surgery (PCGrad and friends).</summary>
    public static List<MtlLab.Recipe> ConflictRemedies()
    {
        var list = new List<MtlLab.Recipe>
        {
            new("equal weights (no remedy)", SharingPlan.Hard, tasks => new EqualWeighting(tasks)),
            new("task weights (w2 = 0.3)", SharingPlan.Hard, tasks => new FixedWeighting(tasks, [1.0, 0.3])),
            new("per-task gradient clipping (norm ≤ 0.5)", SharingPlan.Hard, tasks => new EqualWeighting(tasks), MaxTaskGradNorm: 0.5),
            new("task isolation (task2 stops at the trunk)", SharingPlan.Hard, tasks => new EqualWeighting(tasks), IsolateTask: "task2"),
            new("split at layer 1 (upper layer per task)", SharingPlan.SplitAt(1), tasks => new EqualWeighting(tasks)),
        };
        list.AddRange(new[] { "pcgrad", "gradvac", "cagrad", "mgda", "upgrad" }.Select(n => MtlLab.Recipe.FromCatalog(n)));
        return list;
    }

    /// <summary>Trains every recipe and the single-task baseline on one data set.</summary>
    public static (MtlLab.Result Baseline, List<MtlLab.Result> Results) RunAll(MmoeSynthetic data, MtlLab.Settings s, IEnumerable<MtlLab.Recipe> recipes, Func<string, IProgress<TrainingSnapshot>?> progress)
    {
        var baseline = MtlLab.Train(data, s, SingleTask, progress(SingleTask.Name));
        var results = recipes.Select(r => MtlLab.Train(data, s, r, progress(r.Name))).ToList();
        return (baseline, results);
    }

    /// <summary>Notebook 06: one point of the relatedness sweep.</summary>
    public sealed record SweepPoint(double Correlation, double LabelCorrelation, MtlLab.Result SingleTask, MtlLab.Result Hard)
    {
        /// <summary>Δm of hard sharing against the single-task models, in percent.</summary>
        public double DeltaM => MtlLab.DeltaM(Hard.ValMse, SingleTask.ValMse);
    }

    /// <summary>Correlations swept by notebook 06.</summary>
    public static double[] Correlations(TutorialSize size) => size == TutorialSize.Small ? [1.0, 0.0] : [1.0, 0.9, 0.7, 0.5, 0.25, 0.0, -0.5];

    /// <summary>For each correlation p: new data, single-task baselines and hard sharing, same seed and budget.</summary>
    public static List<SweepPoint> RelatednessSweep(MtlLab.Settings s, IEnumerable<double> correlations, Func<string, IProgress<TrainingSnapshot>?> progress)
    {
        var hard = new MtlLab.Recipe("hard sharing", SharingPlan.Hard, tasks => new EqualWeighting(tasks));
        return correlations.Select(p =>
        {
            var data = MmoeSynthetic.Make(s.Inputs, s.TrainRows, s.ValRows, p, s.Seed);
            return new SweepPoint(p, data.LabelCorrelation, MtlLab.Train(data, s, SingleTask, progress($"p = {p}: single-task")),
                MtlLab.Train(data, s, hard, progress($"p = {p}: hard sharing")));
        }).ToList();
    }

    public static KitTable SweepTable(IEnumerable<SweepPoint> points) =>
        new("Hard sharing versus single-task models as task relatedness varies",
            ["p = cos(w₁, w₂)", "label correlation", "single-task MSE (1, 2)", "hard sharing MSE (1, 2)", "Δm"],
            points.Select(p => (IReadOnlyList<string>)[KitTable.Num(p.Correlation), KitTable.Num(p.LabelCorrelation),
                $"{KitTable.Num(p.SingleTask.ValMse["task1"])}, {KitTable.Num(p.SingleTask.ValMse["task2"])}",
                $"{KitTable.Num(p.Hard.ValMse["task1"])}, {KitTable.Num(p.Hard.ValMse["task2"])}",
                $"{p.DeltaM:+0.0;-0.0;0.0} %"]),
            "Δm above zero: sharing helped on average.");

    public static KitChart SweepChart(IReadOnlyList<SweepPoint> points) =>
        MtlCharts.Lines("Where hard sharing helps and where it hurts", "task relatedness p = cos(w₁, w₂) (unitless)", "Δm of hard sharing vs single-task (%)",
            [new Series("Δm", points.Select(p => p.Correlation).ToArray(), points.Select(p => p.DeltaM).ToArray())], markers: true);
}
