using System.CommandLine;
using MultiTaskKit.Charts;
using MultiTaskKit.Data;
using MultiTaskKit.Training;
using Spectre.Console;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Cli.Commands;

static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "Run configuration (JSON, snake_case keys; see RunConfig).", Required = true };
        var output = new Option<string?>("--out") { Description = "Run folder (default: runs/<name>)." }.NonEmptyPath();
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint; refused when there is none." };
        var resumeIfAny = new Option<bool>("--resume-if-any") { Description = "Continue from the last checkpoint when there is one, else start (and say which)." };
        var command = new Command("train", "Train any set of tasks (built-in datasets or CSV/TSV files) with any trunk, sharing plan and method.");
        command.Options.Add(config);
        command.Options.Add(output);
        command.Options.Add(resume);
        var precision = PrecisionOption.Create("the configuration's runtime.precision, else MTK_PRECISION, else fp32");
        command.Options.Add(precision);
        command.Options.Add(resumeIfAny);
        command.SetAction(parse =>
        {
            var runtime = CommonOptions.Apply(parse);
            var cfg = CommonOptions.WithRuntime(RunConfig.Load(parse.GetValue(config)!), parse.GetValue(config), runtime, parse);
            if (PrecisionOption.Parse(parse, precision) is { } p) cfg = cfg with { Runtime = cfg.Runtime with { Precision = p } };
            var dir = parse.GetValue(output) ?? Path.Combine("runs", cfg.Name);
            bool resuming = ResumeChoice(parse.GetValue(resume), parse.GetValue(resumeIfAny), dir);
            var sources = DatasetSources.Default(parse.GetValue(CommonOptions.DataDir));
            var result = TrainingConsole.Run(p =>
            {
                using var trainer = new Trainer(cfg, dir, sources)
                {
                    Progress = p, Log = m => AnsiConsole.MarkupLine(Markup.Escape(m)), WriteCharts = (dir, history, test) => RunCharts.Write(dir, history, test),
                };
                return trainer.Run(resuming);
            });
            TrainingConsole.PrintReport(result.Test, $"{cfg.Name}: test metrics");
            TrainingConsole.PrintRun(result);
            return 0;
        });
        return command;
    }

    /// <summary>Whether to resume: <c>--resume</c> insists (the trainer refuses a folder without a checkpoint);
    /// <c>--resume-if-any</c> resumes when there is a checkpoint and says when there is none.</summary>
    public static bool ResumeChoice(bool resume, bool resumeIfAny, string dir)
    {
        if (resume && resumeIfAny) throw new UsageException("--resume and --resume-if-any: expected one of them, found both.");
        if (!resumeIfAny) return resume;
        bool has = RunFolder.HasCheckpoint(dir);
        AnsiConsole.MarkupLine(Markup.Escape(has ? $"--resume-if-any: resuming '{dir}' from its checkpoint" : $"--resume-if-any: '{dir}' holds no checkpoint; starting from scratch"));
        return has;
    }
}
