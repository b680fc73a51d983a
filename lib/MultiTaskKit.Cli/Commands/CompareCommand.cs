using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MultiTaskKit.Charts;
using MultiTaskKit.Comparison;
using MultiTaskKit.Models;
using MultiTaskKit.Data;
using MultiTaskKit.Sweeps;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Cli.Commands;

/// <summary>
/// <c>mtk compare</c>: does multi-task learning help here? Trains every task alone and every variant for each seed at
/// the same budget (a sweep of kind <c>compare</c>, so it resumes and runs on a scheduler like any sweep), then reports
/// per task mean ± sd and intervals, Δm with its spread and mean rank, the paired tests and a verdict.
/// </summary>
static class CompareCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = "The multi-task run configuration (JSON) to judge." };
        var preset = new Option<string?>("--preset") { Description = "Instead of --config: the case study's preset (quick, standard, full)." };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per configuration (the configuration's seed, +1, +2, …).", DefaultValueFactory = _ => 3 };
        var plans = new Option<string?>("--plans") { Description = $"Sharing plans to try, comma-separated: split (the configuration's shared layers), split@k, or any of {string.Join(", ", ArchitectureCatalog.Names)} (default: the configuration's)." };
        var methods = new Option<string?>("--methods") { Description = "Methods to try, comma-separated: a weighting (ew, uw, famo, …) or weighting+aggregation (ew+pcgrad) (default: the configuration's)." };
        var budget = new Option<long?>("--budget") { Description = "Optimizer steps of every multi-task run; a task alone gets as many batches of its own (default: training.steps, else one pass)." };
        var tuneLr = new Option<string?>("--tune-lr") { Description = "A learning-rate grid (comma-separated) that every configuration, single-task and multi-task, is tuned over on validation." };
        var output = new Option<string?>("--out") { Description = "The comparison's folder (a sweep folder; default runs/compare-<name>)." };
        var parallel = new Option<int>("--parallel") { Description = "Cells at once on this machine, each with an equal share of the cores.", DefaultValueFactory = _ => 1 };
        var planOnly = new Option<bool>("--plan-only") { Description = "Write the plan and the scheduler files, run nothing (then mtk sweep run / sbatch / kubectl, and mtk sweep report)." };
        var alpha = new Option<double>("--alpha") { Description = "Significance level of the verdicts.", DefaultValueFactory = _ => 0.05 };
        var resamples = new Option<int>("--resamples") { Description = "Bootstrap resamples over test examples.", DefaultValueFactory = _ => 1000 };
        var model = new Option<string>("--model") { Description = "With --preset: the trunk.", DefaultValueFactory = _ => "minilm" };
        var precision = PrecisionOption.Create("the configuration's runtime.precision (the presets: auto)");
        var sched = SweepCommand.SchedulerOptionsSet();
        var command = new Command("compare", "Does multi-task learning help here? Single-task baselines and multi-task variants over seeds at the same budget; mean ± sd, Δm, paired tests and a verdict per task.");
        foreach (var o in new Option[] { config, preset, model, seeds, plans, methods, budget, tuneLr, output, parallel, planOnly, alpha, resamples, precision,
                     sched.Image, sched.Shared, sched.Cpus, sched.Memory, sched.Parallelism, sched.Claim })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            var runtime = CommonOptions.Apply(parse);
            RunConfig baseConfig;
            if (parse.GetValue(config) is { } path)
            {
                if (parse.GetValue(preset) is not null) throw new UsageException("--config and --preset: expected one of them, found both.");
                baseConfig = CommonOptions.WithRuntime(RunConfig.Load(path), path, runtime, parse);
            }
            else if (parse.GetValue(preset) is { } p)
            {
                baseConfig = CaseStudy.Preset(p, parse.GetValue(model)!);
                baseConfig = baseConfig with { Runtime = runtime with { Precision = baseConfig.Runtime.Precision } };
            }
            else throw new UsageException("compare: expected --config run.json or --preset quick|standard|full, found neither.");
            if (PrecisionOption.Requested(parse, precision) is { } pr) baseConfig = baseConfig with { Runtime = baseConfig.Runtime with { Precision = pr } };
            var variants = CompareVariant.Cross(List(parse.GetValue(plans)), List(parse.GetValue(methods)), baseConfig.Sharing.Plan, baseConfig.Sharing.SharedLayers,
                baseConfig.Method.Weighting, baseConfig.Method.Aggregation);
            foreach (var v in variants)
                if (!ArchitectureCatalog.Contains(v.Plan)) throw new UsageException($"--plans: expected split, split@k or one of {string.Join(", ", ArchitectureCatalog.Names)}, found '{v.Plan}'.");
            IReadOnlyList<double>? rates = parse.GetValue(tuneLr) is { } lrs
                ? List(lrs).Select(x => double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) ? r : throw new UsageException($"--tune-lr: expected numbers such as 1e-4,3e-4, found '{x}'.")).ToList()
                : null;
            var options = new CompareRequest(parse.GetValue(seeds), variants, parse.GetValue(budget), rates);
            var folder = parse.GetValue(output) ?? Path.Combine("runs", $"compare-{baseConfig.Name}");
            var sources = DatasetSources.Default(parse.GetValue(CommonOptions.DataDir));
            var judged = new ComparisonOptions(parse.GetValue(alpha), parse.GetValue(resamples));
            return Run(baseConfig, options, folder, sources, parse.GetValue(planOnly), parse.GetValue(parallel), parse.GetValue(CommonOptions.Threads),
                parse.GetValue(CommonOptions.DataDir), runtime, judged, SweepCommand.ReadScheduler(parse, sched));
        });
        return command;
    }

    static List<string> List(string? text) =>
        text is null ? [] : text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>Plans (or finds the same plan already in <paramref name="folder"/>), runs the unfinished cells here, and reports.</summary>
    internal static int Run(RunConfig baseConfig, CompareRequest options, string folder, DatasetSources sources, bool planOnly, int parallel, int? threads, string? dataDir,
        Runtime.KitOptions runtime, ComparisonOptions judged, SchedulerOptions scheduler)
    {
        if (judged.Alpha is not (> 0 and < 1)) throw new UsageException($"--alpha: expected a level in (0, 1), found {judged.Alpha.ToString(CultureInfo.InvariantCulture)}.");
        if (judged.Resamples < 1) throw new UsageException($"--resamples: expected at least 1, found {judged.Resamples}.");
        var wall = Stopwatch.StartNew();
        var plan = ComparePlan.Create(baseConfig, options, sources);
        plan.Save(folder, scheduler);
        Console.WriteLine($"compare: {baseConfig.Tasks.Count} tasks, variants {string.Join(", ", options.Variants.Select(v => v.Name))}, {options.Seeds} seeds, " +
                          $"{plan.Extra!["budget_steps"]} steps per multi-task run; {plan.Cells.Count} runs in {Path.GetFullPath(folder)}");
        if (planOnly)
        {
            SweepCommand.PrintPlan(folder, plan);
            return 0;
        }
        int code = SweepCommand.RunLocal(folder, plan, parallel, threads, dataDir, runtime);
        ReportComparison(folder, plan, judged);
        Console.WriteLine($"compare: wall time {wall.Elapsed.TotalMinutes:F1} min");
        return code;
    }

    /// <summary>Builds, prints and saves the comparison of a folder (comparison.json, comparison.txt, charts/comparison.html).</summary>
    internal static ComparisonReport ReportComparison(string folder, SweepPlan plan, ComparisonOptions judged)
    {
        var report = ComparisonReport.Build(folder, plan, judged);
        Console.Write(report.ToText());
        report.Save(folder);
        if (report.Tasks.Any(t => t.Baseline.Count > 0))
        {
            var page = ComparisonCharts.Write(folder, report);
            Console.WriteLine($"charts: {page}");
        }
        return report;
    }
}
