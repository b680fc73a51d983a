using MultiTaskKit.Steps;
using System.CommandLine;
using System.Text.Json;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Synthetic;
using MultiTaskKit.Weighting;
using Spectre.Console;

namespace MultiTaskKit.Cli.Commands;

/// <summary>
/// <c>mtk bench methods</c>: the time per training step of every weighting/aggregation method as a ratio to equal
/// weighting, for 2 and 5 tasks, on the synthetic regression problem with a 2-layer MLP trunk (hard sharing), all
/// measured side by side in one run. Each method's figure is the median of its per-step times over several
/// interleaved rounds (methods alternate, so a burst of load elsewhere hits them alike), which damps the noise of a
/// shared machine.
/// </summary>
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
            var result = Run(taskCounts, parse.GetValue(steps), parse.GetValue(rounds), parse.GetValue(hidden), parse.GetValue(batch), names);
            Print(result);
            if (parse.GetValue(json) is { } path)
                AtomicFile.WriteAllText(path, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
        return command;
    }

    public sealed record MethodTiming(string Method, string Description, int Tasks, double SecondsPerStep, double RatioToEqual, int BackwardPasses);

    public sealed record BenchResult(string Device, int Threads, int Steps, int Rounds, int Hidden, int Batch, IReadOnlyList<MethodTiming> Timings);

    public static BenchResult Run(int[] taskCounts, int steps, int rounds, int hidden, int batch, IReadOnlyList<string> names)
    {
        TorchRuntime.EnsureInitialized();
        var timings = new List<MethodTiming>();
        foreach (int t in taskCounts)
        {
            var problem = new SyntheticRegression(new SyntheticRegressionOptions(Tasks: t, InputSize: 16, Samples: 1024, Conflict: 0.5, Seed: 1));
            var options = new SyntheticTrainingOptions(Steps: steps, BatchSize: batch, HiddenSize: hidden, Layers: 2, Seed: 1);
            var times = names.ToDictionary(n => n, _ => new List<double>());
            var passes = new Dictionary<string, int>();
            var descriptions = new Dictionary<string, string>();
            // warm-up: JIT and allocator, every method once
            foreach (var name in names)
                SyntheticTraining.Train(problem, SharingPlan.Hard, MethodCatalog.Create(name, problem.TaskNames), options with { Steps = 3 });
            for (int round = 0; round < rounds; round++)
                foreach (var name in names)
                {
                    var method = MethodCatalog.Create(name, problem.TaskNames);
                    var run = SyntheticTraining.Train(problem, SharingPlan.Hard, method, options);
                    times[name].AddRange(run.StepSeconds);
                    passes[name] = run.Steps[^1].BackwardPasses;
                    descriptions[name] = method.ToString();
                }
            var median = times.ToDictionary(kv => kv.Key, kv => Median(kv.Value));
            double equal = median["ew"];
            timings.AddRange(names.Select(n => new MethodTiming(n, descriptions[n], t, median[n], median[n] / equal, passes[n])));
        }
        return new BenchResult(TorchRuntime.Device.ToString(), TorchRuntime.Threads, steps, rounds, hidden, batch, timings);
    }

    static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]);
    }

    static void Print(BenchResult result)
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
