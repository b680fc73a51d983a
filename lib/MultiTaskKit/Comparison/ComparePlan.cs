using System.Globalization;
using System.Text.Json.Nodes;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Sweeps;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Comparison;

/// <summary>What <c>mtk compare</c> was asked.</summary>
/// <param name="Seeds">Seeds per configuration (the base seed, +1, +2, …).</param>
/// <param name="Variants">The multi-task configurations.</param>
/// <param name="Budget">Optimizer steps of every multi-task run (null: the base's training.steps, else one pass as the
/// trainer counts it).</param>
/// <param name="LearningRates">The learning-rate grid every configuration is tuned over on validation (empty: the base's).</param>
public sealed record CompareRequest(int Seeds, IReadOnlyList<CompareVariant> Variants, long? Budget = null, IReadOnlyList<double>? LearningRates = null);

/// <summary>
/// The cells of a comparison, as a sweep (<see cref="SweepPlan"/> of kind <c>compare</c>), so that the comparison runs
/// locally or on a scheduler and resumes like any sweep. For each seed and each learning rate of the grid: every task
/// alone (the <c>isolated</c> plan, the same trunk, recipe and hyperparameters), then every variant.
/// <para><b>Equal budget</b> (steps per task): every multi-task run takes <c>B</c> optimizer steps; a task alone takes as
/// many steps as it gets batches in the multi-task run: B under <c>all_tasks</c> sampling (every task a batch per step),
/// ⌈B/T⌉ under round robin, and B·pₜ (rounded) under proportional or temperature sampling (pₜ the sampler's
/// probability of the task).</para>
/// <para><b>Tuning</b> (<c>--tune-lr</c>): every configuration (each task alone, each variant) trains at every rate of
/// the grid; the head's rate keeps its ratio to the trunk's; the report picks, per configuration, the rate with the best
/// mean validation score over seeds (never a test figure), as Xin et al. (NeurIPS 2022) ask of fair baselines.</para>
/// </summary>
public static class ComparePlan
{
    public const string Kind = "compare";
    public const string RoleLabel = "role", TaskLabel = "task", VariantLabel = "variant", SeedLabel = "seed", LrLabel = "lr";
    public const string SingleRole = "single", VariantRole = "variant";

    public static SweepPlan Create(RunConfig baseConfig, CompareRequest options, DatasetSources? sources = null)
    {
        if (options.Seeds < 1) throw new ArgumentException($"--seeds: expected at least 1, found {options.Seeds}.");
        if (options.Variants.Count == 0) throw new ArgumentException("--plans/--methods: expected at least one multi-task variant, found none.");
        if (baseConfig.Tasks.Count < 2) throw new ArgumentException($"compare: expected a configuration with at least two tasks (the multi-task runs), found {baseConfig.Tasks.Count}.");
        if (options.Budget is < 1) throw new ArgumentException($"--budget: expected at least 1 step, found {options.Budget}.");
        long budget = options.Budget ?? baseConfig.Training.Steps ?? DefaultBudget(baseConfig, sources);
        var perTask = StepsPerTask(baseConfig, budget, sources);
        var rates = options.LearningRates is { Count: > 0 } l ? l : [baseConfig.Optimizer.Lr];
        foreach (var r in rates) if (!(r > 0 && double.IsFinite(r))) throw new ArgumentException($"--tune-lr: expected positive learning rates, found {r.ToString(CultureInfo.InvariantCulture)}.");
        bool tuning = options.LearningRates is { Count: > 0 };
        var cells = new List<SweepCell>();
        for (int s = 0; s < options.Seeds; s++)
        {
            ulong seed = baseConfig.Seed + (ulong)s;
            foreach (var lr in rates)
            {
                var keys0 = new List<KeyValuePair<string, JsonNode?>> { new("seed", JsonValue.Create(seed)) };
                if (tuning)
                {
                    keys0.Add(new("optimizer.lr", JsonValue.Create(lr)));
                    if (baseConfig.Optimizer.HeadLr is { } head) keys0.Add(new("optimizer.head_lr", JsonValue.Create(head * lr / baseConfig.Optimizer.Lr)));
                }
                string lrText = lr.ToString("R", CultureInfo.InvariantCulture);
                for (int t = 0; t < baseConfig.Tasks.Count; t++)
                {
                    var task = baseConfig.Tasks[t];
                    var single = baseConfig with { Tasks = [task], Method = new MethodConfig { Weighting = "ew" } };
                    var keys = new List<KeyValuePair<string, JsonNode?>>(keys0)
                    {
                        new("sharing.plan", JsonValue.Create(SharingPlanKind.Isolated)),
                        new("training.steps", JsonValue.Create(perTask[task.Name])),
                    };
                    if (single.Training.SelectionMetric != "mean" && !single.Training.SelectionMetric.StartsWith(task.Name + "/", StringComparison.Ordinal))
                        keys.Add(new("training.selection_metric", JsonValue.Create("mean")));
                    var labels = new Dictionary<string, string> { [RoleLabel] = SingleRole, [TaskLabel] = task.Name, [SeedLabel] = seed.ToString(CultureInfo.InvariantCulture), [LrLabel] = lrText };
                    cells.Add(SweepPlan.MakeCell(single, cells.Count, keys, labels, $"seed={seed},lr={lrText},single={task.Name}"));
                }
                foreach (var v in options.Variants)
                {
                    var keys = new List<KeyValuePair<string, JsonNode?>>(keys0)
                    {
                        new("sharing.plan", JsonValue.Create(v.Plan)),
                        new("training.steps", JsonValue.Create(budget)),
                    };
                    if (v.SharedLayers is { } k) keys.Add(new("sharing.shared_layers", JsonValue.Create(k)));
                    if (v.Weighting is { } w) keys.Add(new("method.weighting", JsonValue.Create(w)));
                    keys.Add(new("method.aggregation", v.Aggregation is null ? null : JsonValue.Create(v.Aggregation)));
                    var labels = new Dictionary<string, string> { [RoleLabel] = VariantRole, [VariantLabel] = v.Name, [SeedLabel] = seed.ToString(CultureInfo.InvariantCulture), [LrLabel] = lrText };
                    cells.Add(SweepPlan.MakeCell(baseConfig, cells.Count, keys, labels, $"seed={seed},lr={lrText},variant={v.Name}"));
                }
            }
        }
        var extra = new JsonObject
        {
            ["tasks"] = new JsonArray(baseConfig.Tasks.Select(t => (JsonNode)JsonValue.Create(t.Name)).ToArray()),
            ["variants"] = new JsonArray(options.Variants.Select(v => (JsonNode)JsonValue.Create(v.Name)).ToArray()),
            ["seeds"] = options.Seeds,
            ["learning_rates"] = new JsonArray(rates.Select(r => (JsonNode)JsonValue.Create(r)).ToArray()),
            ["tuned"] = tuning,
            ["budget_steps"] = budget,
            ["single_task_steps"] = new JsonObject(perTask.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
            ["sampling"] = baseConfig.Training.Sampling.ToString(),
        };
        return new SweepPlan { Kind = Kind, Cells = cells, Extra = extra };
    }

    /// <summary>Steps of a task alone that give it as many batches as it gets in <paramref name="budget"/> multi-task steps.</summary>
    public static IReadOnlyDictionary<string, long> StepsPerTask(RunConfig config, long budget, DatasetSources? sources)
    {
        var names = config.Tasks.Select(t => t.Name).ToList();
        switch (config.Training.Sampling)
        {
            case SamplingMode.AllTasks:
                return names.ToDictionary(n => n, _ => budget);
            case SamplingMode.RoundRobin:
                return names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => Math.Max(1, budget / names.Count + (x.i < budget % names.Count ? 1 : 0)));
            default:
                var sizes = TrainSizes(config, sources, "proportional and temperature sampling share steps by training-set size");
                var sampler = new TaskSampler(names, names.Select(n => sizes[n]).ToList(), config.Training.Sampling, config.Seed, config.Training.Temperature);
                return names.Select((n, i) => (n, p: sampler.Probabilities[i])).ToDictionary(x => x.n, x => Math.Max(1, (long)Math.Round(budget * x.p)));
        }
    }

    /// <summary>The multi-task steps the trainer would take: training.epochs passes over the largest task (all_tasks) or
    /// over every task's batches (one task per step).</summary>
    static long DefaultBudget(RunConfig config, DatasetSources? sources)
    {
        var sizes = TrainSizes(config, sources, "without --budget or training.steps the budget is one pass of the trainer");
        var batches = config.Tasks.Select(t => (long)((sizes[t.Name] + t.BatchSize - 1) / t.BatchSize)).ToList();
        long perEpoch = config.Training.Sampling == SamplingMode.AllTasks ? batches.Max() : batches.Sum();
        perEpoch = Math.Max(1, (perEpoch + config.Training.GradAccumulation - 1) / config.Training.GradAccumulation);
        return Math.Max(1, (long)Math.Ceiling(config.Training.Epochs * perEpoch));
    }

    static Dictionary<string, int> TrainSizes(RunConfig config, DatasetSources? sources, string why)
    {
        if (config.Training.SharedInput)
            throw new ArgumentException($"compare: {why}; with training.shared_input give --budget (steps) or training.steps.");
        if (sources is null) throw new ArgumentException($"compare: {why}, which needs the data; give --budget (steps) or training.steps.");
        return config.Tasks.ToDictionary(t => t.Name, t => TaskData.Load(t, sources, config.Seed).Train.Count);
    }
}
