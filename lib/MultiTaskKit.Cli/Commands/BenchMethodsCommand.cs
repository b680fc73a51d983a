using System.CommandLine;
using System.Text.Json;
using MultiTaskKit.Benchmarks;
using MultiTaskKit.IO;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using Spectre.Console;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Cli.Commands;

/// <summary><c>mtk bench methods</c>: the options of <see cref="MethodBench"/> and its table.</summary>
static class BenchMethodsCommand
{
    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "Timed steps per method and round.", DefaultValueFactory = _ => 40 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds; the median step over all rounds counts.", DefaultValueFactory = _ => 3 };
        var hidden = new Option<int>("--hidden") { Description = "MLP trunk width.", DefaultValueFactory = _ => 256 };
        var batch = new Option<int>("--batch") { Description = "Rows per step.", DefaultValueFactory = _ => 128 };
        var tasks = new Option<string>("--tasks") { Description = "Comma-separated task counts.", DefaultValueFactory = _ => "2,5" };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file." };
        var methods = new Option<string?>("--methods") { Description = $"Comma-separated subset of: {string.Join(", ", MethodCatalog.Names)} (ew is always included)." };
        var command = new Command("methods", "Time per step of each weighting/aggregation method relative to equal weighting (synthetic problem, 2-layer MLP trunk).")
        {
            steps, rounds, hidden, batch, tasks, json, methods,
        };
        command.SetAction(parse =>
        {
            CommonOptions.Apply(parse);
            var taskCounts = parse.GetValue(tasks)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
            var names = parse.GetValue(methods) is { } list
                ? new[] { "ew" }.Concat(list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(n => MethodCatalog.Create(n, new[] { "a" }).Name)).Distinct().ToArray()
                : MethodCatalog.Names.ToArray();
            var result = MethodBench.Run(taskCounts, parse.GetValue(steps), parse.GetValue(rounds), parse.GetValue(hidden), parse.GetValue(batch), names);
            Print(result);
            if (parse.GetValue(json) is { } path)
                AtomicFile.WriteAllText(path, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
        return command;
    }

    static void Print(MethodBenchResult result)
    {
        var counts = result.Timings.Select(x => x.Tasks).Distinct().ToArray();
        var table = new Table().AddColumn("method");
        foreach (var t in counts) table.AddColumn($"T={t} ms").AddColumn($"T={t} ×EW").AddColumn($"T={t} bw");
        foreach (var name in result.Timings.Select(x => x.Method).Distinct())
        {
            var row = new List<string> { name };
            foreach (var t in counts)
            {
                var m = result.Timings.First(x => x.Tasks == t && x.Method == name);
                row.Add($"{1000 * m.SecondsPerStep:F2}");
                row.Add($"{m.RatioToEqual:F2}");
                row.Add(m.BackwardPasses.ToString());
            }
            table.AddRow(row.Select(Markup.Escape).ToArray());
        }
        AnsiConsole.MarkupLine(Markup.Escape($"Synthetic regression, 2-layer MLP trunk (hidden {result.Hidden}), hard sharing, batch {result.Batch}, " +
                                             $"median of {result.Steps} steps × {result.Rounds} rounds, device {result.Device}, {result.Threads} threads; bw = backward passes per step"));
        AnsiConsole.Write(table);
    }
}
