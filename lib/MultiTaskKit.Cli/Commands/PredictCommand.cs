using System.CommandLine;
using System.Text.Json;
using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Export;
using MultiTaskKit.Training;
using Spectre.Console;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Cli.Commands;

static class PredictCommand
{
    public static Command Create()
    {
        var run = new Option<string?>("--run") { Description = "A run folder written by mtk train or mtk casestudy." };
        var onnx = new Option<string?>("--onnx") { Description = "Instead of --run: an .onnx file written by mtk export, run with ONNX Runtime (no TorchSharp model)." };
        var text = new Option<string[]>("--text") { Description = "Text to predict (repeatable).", AllowMultipleArgumentsPerToken = false };
        var file = new Option<string?>("--file") { Description = "A file of texts: one per line, or a CSV/TSV with --text-column." };
        var textColumn = new Option<string?>("--text-column") { Description = "With a CSV/TSV --file: the column holding the text." };
        var pair = new Option<string[]>("--pair") { Description = "For runs with sentence-pair tasks: the second text of each --text (repeatable, in the same order).", AllowMultipleArgumentsPerToken = false };
        var pairColumn = new Option<string?>("--pair-column") { Description = "With a CSV/TSV --file: the column holding the second text of each pair." };
        var json = new Option<bool>("--json") { Description = "Print JSON lines instead of a table." };
        var command = new Command("predict", "Print every task's prediction for new text: label and probabilities, the regression value, the labels that apply, or each word's tag.");
        var precision = PrecisionOption.Create("the precision the run trained in (its config.json)");
        foreach (var o in new Option[] { precision, run, onnx, text, pair, file, textColumn, pairColumn, json }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var kit = CommonOptions.Apply(parse);
            var texts = new List<string>(parse.GetValue(text) ?? []);
            var pairs = new List<string>(parse.GetValue(pair) ?? []);
            if (parse.GetValue(file) is { } path)
            {
                if (!File.Exists(path)) throw new FileNotFoundException($"--file: expected a file of texts at '{path}', found none.", path);
                if (parse.GetValue(textColumn) is { } col)
                {
                    var frame = CsvTaskReader.LoadFrame(path);
                    if (!frame.Columns.Select(c => c.Name).Contains(col))
                        throw new InvalidDataException($"{path}: no column '{col}'; found {string.Join(", ", frame.Columns.Select(c => $"'{c.Name}'"))}.");
                    for (long r = 0; r < frame.Rows.Count; r++) texts.Add(frame.Columns[col][r]?.ToString() ?? "");
                    if (parse.GetValue(pairColumn) is { } pcol)
                    {
                        if (!frame.Columns.Select(c => c.Name).Contains(pcol))
                            throw new InvalidDataException($"{path}: no column '{pcol}'; found {string.Join(", ", frame.Columns.Select(c => $"'{c.Name}'"))}.");
                        for (long r = 0; r < frame.Rows.Count; r++) pairs.Add(frame.Columns[pcol][r]?.ToString() ?? "");
                    }
                }
                else texts.AddRange(DelimitedText.ReadLines(path).Where(l => l.Trim().Length > 0));
            }
            if (texts.Count == 0) throw new UsageException("predict: expected --text \"...\" or --file F (a file with at least one non-empty line), found neither.");
            var onnxPath = parse.GetValue(onnx);
            if ((parse.GetValue(run) is null) == (onnxPath is null))
                throw new UsageException("predict: expected exactly one of --run DIR (the trained run) or --onnx FILE (its ONNX export).");
            if (pairs.Count > 0 && pairs.Count != texts.Count)
                throw new UsageException($"--pair: expected one second text per text ({texts.Count}), found {pairs.Count}.");
            var pairsGiven = pairs.Count > 0 ? pairs : null;
            if (onnxPath is not null)
            {
                // the deploy path: ONNX Runtime on the exported graph, with the encoding and normalisers its manifest names
                using var graph = OnnxPredictor.Load(onnxPath, kit.Threads ?? 0);
                return Print(texts, pairsGiven, graph.Tasks, graph.Predict(texts, pairsGiven), parse.GetValue(json));
            }
            using var predictor = RunPredictor.Load(parse.GetValue(run)!, PrecisionOption.Parse(parse, precision));
            // On stderr, so that --json's lines stay JSON.
            Console.Error.WriteLine($"weights: {predictor.WeightsDescription}");
            return Print(texts, pairsGiven, predictor.Tasks, predictor.Predict(texts, pairsGiven), parse.GetValue(json));
        });
        return command;
    }

    /// <summary>One JSON line per text, or a table: the same for a run and for its ONNX export.</summary>
    static int Print(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs, IReadOnlyList<string> tasks, IReadOnlyList<IReadOnlyList<TaskPrediction>> predictions, bool json)
    {
        if (json)
        {
            for (int i = 0; i < texts.Count; i++)
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    text = texts[i],
                    pair = pairs?[i],
                    predictions = predictions[i].ToDictionary(p => p.Task, p => p.Tags is { } tags ? (object)new { tags = tags.Select(x => new[] { x.Word, x.Tag }).ToArray() }
                        : p.Label is null ? new { value = p.Value } : new { label = p.Label, probabilities = p.Probabilities }),
                }));
            return 0;
        }
        var table = new Table().AddColumn("text");
        foreach (var t in tasks) table.AddColumn(t);
        for (int i = 0; i < texts.Count; i++)
        {
            var shown = ConsoleText.Printable(texts[i].Length > 60 ? texts[i][..57] + "..." : texts[i]);
            table.AddRow([Markup.Escape(shown), .. predictions[i].Select(p => Markup.Escape(ConsoleText.Printable(p.Text)))]);
        }
        AnsiConsole.Write(table);
        return 0;
    }
}
