using MultiTaskKit.Evaluation;
using MultiTaskKit.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Data;

/// <summary>
/// Scores one task of a <see cref="MultiTaskNetwork"/> on encoded examples: evaluation mode, no gradients, one dispose
/// scope per batch, metrics accumulated on the host as scalars. The model's training mode is restored afterwards.
/// Besides the task's metrics it reports <see cref="LossMetric"/>, the mean of the head's own training loss over the
/// examples (cross-entropy, MSE, BCE: <see cref="TaskHead.Loss"/>), so that validation loss sits beside training loss;
/// it is left out when an example has no label or target.
/// </summary>
public static class TaskEvaluator
{
    /// <summary>The metric name of the evaluated loss: lower is better (<see cref="MetricDirections"/>). It is not one of
    /// the headline metrics that Δm compares; pass it explicitly to use it there.</summary>
    public const string LossMetric = "loss";

    /// <param name="model">The network.</param>
    /// <param name="task">The task to score: its head and kind.</param>
    /// <param name="examples">Encoded examples with their labels or targets.</param>
    /// <param name="padId">The tokenizer's padding id.</param>
    /// <param name="batchSize">Examples per forward pass.</param>
    /// <param name="userMetrics">The task's own metrics (reset, fed every row, computed): their values join the result
    /// (<see cref="MetricsWithUserMetrics"/>). A name equal to a built-in metric's, or to <see cref="LossMetric"/>, is refused.</param>
    /// <param name="observe">Receives every example with its raw output (see <see cref="Predict"/>), e.g. to keep the
    /// predictions for <see cref="TestPredictions"/>.</param>
    public static IMetricResult Evaluate(MultiTaskNetwork model, TaskSignature task, IReadOnlyList<EncodedExample> examples, long padId, int batchSize = 64,
        IReadOnlyList<IUserMetric>? userMetrics = null, Action<EncodedExample, float[]>? observe = null)
    {
        if (examples.Count == 0) throw new ArgumentException($"task '{task.Name}': expected examples to evaluate, found none.", nameof(examples));
        var metrics = task.Kind.NewMetrics(task);
        foreach (var m in userMetrics ?? []) m.Reset();
        // the loss needs every example's label; examples without one (a blank cell of a shared input) leave it out
        bool labelled = examples.All(e => e.Label is not null);
        double lossSum = 0;
        foreach (var (chunk, values, width, loss) in Batches(model, task, examples, padId, batchSize, withLoss: labelled))
        {
            lossSum += loss * chunk.Count;
            for (int i = 0; i < chunk.Count; i++)
            {
                var (ex, output) = (chunk[i], values[(i * width)..((i + 1) * width)]);
                observe?.Invoke(ex, output);
                foreach (var m in userMetrics ?? []) m.Update(output, ex);
                metrics.Update(output, ex);
            }
        }
        IMetricResult builtIn = metrics.Compute();
        var extra = new Dictionary<string, double>();
        if (labelled) extra[LossMetric] = lossSum / examples.Count;
        foreach (var m in userMetrics ?? [])
        {
            if (builtIn.Values.ContainsKey(m.Name) || extra.ContainsKey(m.Name))
                throw new ArgumentException($"task '{task.Name}': user metric '{m.Name}' has the name of another metric of the task ({string.Join(", ", builtIn.Values.Keys.Concat(extra.Keys))})", nameof(userMetrics));
            extra[m.Name] = m.Compute();
        }
        return new MetricsWithUserMetrics(builtIn, extra);
    }

    /// <summary>
    /// Outputs per example as the task's kind scores them (<see cref="TaskKind.Scores"/>: class probabilities for
    /// classification, the predicted value for regression, per-token tag probabilities for token tasks, [tokens × tags]
    /// padded to the batch). Examples come back in batches sorted by length, each paired with its output.
    /// </summary>
    public static IEnumerable<(EncodedExample Example, float[] Output)> Predict(MultiTaskNetwork model, TaskSignature task, IReadOnlyList<EncodedExample> examples, long padId, int batchSize = 64)
    {
        foreach (var (chunk, values, width, _) in Batches(model, task, examples, padId, batchSize, withLoss: false))
            for (int i = 0; i < chunk.Count; i++) yield return (chunk[i], values[(i * width)..((i + 1) * width)]);
    }

    /// <summary>Per batch: its examples, their outputs (row-major, <c>width</c> per example) and, with
    /// <paramref name="withLoss"/>, the head's mean loss on it (else NaN: predictions need no labels).</summary>
    static IEnumerable<(IReadOnlyList<EncodedExample> Chunk, float[] Values, int Width, double Loss)> Batches(
        MultiTaskNetwork model, TaskSignature task, IReadOnlyList<EncodedExample> examples, long padId, int batchSize, bool withLoss)
    {
        bool wasTraining = model.training;
        // The batches go where the model is: a run's device is its own, not the process's.
        var device = model.parameters().Select(p => p.device).FirstOrDefault() ?? CPU;
        model.eval();
        // bf16 products: the weights are cast once for all batches, not at every call
        using var casts = MixedPrecision.CastWeightsForInference(model);
        try
        {
            foreach (var chunk in EvaluationBatches.Of(examples, batchSize))
            {
                float[] values;
                double loss = double.NaN;
                using (var scope = NewDisposeScope())
                using (no_grad())
                {
                    TrunkInput input;
                    Tensor? targets = null;
                    if (withLoss)
                    {
                        var batch = TaskBatch.Build(task, chunk, padId, device);
                        (input, targets) = (batch.Input, batch.Targets);
                    }
                    else input = TaskBatch.Pad(chunk, padId, device);
                    var output = model.Forward(new Dictionary<string, TrunkInput> { [task.Name] = input })[task.Name];
                    if (targets is not null) loss = model.Head(task.Name).Loss(output.to_type(ScalarType.Float32), targets).to_type(ScalarType.Float64).cpu().item<double>();
                    output = task.Kind.Scores(output);
                    values = output.to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
                }
                yield return (chunk, values, values.Length / chunk.Count, loss);
            }
        }
        finally { if (wasTraining) model.train(); }
    }
}
