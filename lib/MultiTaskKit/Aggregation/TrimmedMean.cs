using MultiTaskKit.Weighting;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Aggregation;

/// <summary>Options of <see cref="TrimmedMean"/>.</summary>
/// <param name="Trim">How many of the largest and of the smallest values to drop in each coordinate (2·Trim in all);
/// needs T ≥ 2·Trim + 1. Default 1.</param>
public sealed record TrimmedMeanOptions(int Trim = 1);

/// <summary>
/// Coordinate-wise trimmed mean (robust aggregation): in every coordinate, the Trim largest and Trim smallest of the T
/// task values are dropped and the rest averaged. An outlying task cannot move any coordinate beyond the others' range.
/// <para>Yin, Chen, Kannan &amp; Bartlett, "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates",
/// ICML 2018 (https://proceedings.mlr.press/v80/yin18a.html), Definition 2; as an aggregator in torchjd.</para>
/// <para>Not a combination of the rows (each coordinate keeps different tasks), so no weights are reported and the
/// matrix is sorted on its device. Hyperparameters (<see cref="TrimmedMeanOptions"/>): Trim = 1.</para>
/// </summary>
public sealed class TrimmedMean : nn.Module, IGradientAggregator
{
    public TrimmedMeanOptions Options { get; }

    public TrimmedMean(TrimmedMeanOptions? options = null) : base("trimmed_mean")
    {
        Options = options ?? new();
        if (Options.Trim < 0) throw new ArgumentOutOfRangeException(nameof(options), Options.Trim, "Trim: expected a count ≥ 0");
    }

    public string Name => "TrimmedMean";
    public bool SupportsRepresentationGradients => true;

    public AggregationResult Aggregate(Tensor taskGradients, AggregationInput input)
    {
        MethodGuards.CheckAggregation(Name, taskGradients, input.Tasks, input.Gramian, input.Losses);
        if (taskGradients.dim() != 2)
            throw new ArgumentException($"{Name}: expected a [T, P] gradient matrix, found shape [{string.Join(", ", taskGradients.shape)}]", nameof(taskGradients));
        long t = taskGradients.shape[0];
        if (t < 2L * Options.Trim + 1)
            throw new ArgumentException($"{Name}: Trim = {Options.Trim} needs at least {2 * Options.Trim + 1} tasks, found {t}: {string.Join(", ", input.Tasks)}");
        using var scope = NewDisposeScope();
        var (sorted, _) = taskGradients.sort(dim: 0);
        var update = sorted.narrow(0, Options.Trim, t - 2 * Options.Trim).mean(new long[] { 0 });
        return new AggregationResult(update.MoveToOuterDisposeScope(), null);
    }

    public override string ToString() => $"TrimmedMean(Trim={Options.Trim})";
}
