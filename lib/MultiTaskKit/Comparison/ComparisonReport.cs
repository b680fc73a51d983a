using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.Evaluation;
using MultiTaskKit.IO;
using MultiTaskKit.Sweeps;

namespace MultiTaskKit.Comparison;

/// <summary>How a comparison is judged.</summary>
/// <param name="Alpha">Significance level of the verdicts (two-sided).</param>
/// <param name="Resamples">Bootstrap resamples.</param>
/// <param name="Confidence">Coverage of every interval.</param>
/// <param name="BootstrapSeed">Seeds the bootstrap's resampling.</param>
public sealed record ComparisonOptions(double Alpha = 0.05, int Resamples = 1000, double Confidence = 0.95, ulong BootstrapSeed = 2018);

/// <summary>One metric of one configuration (single-task or a variant) on one task, per seed and summarised.</summary>
public sealed record MetricSeries(string Metric, IReadOnlyDictionary<ulong, double> PerSeed, SeedSummary Summary);

/// <summary>One task: its headline metric, the baseline's and every variant's metrics over seeds, and the verdicts.</summary>
public sealed record TaskComparison(string Task, string Headline, IReadOnlyList<MetricSeries> Baseline,
    IReadOnlyDictionary<string, IReadOnlyList<MetricSeries>> Variants, IReadOnlyList<Verdict> Verdicts);

/// <summary>Δm of one variant: per seed, summarised, and its mean rank among single-task and the variants.</summary>
public sealed record DeltaMSeries(string Variant, IReadOnlyDictionary<ulong, double> PerSeed, SeedSummary? Summary, double MeanRank);

/// <summary>
/// "Does multi-task learning help here?" from a comparison's finished cells (<see cref="ComparePlan"/>):
/// <list type="bullet">
/// <item>per task, each metric of single-task and of every variant as mean ± sd and a t interval over seeds
/// (<see cref="SeedSummary"/>);</item>
/// <item>Δm per variant (<see cref="DeltaM"/>, LibMTL's definition, over <see cref="DeltaMMetrics"/>) per seed, as
/// mean ± sd with its interval, and the mean rank (1 = best; single-task ranks with Δm = 0; ties share the mean rank;
/// over the seeds where every configuration finished), as benchmark tables of MTL methods report it (e.g. Navon et al.,
/// ICML 2022);</item>
/// <item>per task and variant, the paired seed test, the paired bootstrap combined over seeds and the verdict
/// (<see cref="Verdict"/>) on the task's headline metric (<see cref="Headlines"/>).</item>
/// </list>
/// It reads only what finished and names what did not (<see cref="Unfinished"/>); with a learning-rate grid it first
/// picks each configuration's rate by mean validation score.
/// </summary>
public sealed record ComparisonReport(
    IReadOnlyList<string> TaskNames,
    IReadOnlyList<string> VariantNames,
    IReadOnlyList<ulong> Seeds,
    IReadOnlyList<TaskComparison> Tasks,
    IReadOnlyList<DeltaMSeries> DeltaM,
    IReadOnlyDictionary<string, double> ChosenLearningRates,
    IReadOnlyList<CellStatus> Unfinished,
    ComparisonOptions Options)
{
    public const string JsonFile = "comparison.json";
    public const string TextFile = "comparison.txt";

    /// <summary>The metrics Δm averages, as the case study's table (classification: accuracy and macro-F1; regression:
    /// Pearson, Spearman and MSE).</summary>
    public static readonly IReadOnlyList<string> DeltaMMetrics = ["accuracy", "macro_f1", "pearson", "spearman", "mse"];

    /// <summary>A task's headline metric is the first of these it reports.</summary>
    public static readonly IReadOnlyList<string> Headlines = ["accuracy", "entity_f1", "f1", "micro_f1", "macro_f1", "pearson", "spearman", "mse"];

    public static ComparisonReport Build(string sweepDir, SweepPlan plan, ComparisonOptions? options = null)
    {
        options ??= new ComparisonOptions();
        if (plan.Kind != ComparePlan.Kind) throw new InvalidDataException($"{Path.Combine(sweepDir, SweepPlan.File)}: expected a comparison (kind 'compare', written by mtk compare), found kind '{plan.Kind}'.");
        var statuses = SweepStatus.Read(sweepDir, plan);
        var extra = plan.Extra ?? new JsonObject();
        var taskNames = (extra["tasks"] as JsonArray)?.Select(n => n!.GetValue<string>()).ToList() ?? [];
        var variantNames = (extra["variants"] as JsonArray)?.Select(n => n!.GetValue<string>()).ToList() ?? [];
        var finished = statuses.Where(s => s.State == CellState.Finished).ToList();
        ulong SeedOf(CellStatus s) => ulong.Parse(s.Cell.Label(ComparePlan.SeedLabel)!, CultureInfo.InvariantCulture);
        string LrOf(CellStatus s) => s.Cell.Label(ComparePlan.LrLabel) ?? "";

        // Headline metric of each task, from any finished cell that scored it.
        var headline = new Dictionary<string, string>();
        foreach (var t in taskNames)
        {
            var metrics = finished.Select(s => s.Metrics?["tasks"]?[t]?["metrics"] as JsonObject).FirstOrDefault(m => m is not null);
            headline[t] = metrics is null ? "" : Headlines.FirstOrDefault(metrics.ContainsKey) ?? metrics.First().Key;
        }
        double Signed(string metric, double v) => MetricDirections.HigherIsBetter(metric) ? v : -v;

        // Learning rate per configuration: the best mean validation score over seeds (only one rate when not tuning).
        var chosen = new Dictionary<string, string>();
        string Pick(string config, IEnumerable<CellStatus> cells, Func<CellStatus, double?> score)
        {
            var best = cells.GroupBy(LrOf).Select(g => (Lr: g.Key, Scores: g.Select(score).Where(x => x is not null).Select(x => x!.Value).ToList()))
                .Where(g => g.Scores.Count > 0).OrderByDescending(g => g.Scores.Average()).ThenBy(g => g.Lr, StringComparer.Ordinal).FirstOrDefault();
            return chosen[config] = best.Lr ?? "";
        }
        var singles = new Dictionary<string, Dictionary<ulong, CellStatus>>();
        foreach (var t in taskNames)
        {
            var cells = finished.Where(s => s.Cell.Label(ComparePlan.RoleLabel) == ComparePlan.SingleRole && s.Cell.Label(ComparePlan.TaskLabel) == t).ToList();
            var lr = Pick($"single-task {t}", cells, s => s.Validation(t, headline[t]) is { } v ? Signed(headline[t], v) : null);
            singles[t] = cells.Where(s => LrOf(s) == lr).ToDictionary(SeedOf);
        }
        var variants = new Dictionary<string, Dictionary<ulong, CellStatus>>();
        foreach (var v in variantNames)
        {
            var cells = finished.Where(s => s.Cell.Label(ComparePlan.RoleLabel) == ComparePlan.VariantRole && s.Cell.Label(ComparePlan.VariantLabel) == v).ToList();
            var lr = Pick(v, cells, s =>
            {
                var parts = taskNames.Select(t => s.Validation(t, headline[t]) is { } x ? Signed(headline[t], x) : (double?)null).ToList();
                return parts.All(p => p is not null) ? parts.Average(p => p!.Value) : null;
            });
            variants[v] = cells.Where(s => LrOf(s) == lr).ToDictionary(SeedOf);
        }

        // Per task: summaries and verdicts.
        var tasks = new List<TaskComparison>();
        var predictionCache = new Dictionary<string, IReadOnlyDictionary<string, TestPredictions.TaskPredictions>?>();
        IReadOnlyDictionary<string, TestPredictions.TaskPredictions>? Predictions(CellStatus s)
        {
            var dir = s.Cell.RunDirIn(sweepDir);
            if (!predictionCache.TryGetValue(dir, out var p)) predictionCache[dir] = p = TestPredictions.Read(dir);
            return p;
        }
        foreach (var t in taskNames)
        {
            var baseCells = singles[t];
            var metricNames = baseCells.Values.Select(s => s.Metrics?["tasks"]?[t]?["metrics"] as JsonObject).FirstOrDefault(m => m is not null)?.Select(kv => kv.Key).ToList() ?? [];
            List<MetricSeries> Series(Dictionary<ulong, CellStatus> cells) => metricNames
                .Select(m => (m, values: cells.Where(kv => kv.Value.Test(t, m) is { } x && double.IsFinite(x)).ToDictionary(kv => kv.Key, kv => kv.Value.Test(t, m)!.Value)))
                .Where(x => x.values.Count > 0)
                .Select(x => new MetricSeries(x.m, x.values, SeedSummary.Of(x.values.OrderBy(kv => kv.Key).Select(kv => kv.Value).ToList(), options.Confidence))).ToList();
            var variantSeries = variantNames.ToDictionary(v => v, v => (IReadOnlyList<MetricSeries>)Series(variants[v]));
            var verdicts = new List<Verdict>();
            var h = headline[t];
            foreach (var v in variantNames)
            {
                var seeds = variants[v].Keys.Intersect(baseCells.Keys).Order()
                    .Where(s => variants[v][s].Test(t, h) is { } a && double.IsFinite(a) && baseCells[s].Test(t, h) is { } b && double.IsFinite(b)).ToList();
                if (seeds.Count == 0 || h.Length == 0) continue;
                var seedTest = PairedSeedTest.Of(
                    seeds.Select(s => Signed(h, variants[v][s].Test(t, h)!.Value)).ToList(),
                    seeds.Select(s => Signed(h, baseCells[s].Test(t, h)!.Value)).ToList(), options.Confidence);
                BootstrapResult? boot = null;
                if (ExampleMetric.Find(h) is { } metric)
                {
                    var pairs = new List<PairedPredictions>();
                    foreach (var s in seeds)
                    {
                        var a = Predictions(variants[v][s])?.GetValueOrDefault(t);
                        var b = Predictions(baseCells[s])?.GetValueOrDefault(t);
                        // list kinds (multi-label, token tags) record index lists, which no per-example metric reads
                        if (a is null || b is null || !a.IsScalar || !b.IsScalar) { pairs.Clear(); break; }
                        pairs.Add(Pair(a, b, variants[v][s].Cell.RunDirIn(sweepDir), baseCells[s].Cell.RunDirIn(sweepDir)));
                    }
                    if (pairs.Count > 0) boot = PairedBootstrap.Run(pairs, metric, options.Resamples, options.BootstrapSeed, options.Confidence);
                }
                verdicts.Add(Verdict.Decide(t, v, h, seedTest, boot, options.Alpha));
            }
            tasks.Add(new TaskComparison(t, h, Series(baseCells), variantSeries, verdicts));
        }

        // Δm per variant and seed, over the seeds where the variant and every baseline finished.
        var dms = new Dictionary<string, Dictionary<ulong, double>>();
        foreach (var v in variantNames)
        {
            dms[v] = new Dictionary<ulong, double>();
            foreach (var (seed, cell) in variants[v])
            {
                if (!taskNames.All(t => singles[t].ContainsKey(seed))) continue;
                var multi = new Dictionary<string, IReadOnlyDictionary<string, double>>();
                var single = new Dictionary<string, IReadOnlyDictionary<string, double>>();
                foreach (var t in taskNames)
                {
                    var ms = DeltaMMetrics.Where(m => cell.Test(t, m) is { } a && double.IsFinite(a) && singles[t][seed].Test(t, m) is { } b && double.IsFinite(b) && b != 0).ToList();
                    if (ms.Count == 0 && headline[t].Length > 0) ms = [headline[t]];
                    multi[t] = ms.ToDictionary(m => m, m => cell.Test(t, m)!.Value);
                    single[t] = ms.ToDictionary(m => m, m => singles[t][seed].Test(t, m)!.Value);
                }
                dms[v][seed] = Evaluation.DeltaM.Compute(multi, single, multi.Values.SelectMany(m => m.Keys).Distinct().ToDictionary(m => m, MetricDirections.HigherIsBetter));
            }
        }
        var complete = variantNames.Count == 0 ? [] : dms.Values.Select(d => (IEnumerable<ulong>)d.Keys).Aggregate((a, b) => a.Intersect(b)).Order().ToList();
        var ranks = variantNames.ToDictionary(v => v, _ => new List<double>());
        foreach (var seed in complete)
        {
            var scores = variantNames.Select(v => (v, dm: dms[v][seed])).Append(("single-task", 0.0)).ToList();
            foreach (var (v, dm) in scores.Where(x => x.Item1 != "single-task"))
                ranks[v].Add(1 + scores.Count(x => x.Item2 > dm) + (scores.Count(x => x.Item2 == dm) - 1) / 2.0);
        }
        var deltaM = variantNames.Select(v => new DeltaMSeries(v, dms[v],
            dms[v].Count == 0 ? null : SeedSummary.Of(dms[v].OrderBy(kv => kv.Key).Select(kv => kv.Value).ToList(), options.Confidence),
            ranks[v].Count == 0 ? double.NaN : ranks[v].Average())).ToList();
        var seedsAll = statuses.Select(SeedOf).Distinct().Order().ToList();
        return new ComparisonReport(taskNames, variantNames, seedsAll, tasks, deltaM,
            chosen.Where(kv => kv.Value.Length > 0).ToDictionary(kv => kv.Key, kv => double.Parse(kv.Value, CultureInfo.InvariantCulture)),
            statuses.Where(s => s.State != CellState.Finished).ToList(), options);
    }

    /// <summary>Aligns two runs' predictions of one task by example index; they must have scored the same examples.</summary>
    static PairedPredictions Pair(TestPredictions.TaskPredictions variant, TestPredictions.TaskPredictions baseline, string variantDir, string baselineDir)
    {
        if (variant.Rows.Count != baseline.Rows.Count
            || variant.Rows.Zip(baseline.Rows).Any(p => p.First.Index != p.Second.Index || p.First.Gold != p.Second.Gold))
            throw new InvalidDataException($"task '{variant.Task}': the test predictions of '{variantDir}' and '{baselineDir}' are not on the same examples ({variant.Rows.Count} and {baseline.Rows.Count} rows, or different indices or gold values); a paired test needs the same test set.");
        return new PairedPredictions(variant.Gold, variant.Predicted, baseline.Predicted);
    }

    /// <summary>Every verdict line, task by task.</summary>
    public IEnumerable<string> VerdictLines() => Tasks.SelectMany(t => t.Verdicts).Select(v => v.Line());

    /// <summary>The whole report as plain text: per task the headline metric of each configuration, Δm, verdicts, what is missing.</summary>
    public string ToText()
    {
        var w = new System.Text.StringBuilder();
        w.AppendLine($"comparison: {TaskNames.Count} tasks, single-task and {VariantNames.Count} variant{(VariantNames.Count == 1 ? "" : "s")}, seeds {string.Join(", ", Seeds)}; mean ± sd [{Options.Confidence * 100:0} % t interval] over seeds");
        foreach (var t in Tasks)
        {
            w.AppendLine($"task {t.Task} (headline {t.Headline}):");
            void Row(string name, IReadOnlyList<MetricSeries> series)
            {
                var parts = series.Where(s => DeltaMMetrics.Contains(s.Metric) || s.Metric == t.Headline)
                    .Select(s => $"{s.Metric} {s.Summary.Format()} (n={s.Summary.Count})");
                w.AppendLine($"  {name,-24} {string.Join("; ", parts)}");
            }
            Row("single-task", t.Baseline);
            foreach (var (v, s) in t.Variants) Row(v, s);
        }
        w.AppendLine("Δm against single-task (%), mean ± sd [interval] over seeds, and mean rank (1 = best, single-task included):");
        foreach (var d in DeltaM)
            w.AppendLine($"  {d.Variant,-24} {(d.Summary is null ? "n/a" : d.Summary.Format("F2"))} (n={d.PerSeed.Count}), mean rank {(double.IsNaN(d.MeanRank) ? "n/a" : d.MeanRank.ToString("F2", CultureInfo.InvariantCulture))}");
        if (ChosenLearningRates.Values.Distinct().Count() > 1)
            w.AppendLine("learning rates chosen on validation: " + string.Join(", ", ChosenLearningRates.Select(kv => $"{kv.Key} {kv.Value.ToString("R", CultureInfo.InvariantCulture)}")));
        w.AppendLine("verdicts:");
        foreach (var line in VerdictLines()) w.AppendLine("  " + line);
        if (Unfinished.Count > 0)
        {
            w.AppendLine($"not finished ({Unfinished.Count} of the plan's cells; the figures above use the finished ones):");
            foreach (var u in Unfinished) w.AppendLine($"  cell {u.Cell.Index} {u.Cell.Id}: {StateText(u.State)}");
        }
        return w.ToString();
    }

    public static string StateText(CellState s) => s switch
    {
        CellState.NotStarted => "not started",
        CellState.Running => "running",
        CellState.Interrupted => "interrupted (resumes from its checkpoint)",
        _ => "finished",
    };

    public JsonObject ToJson()
    {
        static JsonNode? N(double x) => double.IsFinite(x) ? JsonValue.Create(x) : null;
        static JsonObject S(SeedSummary s) => new() { ["n"] = s.Count, ["mean"] = N(s.Mean), ["sd"] = N(s.StandardDeviation), ["low"] = N(s.Low), ["high"] = N(s.High) };
        static JsonObject Series(IEnumerable<MetricSeries> series)
        {
            var o = new JsonObject();
            foreach (var m in series)
                o[m.Metric] = new JsonObject
                {
                    ["summary"] = S(m.Summary),
                    ["per_seed"] = new JsonObject(m.PerSeed.OrderBy(kv => kv.Key).Select(kv => KeyValuePair.Create(kv.Key.ToString(CultureInfo.InvariantCulture), N(kv.Value)))),
                };
            return o;
        }
        var tasks = new JsonObject();
        foreach (var t in Tasks)
        {
            var variants = new JsonObject();
            foreach (var (v, s) in t.Variants) variants[v] = Series(s);
            tasks[t.Task] = new JsonObject
            {
                ["headline"] = t.Headline,
                ["single_task"] = Series(t.Baseline),
                ["variants"] = variants,
                ["verdicts"] = new JsonArray(t.Verdicts.Select(v => (JsonNode)new JsonObject
                {
                    ["variant"] = v.Variant, ["metric"] = v.Metric, ["verdict"] = v.KindText, ["alpha"] = v.Alpha,
                    ["seed_test"] = new JsonObject
                    {
                        ["seeds"] = v.Seeds.Count, ["mean_difference"] = N(v.Seeds.MeanDifference), ["sd"] = N(v.Seeds.StandardDeviation),
                        ["t"] = N(v.Seeds.T), ["p"] = N(v.Seeds.PValue), ["low"] = N(v.Seeds.Low), ["high"] = N(v.Seeds.High), ["effect_size_dz"] = N(v.Seeds.EffectSize),
                    },
                    ["bootstrap"] = v.Bootstrap is { } b ? new JsonObject
                    {
                        ["observed"] = N(b.Observed), ["low"] = N(b.Low), ["high"] = N(b.High), ["se"] = N(b.StandardError), ["p"] = N(b.PValue), ["resamples"] = b.Resamples, ["seeds"] = b.Seeds,
                    } : null,
                    ["seeds_needed_80pct_power"] = v.SeedsNeeded,
                    ["line"] = v.Line(),
                }).ToArray()),
            };
        }
        var dm = new JsonObject();
        foreach (var d in DeltaM)
            dm[d.Variant] = new JsonObject
            {
                ["summary"] = d.Summary is null ? null : S(d.Summary),
                ["per_seed"] = new JsonObject(d.PerSeed.OrderBy(kv => kv.Key).Select(kv => KeyValuePair.Create(kv.Key.ToString(CultureInfo.InvariantCulture), N(kv.Value)))),
                ["mean_rank"] = N(d.MeanRank),
            };
        return new JsonObject
        {
            ["tasks_order"] = new JsonArray(TaskNames.Select(t => (JsonNode)JsonValue.Create(t)).ToArray()),
            ["variants_order"] = new JsonArray(VariantNames.Select(t => (JsonNode)JsonValue.Create(t)).ToArray()),
            ["seeds"] = new JsonArray(Seeds.Select(s => (JsonNode)JsonValue.Create(s)).ToArray()),
            ["alpha"] = Options.Alpha, ["confidence"] = Options.Confidence, ["resamples"] = Options.Resamples,
            ["delta_m_definition"] = "mean over tasks and metrics (accuracy, macro_f1; pearson, spearman, mse) of ±(multi-task − single-task)/single-task × 100, sign + for higher-is-better (Maninis et al. 2019; LibMTL)",
            ["tasks"] = tasks,
            ["delta_m"] = dm,
            ["learning_rates"] = new JsonObject(ChosenLearningRates.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))),
            ["unfinished"] = new JsonArray(Unfinished.Select(u => (JsonNode)new JsonObject { ["cell"] = u.Cell.Index, ["id"] = u.Cell.Id, ["state"] = StateText(u.State) }).ToArray()),
        };
    }

    /// <summary>Writes <c>comparison.json</c> and <c>comparison.txt</c> into the sweep folder, atomically.</summary>
    public void Save(string sweepDir)
    {
        AtomicFile.WriteAllText(Path.Combine(sweepDir, JsonFile), ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        AtomicFile.WriteAllText(Path.Combine(sweepDir, TextFile), ToText());
    }
}
