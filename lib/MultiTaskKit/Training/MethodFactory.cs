using MultiTaskKit.Aggregation;
using MultiTaskKit.Weighting;

namespace MultiTaskKit.Training;

/// <summary>Builds the loss weighting and gradient aggregator a configuration names.</summary>
public static class MethodFactory
{
    public static ILossWeighting Weighting(MethodConfig method, IReadOnlyList<string> tasks) => method.Weighting.ToLowerInvariant() switch
    {
        "equal" or "ew" => new EqualWeighting(tasks),
        "fixed" => new FixedWeighting(tasks, method.Weights ?? throw new InvalidDataException("method.weights: the fixed weighting needs one weight per task.")),
        _ => throw new InvalidDataException($"method.weighting: expected one of {string.Join(", ", WeightingNames)}, found '{method.Weighting}'."),
    };

    public static IGradientAggregator? Aggregator(MethodConfig method, IReadOnlyList<string> tasks) => method.Aggregation?.ToLowerInvariant() switch
    {
        null or "" or "none" => null,
        "sum" => new Sum(),
        _ => throw new InvalidDataException($"method.aggregation: expected one of {string.Join(", ", AggregationNames)}, found '{method.Aggregation}'."),
    };

    public static readonly IReadOnlyList<string> WeightingNames = ["equal", "fixed"];
    public static readonly IReadOnlyList<string> AggregationNames = ["none", "sum"];
}
