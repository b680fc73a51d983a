using System.Diagnostics;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Training;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;
using MultiTaskKit.Runs;
using MultiTaskKit.Optim;
using MultiTaskKit.Data;

namespace MultiTaskKit.Training;

/// <summary>Options of <see cref="SyntheticTraining.Train"/>.</summary>
/// <param name="Steps">Optimisation steps.</param>
/// <param name="BatchSize">Rows per step (all tasks read the same batch).</param>
/// <param name="LearningRate">Adam learning rate.</param>
/// <param name="HiddenSize">MLP trunk width.</param>
/// <param name="Layers">MLP trunk layers after the stem.</param>
/// <param name="StepsPerEpoch">Steps between <see cref="LossHistory.EndEpoch"/> calls (DWA's period).</param>
/// <param name="Seed">Seeds the model initialisation and the batch order.</param>
/// <param name="MaxGradNorm">Optional global clipping.</param>
/// <param name="TiedHeadInit">Start every task head from the same weights, so that at initialisation the tasks differ only
/// in their targets and the problem's Conflict sets how much their gradients disagree (identical targets: cosine ≈ 1;
/// opposite targets: ≈ −1). With independent random heads the initial cosine is mostly set by the heads' signs.</param>
/// <param name="Device">Where the model and data go (<see cref="KitOptions.Device"/>: auto, cpu, cuda, cuda:N); null:
/// <see cref="TorchRuntime.DefaultDevice"/>.</param>
public sealed record SyntheticTrainingOptions(int Steps = 60, int BatchSize = 64, double LearningRate = 1e-2, long HiddenSize = 16,
    int Layers = 2, int StepsPerEpoch = 10, long Seed = 0, double? MaxGradNorm = null, bool TiedHeadInit = false, string? Device = null);

/// <summary>One training run: full-data loss per task before and after, every step's diagnostics, and the wall time of
/// each step (forward, step engine, optimiser).</summary>
public sealed record SyntheticRun(
    IReadOnlyDictionary<string, double> InitialLoss,
    IReadOnlyDictionary<string, double> FinalLoss,
    IReadOnlyList<StepDiagnostics> Steps,
    IReadOnlyList<double> StepSeconds)
{
    /// <summary>Mean seconds per step.</summary>
    public double SecondsPerStep => StepSeconds.Count == 0 ? 0 : StepSeconds.Average();
}

/// <summary>
/// A small, complete training loop on <see cref="SyntheticRegression"/>: an MLP trunk cut by any sharing plan, a
/// regression head per task, Adam, and any method through the kit's <see cref="TrainingStep"/>. Used by the tests, the
/// single-task baselines (isolated plan) and <c>mtk bench methods</c>; it is also the smallest worked example of the
/// step engine.
/// </summary>
public static class SyntheticTraining
{
    public static SyntheticRun Train(SyntheticRegression problem, SharingPlan plan, MethodSpec method, SyntheticTrainingOptions? options = null)
    {
        options ??= new();
        var device = options.Device is null ? TorchRuntime.DefaultDevice : TorchRuntime.ResolveDevice(options.Device);
        TorchRuntime.SeedGlobalGenerator(options.Seed); // the initialisation below draws from libtorch's default generator
        var trunk = new MlpTrunk(new MlpTrunkOptions(problem.Options.InputSize, options.HiddenSize, options.Layers));
        var model = new MultiTaskModel(trunk, problem.TaskNames.Select(t => new KeyValuePair<string, TaskHead>(t, new RegressionHead(options.HiddenSize))), plan);
        if (options.TiedHeadInit)
            foreach (var t in problem.TaskNames.Skip(1))
                model.Head(t).load_state_dict(model.Head(problem.TaskNames[0]).state_dict());
        model.AttachStrategy(method.Weighting, "weighting");
        model.AttachStrategy(method.Aggregator, "aggregator");
        model.to(device);
        var optimizer = optim.Adam(model.parameters(), options.LearningRate);
        var step = new TrainingStep(model, method.Weighting, method.Aggregator, optimizer, new TrainingStepOptions
        {
            Engine = new() { MaxGradNorm = options.MaxGradNorm, Gradients = method.Mode }, StepsPerEpoch = options.StepsPerEpoch,
        });

        var x = problem.Features.to(device);
        var y = problem.TaskNames.ToDictionary(t => t, t => problem.Targets[t].to(device));
        var initial = Evaluate(model, x, y);
        var diagnostics = new List<StepDiagnostics>(options.Steps);
        int n = (int)x.shape[0];
        var stepSeconds = new List<double>(options.Steps);
        model.train();
        for (int i = 0; i < options.Steps; i++)
        {
            var watch = Stopwatch.StartNew();
            var result = step.Run(draw =>
            {
                var rows = tensor(BatchRows(options.Seed, (int)draw, n, options.BatchSize), device: device);
                return StepBatch.Shared(TrunkInput.FromFeatures(x.index_select(0, rows)), y.ToDictionary(kv => kv.Key, kv => kv.Value.index_select(0, rows)));
            });
            if (device.type == DeviceType.CUDA) cuda.synchronize();
            stepSeconds.Add(watch.Elapsed.TotalSeconds);
            diagnostics.Add(result.Last);
        }
        var final = Evaluate(model, x, y);
        model.Dispose();
        return new SyntheticRun(initial, final, diagnostics, stepSeconds);
    }

    /// <summary>Full-data MSE per task, in evaluation mode.</summary>
    public static Dictionary<string, double> Evaluate(MultiTaskModel model, Tensor x, IReadOnlyDictionary<string, Tensor> y)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        bool wasTraining = model.training;
        model.eval();
        var output = model.forward(TrunkInput.FromFeatures(x));
        var result = model.Losses(output, y).ToDictionary(kv => kv.Key, kv => kv.Value.to_type(ScalarType.Float64).item<double>());
        model.train(wasTraining);
        return result;
    }

    /// <summary>The batch of a step: a deterministic function of (seed, step), sampled without replacement. The step's
    /// timing includes drawing it (an index_select), which the loop before <see cref="TrainingStep"/> left out.</summary>
    static long[] BatchRows(long seed, int step, int n, int batch)
    {
        var random = StepRandom.For(seed, step, salt: 7919);
        var rows = Enumerable.Range(0, n).ToArray();
        int take = Math.Min(batch, n);
        for (int i = 0; i < take; i++)
        {
            int j = i + random.Next(n - i);
            (rows[i], rows[j]) = (rows[j], rows[i]);
        }
        return rows.Take(take).Select(r => (long)r).ToArray();
    }
}
