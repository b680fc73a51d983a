using MultiTaskKit.Aggregation;
using MultiTaskKit.Steps;
using MultiTaskKit.Weighting;
using MultiTaskKit.Optim;
using MultiTaskKit.Models;
using MultiTaskKit.Data;

namespace MultiTaskKit.Runs;

/// <summary>
/// Builds the method a configuration names, through the weighting folder's <see cref="MethodCatalog"/> (papers' defaults).
/// <c>method.weighting</c> is any catalog name (<c>ew</c>/<c>equal</c>, <c>uw</c>, <c>dwa</c>, <c>pcgrad</c>, …) or
/// <c>fixed</c> with <c>method.weights</c>; <c>method.aggregation</c> optionally adds a gradient method's aggregator
/// (e.g. <c>uw</c> + <c>pcgrad</c>).
/// </summary>
public static class MethodFactory
{
    public static MethodSpec Create(MethodConfig method, IReadOnlyList<string> tasks)
    {
        var name = method.Weighting.Trim().ToLowerInvariant();
        MethodSpec spec;
        if (name == "fixed")
        {
            if (method.Weights is not { } w || w.Count != tasks.Count)
                throw new InvalidDataException($"method.weights: the fixed weighting needs {tasks.Count} weights (one per task: {string.Join(", ", tasks)}), found {method.Weights?.Count ?? 0}.");
            spec = new MethodSpec("fixed", new FixedWeighting(tasks, w), null, GradientMode.Parameters);
        }
        else
        {
            try { spec = MethodCatalog.Create(name is "equal" ? "ew" : name, tasks); }
            catch (ArgumentException e) { throw new InvalidDataException($"method.weighting: {e.Message}; or 'fixed' with method.weights.", e); }
        }
        if (method.Aggregation is { Length: > 0 } agg && !agg.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            MethodSpec aggSpec;
            try { aggSpec = MethodCatalog.Create(agg, tasks); }
            catch (ArgumentException e) { throw new InvalidDataException($"method.aggregation: {e.Message}", e); }
            if (aggSpec.Aggregator is null)
                throw new InvalidDataException($"method.aggregation: '{agg}' is a loss weighting, not a gradient aggregation; put it in method.weighting.");
            if (spec.Aggregator is not null)
                throw new InvalidDataException($"method: '{method.Weighting}' already aggregates gradients; choose one aggregation.");
            spec = spec with { Name = $"{spec.Name}+{aggSpec.Name}", Aggregator = aggSpec.Aggregator, Mode = aggSpec.Mode };
        }
        return spec;
    }
}
