using System.CommandLine;
using System.Text.Json.Nodes;
using MultiTaskKit.Charts;
using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;
using MultiTaskKit.IO;
using MultiTaskKit.Runtime;
using MultiTaskKit.Training;
using Spectre.Console;

namespace MultiTaskKit.Cli.Commands;

static class CaseStudyCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "quick (2-core CPU, training subset, 128 tokens, minutes), standard (all of IMDB, 256 tokens, one epoch, about an hour in bf16) or full (all of IMDB, 256 tokens, 3 epochs).", DefaultValueFactory = _ => "quick" };
        var model = new Option<string>("--model") { Description = "Trunk: minilm (embedded all-MiniLM-L6-v2), a Hugging Face model folder, or a hub id.", DefaultValueFactory = _ => "minilm" };
        var output = new Option<string?>("--out") { Description = "Run folder (default: runs/casestudy-<preset>)." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of splits, subsets, initialisation, batches and dropout.", DefaultValueFactory = _ => 42UL };
        var compare = new Option<bool>("--compare") { Description = "Also train the single-task baselines and hard sharing (same budget) and print Δm." };
        var resume = new Option<bool>("--resume") { Description = "Continue a killed run in --out from its last checkpoint (runs without one start, and say so)." };
        var imdbTrain = new Option<int?>("--imdb-train") { Description = "Override the preset's IMDB training subset size." };
        var imdbTest = new Option<int?>("--imdb-test") { Description = "Override the preset's IMDB test subset size (0: the full test set)." };
        var plan = new Option<string?>("--plan") { Description = $"Architecture instead of split@2 (sharing.plan, with its default settings): {string.Join(", ", ArchitectureCatalog.Names)}; the run folder gets the name as a suffix." };
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
            if (parse.GetValue(plan) is { } p)
            {
                if (!ArchitectureCatalog.Contains(p))
                    throw new ArgumentException($"--plan: expected one of {string.Join(", ", ArchitectureCatalog.Names)}, found '{p}'.");
                config = CaseStudy.WithPlan(config, p.ToLowerInvariant(), p.ToLowerInvariant());
            }
            string label = config.Sharing.Plan == SharingPlanKind.Split ? $"split@{config.Sharing.SharedLayers}" : config.Sharing.Plan;
            if (parse.GetValue(steps) is { } st) config = config with { Training = config.Training with { Steps = st } };
            var dir = parse.GetValue(output) ?? Path.Combine("runs", config.Name);
            var sources = DatasetSources.Default(parse.GetValue(CommonOptions.DataDir));
            AnsiConsole.MarkupLine(Markup.Escape($"case study, preset {parse.GetValue(preset)}: {config.Model.Trunk}, {label}, {config.Optimizer.Name} lr {config.Optimizer.Lr}, {TorchRuntime.Threads} threads, data from {sources.DataDir ?? sources.CacheDir}"));
            var main = Train(config, dir, sources, parse.GetValue(resume));
            TrainingConsole.PrintReport(main.Test, $"multi-task ({label}): test metrics");
            TrainingConsole.PrintRun(main);
            if (!parse.GetValue(compare)) return 0;

            var hard = Train(CaseStudy.WithPlan(config, SharingPlanKind.Hard, "hard"), dir + "-hard", sources, parse.GetValue(resume));
            var singles = config.Tasks.Select(t => Train(CaseStudy.SingleTask(config, t.Name, main.Steps), $"{dir}-single-{t.Name}", sources, parse.GetValue(resume))).ToList();
            var baseline = new MetricsReport(singles.SelectMany(s => s.Test.Tasks).ToList());
            var splitDm = DeltaMPercent(main.Test, baseline);
            var hardDm = DeltaMPercent(hard.Test, baseline);
            TrainingConsole.PrintReport(hard.Test with { DeltaM = hardDm }, "hard sharing: test metrics");
            TrainingConsole.PrintReport(baseline, "single-task baselines (isolated plan, same steps): test metrics");
            TrainingConsole.PrintReport(main.Test with { DeltaM = splitDm }, $"multi-task ({label}) against the baselines");
            // metrics.json of the main run gains delta_m and the comparison.
            var metricsPath = Path.Combine(dir, Trainer.MetricsFile);
            var json = JsonNode.Parse(File.ReadAllText(metricsPath))!.AsObject();
            json["delta_m"] = splitDm;
            json["comparison"] = new JsonObject
            {
                ["hard_sharing_delta_m"] = hardDm,
                ["hard_sharing"] = hard.Test.ToJson()["tasks"]!.DeepClone(),
                ["single_task"] = baseline.ToJson()["tasks"]!.DeepClone(),
                ["delta_m_definition"] = "mean over tasks and metrics (accuracy, macro_f1; pearson, spearman, mse) of ±(multi-task − single-task)/single-task × 100, sign + for higher-is-better (Maninis et al. 2019; LibMTL)",
            };
            AtomicFile.WriteAllText(metricsPath, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
        return command;
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
