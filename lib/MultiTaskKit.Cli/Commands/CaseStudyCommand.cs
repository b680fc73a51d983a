using System.CommandLine;
using System.Text.Json.Nodes;
using MultiTaskKit.Charts;
using MultiTaskKit.Comparison;
using MultiTaskKit.Sweeps;
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
        var compare = new Option<bool>("--compare") { Description = "Instead: mtk compare of the preset: the plan(s) and hard sharing against the single-task baselines at the same budget over --seeds seeds (Δm, paired tests, a verdict per task, charts)." };
        var seeds = new Option<int>("--seeds") { Description = "With --compare: seeds per configuration.", DefaultValueFactory = _ => 1 };
        var resume = new Option<bool>("--resume") { Description = "Continue a killed run in --out from its last checkpoint (runs without one start, and say so)." };
        var imdbTrain = new Option<int?>("--imdb-train") { Description = "Override the preset's IMDB training subset size." };
        var imdbTest = new Option<int?>("--imdb-test") { Description = "Override the preset's IMDB test subset size (0: the full test set)." };
        var plan = new Option<string?>("--plan") { Description = $"Architecture instead of split@2 (sharing.plan, with its default settings): {string.Join(", ", ArchitectureCatalog.Names)}; the run folder gets the name as a suffix. Several, comma-separated, train one after another; with --compare they share the baselines and print one table." };
        var steps = new Option<long?>("--steps") { Description = "Override the number of optimizer steps (default: one pass over the IMDB training subset)." };
        var precision = PrecisionOption.Create("auto (MTK_PRECISION when set)");
        var command = new Command("casestudy", "The article's case study: BERT shared by IMDB (cross-entropy) and VADER tweets (MSE), lower 2 layers shared.");
        foreach (var o in new Option[] { preset, model, output, seed, compare, seeds, resume, imdbTrain, imdbTest, steps, precision, plan }) command.Options.Add(o);
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
            var output0 = parse.GetValue(output);
            var sources = DatasetSources.Default(parse.GetValue(CommonOptions.DataDir));
            if (parse.GetValue(compare))
            {
                // A thin use of mtk compare: the plans (default split@2) and hard sharing against the single-task
                // baselines at the same budget, over --seeds seeds, in one comparison folder that resumes.
                var variantPlans = (plans.Count == 0 ? [SharingPlanKind.Split] : plans).Select(x => x == SharingPlanKind.Split ? $"split@{config.Sharing.SharedLayers}" : x).ToList();
                if (!variantPlans.Contains(SharingPlanKind.Hard)) variantPlans.Add(SharingPlanKind.Hard);
                var variants = CompareVariant.Cross(variantPlans, [], config.Sharing.Plan, config.Sharing.SharedLayers, config.Method.Weighting, config.Method.Aggregation);
                var folder = output0 ?? Path.Combine("runs", $"{config.Name}-compare");
                AnsiConsole.MarkupLine(Markup.Escape($"case study, preset {parse.GetValue(preset)}, compared: {string.Join(", ", variants.Select(v => v.Name))} against single-task, {parse.GetValue(seeds)} seed(s), {TorchRuntime.Threads} threads, data from {sources.DataDir ?? sources.CacheDir}"));
                int code = CompareCommand.Run(config, new CompareRequest(parse.GetValue(seeds), variants), folder, sources, planOnly: false, parallel: 1,
                    parse.GetValue(CommonOptions.Threads), parse.GetValue(CommonOptions.DataDir), runtime, new ComparisonOptions(), new SchedulerOptions());
                PrintComparison(folder, SweepPlan.Load(folder));
                return code;
            }
            var runs = plans.Count == 0
                ? [config]
                : plans.Select(name => CaseStudy.WithPlan(config, name, name)).ToList();
            string DirOf(RunConfig c) => output0 is null ? Path.Combine("runs", c.Name) : runs.Count == 1 ? output0 : $"{output0}-{c.Sharing.Plan}";
            foreach (var run in runs)
            {
                string label = Label(run);
                AnsiConsole.MarkupLine(Markup.Escape($"case study, preset {parse.GetValue(preset)}: {run.Model.Trunk}, {label}, {run.Optimizer.Name} lr {run.Optimizer.Lr}, {TorchRuntime.Threads} threads, data from {sources.DataDir ?? sources.CacheDir}"));
                var result = Train(run, DirOf(run), sources, parse.GetValue(resume));
                TrainingConsole.PrintReport(result.Test, $"multi-task ({label}): test metrics");
                TrainingConsole.PrintRun(result);
            }
            return 0;
        });
        return command;
    }

    static string Label(RunConfig c) => c.Sharing.Plan == SharingPlanKind.Split ? $"split@{c.Sharing.SharedLayers}" : c.Sharing.Plan;

    /// <summary>One row per configuration of the comparison's first seed: the headline metrics, parameters (from each
    /// run's metrics.json) and training seconds per optimizer step.</summary>
    static void PrintComparison(string folder, SweepPlan plan)
    {
        var statuses = SweepStatus.Read(folder, plan).Where(s => s.State == CellState.Finished).ToList();
        if (statuses.Count == 0) return;
        var seed = statuses.Min(s => s.Cell.Config.Seed);
        var rows = statuses.Where(s => s.Cell.Config.Seed == seed && s.Cell.Config.Optimizer.Lr == statuses[0].Cell.Config.Optimizer.Lr).ToList();
        var tasks = rows.SelectMany(r => r.Cell.Config.Tasks.Select(t => t.Name)).Distinct().ToList();
        var table = new Table().Title(Markup.Escape($"configurations at the same step budget (test, seed {seed})")).AddColumn("configuration");
        foreach (var t in tasks) table.AddColumn(new TableColumn(Markup.Escape(t)).RightAligned());
        foreach (var c in new[] { "parameters", "shared", "s/step" }) table.AddColumn(new TableColumn(Markup.Escape(c)).RightAligned());
        foreach (var r in rows)
        {
            var label = r.Cell.Label(ComparePlan.VariantLabel) ?? $"single-task {r.Cell.Label(ComparePlan.TaskLabel)}";
            var cells = new List<string> { label };
            foreach (var t in tasks) cells.Add(SweepReport.Headline(r, t) is { } h ? $"{(h.Metric == "accuracy" ? "acc" : h.Metric == "pearson" ? "r" : h.Metric)} {h.Value.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)}" : "");
            var run = r.Metrics?["run"];
            cells.Add(run?["parameters"]?["total"]?.GetValue<long>().ToString("N0", System.Globalization.CultureInfo.InvariantCulture) ?? "");
            cells.Add(run?["parameters"]?["shared"]?.GetValue<long>().ToString("N0", System.Globalization.CultureInfo.InvariantCulture) ?? "");
            double seconds = run?["train_seconds"]?.GetValue<double>() ?? 0;
            long steps = run?["steps"]?.GetValue<long>() ?? 0;
            cells.Add(steps > 0 ? (seconds / steps).ToString("F3", System.Globalization.CultureInfo.InvariantCulture) : "");
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
}
