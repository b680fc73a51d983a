using System.CommandLine;
using System.Text.Json.Nodes;
using MultiTaskKit.Charts;
using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;
using MultiTaskKit.IO;
using MultiTaskKit.Runtime;
using MultiTaskKit.Training;
using Spectre.Console;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Cli.Commands;

static class CaseStudyCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "quick (2-core CPU, training subset, 128 tokens, minutes), standard (all of IMDB, 256 tokens, one epoch, about an hour in bf16) or full (all of IMDB, 256 tokens, 3 epochs with dropout, about an hour and a quarter in bf16).", DefaultValueFactory = _ => "quick" };
        var model = new Option<string>("--model") { Description = "Trunk: minilm (embedded all-MiniLM-L6-v2), a Hugging Face model folder, or a hub id.", DefaultValueFactory = _ => "minilm" };
        var output = new Option<string?>("--out") { Description = "Run folder (default: runs/casestudy-<preset>)." }.NonEmptyPath();
        var seed = new Option<ulong>("--seed") { Description = "Seed of splits, subsets, initialisation, batches and dropout.", DefaultValueFactory = _ => 42UL };
        var compare = new Option<bool>("--compare") { Description = "Also train the single-task baselines and hard sharing (same budget) and print Δm." };
        var resume = new Option<bool>("--resume") { Description = "Continue a killed run in --out from its last checkpoint (runs without one start, and say so)." };
        var imdbTrain = new Option<int?>("--imdb-train") { Description = "Override the preset's IMDB training subset size." };
        var imdbTest = new Option<int?>("--imdb-test") { Description = "Override the preset's IMDB test subset size (0: the full test set)." };
        var plan = new Option<string?>("--plan") { Description = $"Architecture instead of split@2 (sharing.plan, with its default settings): {string.Join(", ", ArchitectureCatalog.Names)}; the run folder gets the name as a suffix. Several, comma-separated, train one after another; with --compare they share the baselines and print one table." };
        var steps = new Option<long?>("--steps") { Description = "Override the number of optimizer steps (default: one pass over the IMDB training subset)." };
        var precision = PrecisionOption.Create("auto (MTK_PRECISION when set)");
        var command = new Command("casestudy", "The article's case study: BERT shared by IMDB (cross-entropy) and VADER tweets (MSE), lower 2 layers shared.");
        foreach (var o in new Option[] { preset, model, output, seed, compare, resume, imdbTrain, imdbTest, steps, precision, plan }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var runtime = CommonOptions.Apply(parse);
            var config = CaseStudy.Preset(parse.GetValue(preset)!, parse.GetValue(model)!, parse.GetValue(seed));
            // The presets ask for auto; --precision (or MTK_PRECISION) overrides it.
            config = config with { Runtime = runtime with { Precision = PrecisionOption.Requested(parse, precision) ?? config.Runtime.Precision } };
            if (parse.GetValue(imdbTrain) is { } n || parse.GetValue(imdbTest) is not null)
                config = config with
                {
                    Tasks = config.Tasks.Select(t => t.Name != CaseStudy.ImdbTask ? t : t with
                    {
                        TrainSubset = parse.GetValue(imdbTrain) ?? t.TrainSubset,
                        TestSubset = parse.GetValue(imdbTest) is { } m ? (m == 0 ? null : m) : t.TestSubset,
                    }).ToList(),
                };
            // One plan, or several to compare side by side (same data, seed and step budget).
            var plans = parse.GetValue(plan) is { } p
                ? p.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(x => x.ToLowerInvariant()).ToList()
                : [];
            foreach (var name in plans)
                if (!ArchitectureCatalog.Contains(name))
                    throw new ArgumentException($"--plan: expected one or more (comma-separated) of {string.Join(", ", ArchitectureCatalog.Names)}, found '{name}'.");
            if (parse.GetValue(steps) is { } st) config = config with { Training = config.Training with { Steps = st } };
            var runs = plans.Count == 0
                ? [config]
                : plans.Select(name => CaseStudy.WithPlan(config, name, name)).ToList();
            var output0 = parse.GetValue(output);
            string DirOf(RunConfig c) => output0 is null ? Path.Combine("runs", c.Name) : runs.Count == 1 ? output0 : $"{output0}-{c.Sharing.Plan}";
            var sources = DatasetSources.Default(parse.GetValue(CommonOptions.DataDir));
            var trained = new List<(string Label, string Dir, TrainingResult Result)>();
            foreach (var run in runs)
            {
                string label = Label(run);
                AnsiConsole.MarkupLine(Markup.Escape($"case study, preset {parse.GetValue(preset)}: {run.Model.Trunk}, {label}, {run.Optimizer.Name} lr {run.Optimizer.Lr}, {TorchRuntime.Threads} threads, data from {sources.DataDir ?? sources.CacheDir}"));
                var result = Train(run, DirOf(run), sources, parse.GetValue(resume));
                TrainingConsole.PrintReport(result.Test, $"multi-task ({label}): test metrics");
                TrainingConsole.PrintRun(result);
                trained.Add((label, DirOf(run), result));
            }
            if (!parse.GetValue(compare)) return 0;

            var first = trained[0];
            var baseDir = output0 ?? Path.Combine("runs", config.Name);
            var hard = Train(CaseStudy.WithPlan(config, SharingPlanKind.Hard, "hard"), baseDir + "-hard", sources, parse.GetValue(resume));
            var singles = config.Tasks.Select(t => Train(CaseStudy.SingleTask(config, t.Name, first.Result.Steps), $"{baseDir}-single-{t.Name}", sources, parse.GetValue(resume))).ToList();
            var baseline = new MetricsReport(singles.SelectMany(s => s.Test.Tasks).ToList());
            var hardDm = DeltaMPercent(hard.Test, baseline);
            TrainingConsole.PrintReport(hard.Test with { DeltaM = hardDm }, "hard sharing: test metrics");
            TrainingConsole.PrintReport(baseline, "single-task baselines (isolated plan, same steps): test metrics");
            var rows = new List<(string Label, string Dir, TrainingResult Result, double DeltaM)>();
            foreach (var (label, dir, result) in trained)
            {
                double dm = DeltaMPercent(result.Test, baseline);
                rows.Add((label, dir, result, dm));
                TrainingConsole.PrintReport(result.Test with { DeltaM = dm }, $"multi-task ({label}) against the baselines");
                // metrics.json of each multi-task run gains delta_m and the comparison.
                var metricsPath = Path.Combine(dir, Trainer.MetricsFile);
                var json = JsonNode.Parse(File.ReadAllText(metricsPath))!.AsObject();
                json["delta_m"] = dm;
                json["comparison"] = new JsonObject
                {
                    ["hard_sharing_delta_m"] = hardDm,
                    ["hard_sharing"] = hard.Test.ToJson()["tasks"]!.DeepClone(),
                    ["single_task"] = baseline.ToJson()["tasks"]!.DeepClone(),
                    ["delta_m_definition"] = "mean over tasks and metrics (accuracy, macro_f1; pearson, spearman, mse) of ±(multi-task − single-task)/single-task × 100, sign + for higher-is-better (Maninis et al. 2019; LibMTL)",
                };
                AtomicFile.WriteAllText(metricsPath, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            }
            rows.Add(("hard", hard.RunDir, hard, hardDm));
            PrintComparison(rows);
            return 0;
        });
        return command;
    }

    static string Label(RunConfig c) => c.Sharing.Plan == SharingPlanKind.Split ? $"split@{c.Sharing.SharedLayers}" : c.Sharing.Plan;

    /// <summary>One row per architecture: the headline metrics, Δm against the single-task baselines, parameters (from
    /// each run's metrics.json) and training seconds per optimizer step.</summary>
    static void PrintComparison(IReadOnlyList<(string Label, string Dir, TrainingResult Result, double DeltaM)> rows)
    {
        var table = new Table().Title("architectures at the same step budget (test)").AddColumn("architecture");
        var tasks = rows[0].Result.Test.Tasks.Select(t => t.Task).ToList();
        foreach (var t in tasks) table.AddColumn(new TableColumn(Markup.Escape(t)).RightAligned());
        foreach (var c in new[] { "Δm %", "parameters", "shared", "s/step" }) table.AddColumn(new TableColumn(Markup.Escape(c)).RightAligned());
        foreach (var (label, dir, result, dm) in rows)
        {
            var cells = new List<string> { label };
            foreach (var t in tasks)
            {
                var m = result.Test[t].Metrics.Values;
                cells.Add(m.TryGetValue("accuracy", out var a) ? $"acc {a:F4}" : m.TryGetValue("pearson", out var r) ? $"r {r:F4}" : "");
            }
            var parameters = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, Trainer.MetricsFile)))?["run"]?["parameters"];
            cells.Add($"{dm:+0.00;-0.00}");
            cells.Add(parameters?["total"]?.GetValue<long>().ToString("N0", System.Globalization.CultureInfo.InvariantCulture) ?? "");
            cells.Add(parameters?["shared"]?.GetValue<long>().ToString("N0", System.Globalization.CultureInfo.InvariantCulture) ?? "");
            cells.Add(result.Steps > 0 ? (result.TrainTime.TotalSeconds / result.Steps).ToString("F3", System.Globalization.CultureInfo.InvariantCulture) : "");
            table.AddRow(cells.Select(Markup.Escape).ToArray());
        }
        AnsiConsole.Write(table);
    }

    static TrainingResult Train(RunConfig config, string dir, DatasetSources sources, bool resume)
    {
        AnsiConsole.MarkupLine(Markup.Escape($"== {config.Name} -> {dir}"));
        return TrainingConsole.Run(p =>
        {
            using var trainer = new Trainer(config, dir, sources)
            {
                Progress = p, Log = m => AnsiConsole.MarkupLine(Markup.Escape(m)), WriteCharts = (dir, history, test) => RunCharts.Write(dir, history, test),
            };
            return trainer.Run(TrainCommand.ResumeChoice(false, resume, dir));
        });
    }

    static readonly string[] DeltaMMetrics = ["accuracy", "macro_f1", "pearson", "spearman", "mse"];

    /// <summary>Δm in percent (Evaluation/DeltaM, LibMTL's definition) over the headline metrics both reports have.</summary>
    static double DeltaMPercent(MetricsReport multi, MetricsReport single)
    {
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Pick(MetricsReport r) =>
            r.Tasks.ToDictionary(t => t.Task, t => (IReadOnlyDictionary<string, double>)t.Metrics.Values.Where(kv => DeltaMMetrics.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value));
        return DeltaM.Compute(Pick(multi), Pick(single));
    }
}
