using System.Globalization;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Data;

/// <summary>
/// Regression of a text or a pair (a sentiment rating, a similarity score): one real value per row,
/// <see cref="RegressionHead"/> (mean squared error), Pearson, Spearman, MSE, MAE and polarity accuracy; the main score is
/// Pearson's r (−MSE when r is undefined).
/// </summary>
public sealed class RegressionKind : TaskKind
{
    public override string Name => "regression";

    public override bool HasLabelNames => false;

    public override int Outputs(TaskSignature task) => 1;

    public override TaskLabel? LabelOf(TextExample example) => float.IsNaN(example.Target) ? null : new TaskLabel(Value: example.Target);

    public override (IReadOnlyList<string> LabelNames, IReadOnlyList<TextExample> Examples) Label(
        IReadOnlyList<(TextExample Example, string Cell, string Where)> cells, LabelOptions options) =>
        ([], cells.Select(x =>
            x.Cell.Length == 0 ? x.Example :
            float.TryParse(x.Cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var y) && float.IsFinite(y)
                ? x.Example with { Target = y }
                : throw new InvalidDataException($"{x.Where}: expected a finite numeric target in column '{options.Column}', found '{x.Cell}'.")).ToList());

    public override Tensor Targets(TaskSignature task, IReadOnlyList<EncodedExample> rows, long width, Device device) =>
        tensor(rows.Select(e => e.Label!.Value).ToArray(), dtype: float32, device: device);

    public override TaskHead CreateHead(long inputSize, TaskSignature task, double dropout) => new RegressionHead(inputSize, 1, dropout);

    public override ITaskMetrics NewMetrics(TaskSignature task) => new Accumulator();

    sealed class Accumulator : ITaskMetrics
    {
        readonly RegressionAccumulator inner = new();
        public void Update(ReadOnlySpan<float> scores, EncodedExample example) => inner.Update(scores[0], example.Label!.Value);
        public IMetricResult Compute() => inner.Compute();
    }

    public override double MainScore(IMetricResult result)
    {
        var r = (RegressionMetrics)result;
        return double.IsFinite(r.Pearson) ? r.Pearson : -r.Mse;
    }

    public override TaskPrediction Predict(TaskSignature task, ReadOnlySpan<float> scores, EncodedExample example) =>
        new(task.Name, this, null, null, scores[0]) { Text = $"{scores[0]:F4}" };

    public override ExamplePrediction Record(TaskSignature task, ReadOnlySpan<float> scores, EncodedExample example) =>
        new(example.Index, example.Label?.Value ?? double.NaN, scores[0]);
}
