using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Evaluation;

/// <summary>
/// Scores one task of a <see cref="MultiTaskNetwork"/> on encoded examples: evaluation mode, no gradients, one dispose
/// scope per batch, metrics accumulated on the host as scalars. The model's training mode is restored afterwards.
/// </summary>
public static class TaskEvaluator
{
    /// <param name="userMetrics">The task's own metrics (reset, fed every row, computed): their values join the result
    /// (<see cref="MetricsWithUserMetrics"/>). A name equal to a built-in metric's is refused.</param>
    public static IMetricResult Evaluate(MultiTaskNetwork model, TaskSignature task, IReadOnlyList<EncodedExample> examples, long padId, int batchSize = 64,
        IReadOnlyList<IUserMetric>? userMetrics = null)
    {
        if (examples.Count == 0) throw new ArgumentException($"task '{task.Name}': expected examples to evaluate, found none.", nameof(examples));
        var classification = task.Kind == TaskKind.Classification ? new ClassificationAccumulator(task.LabelNames) : null;
        var regression = task.Kind == TaskKind.Regression ? new RegressionAccumulator() : null;
        foreach (var m in userMetrics ?? []) m.Reset();
        foreach (var (ex, output) in Predict(model, task, examples, padId, batchSize))
        {
            foreach (var m in userMetrics ?? []) m.Update(output, ex);
            if (classification != null) classification.Update(ClassificationAccumulator.ArgMax(output), ex.Label);
            else regression!.Update(output[0], ex.Target);
        }
        IMetricResult builtIn = classification != null ? classification.Compute() : regression!.Compute();
        if (userMetrics is not { Count: > 0 }) return builtIn;
        var values = new Dictionary<string, double>();
        foreach (var m in userMetrics)
        {
            if (builtIn.Values.ContainsKey(m.Name) || values.ContainsKey(m.Name))
                throw new ArgumentException($"task '{task.Name}': user metric '{m.Name}' has the name of another metric of the task ({string.Join(", ", builtIn.Values.Keys.Concat(values.Keys))})", nameof(userMetrics));
            values[m.Name] = m.Compute();
        }
        return new MetricsWithUserMetrics(builtIn, values);
    }

    /// <summary>
    /// Raw outputs per example: class probabilities (softmax of the logits) for classification, the predicted value for
    /// regression. Examples come back in batches sorted by length, each paired with its output.
    /// </summary>
    public static IEnumerable<(EncodedExample Example, float[] Output)> Predict(MultiTaskNetwork model, TaskSignature task, IReadOnlyList<EncodedExample> examples, long padId, int batchSize = 64)
    {
        bool wasTraining = model.training;
        model.eval();
        // bf16 products: the weights are cast once for all batches, not at every call
        using var casts = MixedPrecision.CastWeightsForInference(model);
        try
        {
            foreach (var chunk in EvaluationBatches.Of(examples, batchSize))
            {
                float[] values;
                using (var scope = NewDisposeScope())
                using (no_grad())
                {
                    using var batch = TaskBatch.Build(task.Name, task.Kind, chunk, padId, TorchRuntime.Device);
                    var output = model.Forward(new Dictionary<string, TrunkInput> { [task.Name] = batch.Input })[task.Name];
                    if (task.Kind == TaskKind.Classification) output = nn.functional.softmax(output, -1);
                    values = output.to_type(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
                }
                int width = values.Length / chunk.Count;
                for (int i = 0; i < chunk.Count; i++) yield return (chunk[i], values[(i * width)..((i + 1) * width)]);
            }
        }
        finally { if (wasTraining) model.train(); }
    }
}
