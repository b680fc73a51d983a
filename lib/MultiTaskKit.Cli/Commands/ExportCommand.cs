using System.CommandLine;
using MultiTaskKit.Export;

namespace MultiTaskKit.Cli.Commands;

/// <summary><c>mtk export</c>: a run as one ONNX graph for ONNX Runtime, or each task as a Hugging Face folder.</summary>
static class ExportCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "A run folder written by mtk train or mtk casestudy.", Required = true };
        var format = new Option<string>("--format") { Description = "onnx (one graph, every task an output) or hf (per task a transformers folder).", Required = true };
        var tasks = new Option<string?>("--tasks") { Description = "Comma-separated tasks to export (default: all)." };
        var output = new Option<string?>("--out") { Description = "onnx: the .onnx file (default <run>/export/model.onnx; model.json and model.vocab.txt go beside it). hf: the folder (default <run>/export/hf), one subfolder per task." };
        var command = new Command("export", "Export a trained run: one ONNX graph (shared layers once, one output per task) with its tokenizer and task manifest, or Hugging Face folders.");
        foreach (var o in new Option[] { run, format, tasks, output }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            CommonOptions.Apply(parse);
            var selected = parse.GetValue(tasks) is { } list
                ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                : null;
            if (selected is { Length: 0 }) throw new UsageException("--tasks: expected a comma-separated list of task names, found none.");
            var runDir = parse.GetValue(run)!;
            switch (parse.GetValue(format)!.ToLowerInvariant())
            {
                case "onnx":
                    var result = RunExporter.ExportOnnx(runDir, parse.GetValue(output), selected);
                    Console.WriteLine($"wrote {result.OnnxPath} ({result.Bytes / 1e6:F1} MB, {result.Nodes} nodes, {result.Parameters:N0} float32 weights, opset {result.Manifest.Opset}, {result.Manifest.Architecture})");
                    Console.WriteLine($"  inputs: {string.Join(", ", result.Manifest.Inputs)} [batch, sequence]");
                    foreach (var t in result.Manifest.Tasks)
                        Console.WriteLine($"  output '{t.Output}': {t.Kind}, {t.OutputKind}{(t.Labels.Count > 0 ? $" ({string.Join(", ", t.Labels)})" : "")}, input {t.Input}{(t.Depth is { } d ? $", depth {d}" : "")}, {t.MaxTokens} tokens {t.Truncation}, normalizer {t.Normalizer}");
                    Console.WriteLine($"  beside it: {Path.GetFileName(result.ManifestPath)}, {Path.GetFileName(result.VocabPath)}");
                    return 0;
                case "hf":
                    foreach (var folder in RunExporter.ExportHuggingFace(runDir, parse.GetValue(output), selected))
                        Console.WriteLine($"wrote {folder} ({System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!["architectures"]![0]})");
                    return 0;
                default:
                    throw new UsageException($"--format: expected onnx or hf, found '{parse.GetValue(format)}'.");
            }
        });
        return command;
    }
}
