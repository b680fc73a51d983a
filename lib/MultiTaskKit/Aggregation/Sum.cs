namespace MultiTaskKit.Aggregation;

/// <summary>
/// The plain sum d = Σᵢ gᵢ: what one backward of the weighted loss gives, but through the per-task matrix (so the step
/// reports gradient diagnostics). The reference point for every other aggregator. No hyperparameters.
/// </summary>
public sealed class Sum : GramianAggregator
{
    public Sum() : base("sum") { }
    public override string Name => "Sum";
    public override double[] Weights(double[,] gramian, AggregationInput input) => Enumerable.Repeat(1.0, gramian.GetLength(0)).ToArray();
    public override string ToString() => "Sum()";
}
