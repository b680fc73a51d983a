using System.CommandLine;
using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Training;
using Spectre.Console;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Cli.Commands;

static class EvaluateCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "A run folder written by mtk train or mtk casestudy.", Required = true };
        var split = new Option<string>("--split") { Description = "Split of the configured data to score: test or val.", DefaultValueFactory = _ => "test" };
        var task = new Option<string?>("--task") { Description = "With --file: the task the file belongs to." };
        var file = new Option<string?>("--file") { Description = "A file to score one task on, in the task's own format (a CSV/TSV with a header row, or CoNLL columns)." };
        var textColumn = new Option<string?>("--text-column") { Description = "With --file: the text column (default: the task's, else 'text')." };
        var labelColumn = new Option<string?>("--label-column") { Description = "With --file: the label/target column (default: the task's, else 'label'/'target')." };
        var json = new Option<bool>("--json") { Description = "Print the metrics as JSON instead of a table." };
        var command = new Command("evaluate", "Score a saved run on a split of its data or on a new file.");
        var precision = PrecisionOption.Create("the precision the run trained in (its config.json)");
        foreach (var o in new Option[] { precision, run, split, task, file, textColumn, labelColumn, json }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            CommonOptions.Apply(parse);
            using var predictor = RunPredictor.Load(parse.GetValue(run)!, PrecisionOption.Parse(parse, precision));
            MetricsReport report;
            if (parse.GetValue(file) is { } path)
            {
                var name = parse.GetValue(task) ?? (predictor.Tasks.Count == 1 ? predictor.Tasks[0]
                    : throw new UsageException($"--task: the run has tasks {string.Join(", ", predictor.Tasks)}; name the one --file belongs to."));
                if (!predictor.Tasks.Contains(name))
                    throw new UsageException($"--task: expected one of the run's tasks ({string.Join(", ", predictor.Tasks)}), found '{name}'.");
                var data = predictor.ReadFile(name, path, parse.GetValue(textColumn), parse.GetValue(labelColumn));
                report = new MetricsReport([new TaskEvaluation(name, data.Dataset, path, predictor.Evaluate(name, data, normalize: predictor.InputOf(name) != "words"))]);
            }
            else
            {
                if (parse.GetValue(split) is not ("test" or "val"))
                    throw new UsageException($"--split: expected test or val, found '{parse.GetValue(split)}'.");
                report = predictor.EvaluateSplit(parse.GetValue(split)!, DatasetSources.Default(parse.GetValue(CommonOptions.DataDir)));
            }
            if (parse.GetValue(json)) Console.WriteLine(report.ToJsonString());
            else TrainingConsole.PrintReport(report, $"{predictor.Config.Name}: {Path.GetFileName(predictor.WeightsPath)} from {Path.GetFileName(Path.GetDirectoryName(predictor.WeightsPath))}/");
            return 0;
        });
        return command;
    }
}
