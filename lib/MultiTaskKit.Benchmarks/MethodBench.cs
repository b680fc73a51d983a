using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Training;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;

namespace MultiTaskKit.Benchmarks;

/// <summary>One method's time per step, and as a ratio to equal weighting.</summary>
public sealed record MethodTiming(string Method, string Description, int Tasks, double SecondsPerStep, double RatioToEqual, int BackwardPasses);

/// <summary>All methods' timings of one <see cref="MethodBench.Run"/>, with its settings.</summary>
public sealed record MethodBenchResult(string Device, int Threads, int Steps, int Rounds, int Hidden, int Batch, IReadOnlyList<MethodTiming> Timings);

/// <summary>
/// The time per training step of every weighting/aggregation method as a ratio to equal weighting, for 2 and 5 tasks,
/// on the synthetic regression problem with a 2-layer MLP trunk (hard sharing), all measured side by side in one run.
/// Each method's figure is the median of its per-step times over several interleaved rounds (methods alternate, so a
/// burst of load elsewhere hits them alike), which damps the noise of a shared machine.
/// </summary>
public static class MethodBench
{
    public static MethodBenchResult Run(int[] taskCounts, int steps, int rounds, int hidden, int batch, IReadOnlyList<string> names)
    {
        var timings = new List<MethodTiming>();
        var all = names;
        foreach (int t in taskCounts)
        {
            names = all.Where(n => MethodCatalog.MinTasks(n) <= t).ToList(); // Krum and TrimmedMean need three tasks
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
            var median = times.ToDictionary(kv => kv.Key, kv => new Timing(kv.Value).Median);
            double equal = median["ew"];
            timings.AddRange(names.Select(n => new MethodTiming(n, descriptions[n], t, median[n], median[n] / equal, passes[n])));
        }
        return new MethodBenchResult(TorchRuntime.DefaultDevice.ToString(), TorchRuntime.Threads, steps, rounds, hidden, batch, timings);
    }
}
