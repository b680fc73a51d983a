namespace MultiTaskKit.Evaluation;

/// <summary>Built-in metrics plus the evaluated loss (<c>TaskEvaluator.LossMetric</c>) and a task's own metrics
/// (<c>IUserMetric</c>). The built-in result stays reachable as <see cref="BuiltIn"/>, for what only it has (per-class
/// figures, the confusion matrix).</summary>
public sealed record MetricsWithUserMetrics(IMetricResult BuiltIn, IReadOnlyDictionary<string, double> UserValues) : IMetricResult
{
    public long Count => BuiltIn.Count;

    /// <summary>The built-in metrics, then the loss and the user metrics.</summary>
    public IReadOnlyDictionary<string, double> Values => BuiltIn.Values.Concat(UserValues).ToDictionary(kv => kv.Key, kv => kv.Value);
}

/// <summary>Reading results that may carry user metrics.</summary>
public static class MetricResults
{
    /// <summary>The built-in result (<see cref="ClassificationMetrics"/>, <see cref="RegressionMetrics"/>) under any user metrics.</summary>
    public static IMetricResult BuiltIn(this IMetricResult result) => result is MetricsWithUserMetrics w ? w.BuiltIn : result;
}
