using System.Diagnostics;
using System.Reflection;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Charts;
using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Training;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tutorials;

/// <summary>
/// Training on <see cref="MmoeSynthetic"/> with the kit's <see cref="MultiTaskModel"/> and <see cref="TrainingStep"/>,
/// for notebooks 03, 04 and 06: any sharing plan, any weighting, any aggregator, clipping and isolation.
/// </summary>
public static class MtlLab
{
    public static readonly string[] Tasks = ["task1", "task2"];

    /// <summary>Sizes shared by notebooks 03, 04 and 06.</summary>
    public sealed record Settings(int Inputs, int Hidden, int Layers, int TrainRows, int ValRows, int Steps, int BatchSize, double LearningRate, long Seed)
    {
        public static Settings For(TutorialSize size) => size == TutorialSize.Small
            ? new(Inputs: 16, Hidden: 16, Layers: 2, TrainRows: 256, ValRows: 256, Steps: 24, BatchSize: 64, LearningRate: 3e-3, Seed: 1)
            : new(Inputs: 100, Hidden: 16, Layers: 2, TrainRows: 8192, ValRows: 2048, Steps: 1500, BatchSize: 128, LearningRate: 3e-3, Seed: 1);
    }

    /// <summary>One configuration to train: the plan, the methods and the article's conflict tools.</summary>
    public sealed record Recipe(string Name, SharingPlan Plan, Func<IReadOnlyList<string>, ILossWeighting> Weighting,
        Func<IGradientAggregator>? Aggregator = null, double? MaxTaskGradNorm = null, string? IsolateTask = null,
        GradientMode Gradients = GradientMode.Parameters)
    {
        /// <summary>A method of the kit's <see cref="MethodCatalog"/> (papers' defaults) under hard sharing.</summary>
        public static Recipe FromCatalog(string name, SharingPlan? plan = null)
        {
            var probe = MethodCatalog.Create(name, Tasks);
            return new Recipe(probe.ToString(), plan ?? SharingPlan.Hard, tasks => MethodCatalog.Create(name, tasks).Weighting,
                probe.Aggregator is null ? null : () => MethodCatalog.Create(name, Tasks).Aggregator!, Gradients: probe.Mode);
        }
    }

    /// <summary>Final validation MSE per task, the history (long form) and the mean share of conflicting steps.</summary>
    public sealed record Result(Recipe Recipe, IReadOnlyDictionary<string, double> ValMse, List<HistoryPoint> History, double ConflictShare, TimeSpan Elapsed)
    {
        public string Name => Recipe.Name;
    }

    public static MultiTaskModel NewModel(Settings s, SharingPlan plan)
    {
        torch.manual_seed(s.Seed);
        var trunk = new MlpTrunk(new MlpTrunkOptions(s.Inputs, s.Hidden, s.Layers));
        return new MultiTaskModel(trunk, Tasks.Select(t => KeyValuePair.Create(t, (TaskHead)new RegressionHead(s.Hidden))), plan);
    }

    /// <summary>Trains one recipe from the same initial weights and batches as every other recipe (same seed).</summary>
    public static Result Train(MmoeSynthetic data, Settings s, Recipe recipe, IProgress<TrainingSnapshot>? progress = null)
    {
        using var outer = NewDisposeScope();
        var model = NewModel(s, recipe.Plan);
        if (recipe.IsolateTask is { } iso) model.StopGradientIntoTrunk(iso);
        var weighting = recipe.Weighting(Tasks);
        var aggregator = recipe.Aggregator?.Invoke();
        model.AttachStrategy(weighting);
        var opt = optim.Adam(model.parameters(), s.LearningRate);
        var gen = new Generator((ulong)s.Seed + 7);
        var history = new List<HistoryPoint>();
        long n = data.TrainX.shape[0];
        int evalEvery = Math.Max(1, s.Steps / 10), conflicts = 0, measured = 0;
        // Loss-history methods (DWA) read the step's loss history, which closes an epoch every n / batch steps.
        var trainingStep = new TrainingStep(model, weighting, aggregator, opt, new TrainingStepOptions
        {
            StepsPerEpoch = Math.Max(1, n / s.BatchSize), TaskGradientDiagnosticsEvery = 1,
            MaxTaskGradNorm = recipe.MaxTaskGradNorm, Gradients = recipe.Gradients,
        });
        var clock = Stopwatch.StartNew();
        for (int step = 1; step <= s.Steps; step++)
        {
            var diag = trainingStep.Run(_ =>
            {
                var idx = randint(n, new long[] { s.BatchSize }, generator: gen);
                return StepBatch.Shared(TrunkInput.FromFeatures(data.TrainX[idx]), new Dictionary<string, Tensor>
                {
                    ["task1"] = data.TrainY1[idx], ["task2"] = data.TrainY2[idx],
                });
            }).Last;
            double epoch = step * (double)s.BatchSize / n;
            foreach (var (t, l) in diag.Losses) history.Add(new(step, epoch, HistoryPoint.Train, t, "loss", l));
            foreach (var (t, w) in diag.Weights) history.Add(new(step, epoch, HistoryPoint.Train, t, "weight", w));
            if (diag.AggregationWeights is { } aw)
                foreach (var (t, w) in aw) history.Add(new(step, epoch, HistoryPoint.Train, t, "aggregation_weight", w));
            if (diag.Cosine("task1", "task2") is { } cos)
            {
                history.Add(new(step, epoch, HistoryPoint.Train, "task1|task2", "grad_cosine", cos));
                measured++; if (cos < 0) conflicts++;
            }
            if (step % evalEvery == 0 || step == s.Steps)
            {
                var val = Evaluate(model, data);
                foreach (var (t, v) in val) history.Add(new(step, epoch, HistoryPoint.Eval, t, "loss", v));
                progress?.Report(new TrainingSnapshot(step, s.Steps, val, step / clock.Elapsed.TotalSeconds, recipe.Name));
            }
        }
        return new Result(recipe, Evaluate(model, data), history, measured == 0 ? double.NaN : conflicts / (double)measured, clock.Elapsed);
    }

    internal static Dictionary<string, double> Evaluate(MultiTaskModel model, MmoeSynthetic data)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        var output = model.forward(TrunkInput.FromFeatures(data.ValX));
        model.train();
        return new()
        {
            ["task1"] = nn.functional.mse_loss(output["task1"], data.ValY1).item<float>(),
            ["task2"] = nn.functional.mse_loss(output["task2"], data.ValY2).item<float>(),
        };
    }

    /// <summary>
    /// Δm in percent (<see cref="Evaluation.DeltaM"/>) of validation MSEs against single-task baselines: for MSE (lower is
    /// better) the mean over tasks of (baseline − model) / baseline × 100, positive when better.
    /// </summary>
    public static double DeltaM(IReadOnlyDictionary<string, double> mse, IReadOnlyDictionary<string, double> baselineMse) =>
        Evaluation.DeltaM.Compute(PerTaskMse(mse), PerTaskMse(baselineMse));

    static IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> PerTaskMse(IReadOnlyDictionary<string, double> mse) =>
        mse.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, double>)new Dictionary<string, double> { ["mse"] = kv.Value });

    /// <summary>A table of results with Δm against <paramref name="baseline"/>.</summary>
    public static KitTable Table(string title, IEnumerable<Result> results, Result? baseline = null) =>
        new(title, ["recipe", "task1 val MSE", "task2 val MSE", "Δm vs single-task", "steps with conflict", "seconds"],
            results.Select(r => (IReadOnlyList<string>)[r.Name, KitTable.Num(r.ValMse["task1"]), KitTable.Num(r.ValMse["task2"]),
                baseline is null ? "–" : $"{DeltaM(r.ValMse, baseline.ValMse):+0.0;-0.0;0.0} %",
                double.IsNaN(r.ConflictShare) ? "–" : $"{100 * r.ConflictShare:0} %", KitTable.Num(r.Elapsed.TotalSeconds)]),
            "Δm above zero: better than the single-task models on average. Conflict: task gradients with negative cosine on the shared parameters.");

    /// <summary>The comparison as <see cref="MethodResult"/>s for <see cref="MtlCharts.Comparison"/> and <see cref="MtlCharts.DeltaM"/>.</summary>
    public static List<MethodResult> ForCharts(IEnumerable<Result> results, Result? baseline) =>
        results.Select(r => new MethodResult(r.Name,
            new Dictionary<string, double> { ["task1 val MSE"] = r.ValMse["task1"], ["task2 val MSE"] = r.ValMse["task2"] },
            baseline is null || ReferenceEquals(r, baseline) ? null : DeltaM(r.ValMse, baseline.ValMse))).ToList();



    /// <summary>One task's weight over training for each result: the loss weight times, where an aggregator ran, its weight.</summary>
    public static KitChart WeightTrajectories(IEnumerable<Result> results, string task = "task1")
    {
        var series = results.Select(r =>
        {
            var w = r.History.Where(p => p.Task == task && p.Metric == "weight").ToDictionary(p => p.Step, p => p.Value);
            var a = r.History.Where(p => p.Task == task && p.Metric == "aggregation_weight").ToDictionary(p => p.Step, p => p.Value);
            var steps = w.Keys.OrderBy(k => k).ToArray();
            return new Series(r.Name, steps.Select(k => (double)k).ToArray(), steps.Select(k => w[k] * (a.TryGetValue(k, out var x) ? x : 1.0)).ToArray());
        });
        return MtlCharts.Lines($"Effective weight of {task} over training", "optimiser step", $"effective weight of {task} (unitless)", series);
    }
}
