using System.Diagnostics;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Synthetic;

/// <summary>Options of <see cref="SyntheticTraining.Train"/>.</summary>
/// <param name="Steps">Optimisation steps.</param>
/// <param name="BatchSize">Rows per step (all tasks read the same batch).</param>
/// <param name="LearningRate">Adam learning rate.</param>
/// <param name="HiddenSize">MLP trunk width.</param>
/// <param name="Layers">MLP trunk layers after the stem.</param>
/// <param name="StepsPerEpoch">Steps between <see cref="LossHistory.EndEpoch"/> calls (DWA's period).</param>
/// <param name="Seed">Seeds the model initialisation and the batch order.</param>
/// <param name="MaxGradNorm">Optional global clipping.</param>
public sealed record SyntheticTrainingOptions(int Steps = 60, int BatchSize = 64, double LearningRate = 1e-2, long HiddenSize = 16,
    int Layers = 2, int StepsPerEpoch = 10, long Seed = 0, double? MaxGradNorm = null);

/// <summary>One training run: full-data loss per task before and after, every step's diagnostics, and time per step.</summary>
public sealed record SyntheticRun(
    IReadOnlyDictionary<string, double> InitialLoss,
    IReadOnlyDictionary<string, double> FinalLoss,
    IReadOnlyList<StepDiagnostics> Steps,
    double SecondsPerStep);

/// <summary>
/// A small, complete training loop on <see cref="SyntheticRegression"/>: an MLP trunk cut by any sharing plan, a
/// regression head per task, Adam, and any method through <see cref="MultiTaskStep"/>. Used by the tests, the
/// single-task baselines (isolated plan) and <c>mtk bench methods</c>; it is also the smallest worked example of the
/// step engine.
/// </summary>
public static class SyntheticTraining
{
    public static SyntheticRun Train(SyntheticRegression problem, SharingPlan plan, MethodSpec method, SyntheticTrainingOptions? options = null)
    {
        TorchRuntime.EnsureInitialized();
        options ??= new();
        var device = TorchRuntime.Device;
        manual_seed(options.Seed);
        var trunk = new MlpTrunk(new MlpTrunkOptions(problem.Options.InputSize, options.HiddenSize, options.Layers));
        var model = new MultiTaskModel(trunk, problem.TaskNames.Select(t => new KeyValuePair<string, TaskHead>(t, new RegressionHead(options.HiddenSize))), plan);
        model.AttachStrategy(method.Weighting, "weighting");
        model.AttachStrategy(method.Aggregator, "aggregator");
        model.to(device);
        var optimizer = optim.Adam(model.parameters(), options.LearningRate);

        var x = problem.Features.to(device);
        var y = problem.TaskNames.ToDictionary(t => t, t => problem.Targets[t].to(device));
        var initial = Evaluate(model, x, y);
        var history = new LossHistory();
        var diagnostics = new List<StepDiagnostics>(options.Steps);
        int n = (int)x.shape[0];
        long elapsedTicks = 0;
        model.train();
        for (int step = 0; step < options.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var rows = tensor(BatchRows(options.Seed, step, n, options.BatchSize), device: device);
            var input = TrunkInput.FromFeatures(x.index_select(0, rows));
            var targets = y.ToDictionary(kv => kv.Key, kv => kv.Value.index_select(0, rows));

            var watch = Stopwatch.StartNew();
            var output = model.Forward(input, representationGradients: method.Mode == GradientMode.Representation);
            var losses = model.Losses(output, targets);
            var diag = MultiTaskStep.Backward(model, losses, method.Weighting, method.Aggregator, new StepOptions
            {
                Step = step, Epoch = step / options.StepsPerEpoch, History = history, Gradients = method.Mode,
                Representation = output.Representation, MaxGradNorm = options.MaxGradNorm,
            });
            if (!diag.Skipped) optimizer.step();
            if (device.type == DeviceType.CUDA) cuda.synchronize();
            elapsedTicks += watch.ElapsedTicks;

            history.Record(diag);
            if ((step + 1) % options.StepsPerEpoch == 0) history.EndEpoch();
            diagnostics.Add(diag);
        }
        var final = Evaluate(model, x, y);
        model.Dispose();
        return new SyntheticRun(initial, final, diagnostics, options.Steps == 0 ? 0 : (double)elapsedTicks / Stopwatch.Frequency / options.Steps);
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

    /// <summary>The batch of a step: a deterministic function of (seed, step), sampled without replacement.</summary>
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
