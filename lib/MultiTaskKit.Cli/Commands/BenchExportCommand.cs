using System.CommandLine;
using System.Text.Json;
using MultiTaskKit.Data;
using MultiTaskKit.Export;
using MultiTaskKit.IO;
using Spectre.Console;

namespace MultiTaskKit.Cli.Commands;

/// <summary><c>mtk bench export</c>: a run against its ONNX export (<see cref="ExportBench"/>): parity on the test
/// sets, single-sentence latency and batch-32 throughput of ONNX Runtime, the kit in fp32 and the kit in bf16.</summary>
static class BenchExportCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "The run folder.", Required = true };
        var onnx = new Option<string?>("--onnx") { Description = "Its export (default <run>/export/model.onnx)." };
        var rows = new Option<int>("--rows") { Description = "Test examples per task for parity.", DefaultValueFactory = _ => 1000 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved timing rounds (each: 5 single sentences and one batch of 32 per engine).", DefaultValueFactory = _ => 10 };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file." };
        var command = new Command("export", "The kit against its ONNX export: parity on test data, latency and throughput in one run.") { run, onnx, rows, rounds, json };
        command.SetAction(parse =>
        {
            var kit = CommonOptions.Apply(parse);
            var runDir = parse.GetValue(run)!;
            var report = ExportBench.Run(runDir, parse.GetValue(onnx) ?? RunExporter.DefaultOnnxPath(runDir), DatasetSources.Default(parse.GetValue(CommonOptions.DataDir)),
                parse.GetValue(rows), kit.Threads ?? Environment.ProcessorCount, parse.GetValue(rounds), m => Console.Error.WriteLine(m));
            var parity = new Table().AddColumns("task", "rows", "max |kit − ORT|", "same label", "kit metric", "ORT metric");
            foreach (var p in report.Parity)
                parity.AddRow(p.Task, p.Rows.ToString(), p.MaxAbsDifference.ToString("E2"), p.SameLabel.ToString(), p.KitMetric.ToString("F4"), p.OnnxMetric.ToString("F4"));
            AnsiConsole.Write(parity);
            var timing = new Table().AddColumns("engine", "1 sentence median ms", "p90 ms", "batch 32 median ms", "sentences/s");
            foreach (var t in report.Timings)
                timing.AddRow(t.Engine, t.SingleMedianMs.ToString("F1"), t.SingleP90Ms.ToString("F1"), t.Batch32MedianMs.ToString("F1"), t.SentencesPerSecond.ToString("F1"));
            AnsiConsole.Write(timing);
            Console.WriteLine(report.Note);
            if (parse.GetValue(json) is { } path)
                AtomicFile.WriteAllText(path, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
        return command;
    }
}
