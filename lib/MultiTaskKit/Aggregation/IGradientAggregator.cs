using MultiTaskKit.Weighting;
using static TorchSharp.torch;

namespace MultiTaskKit.Aggregation;

/// <summary>
/// A gradient-level method: maps the matrix of task gradients G ∈ ℝ^{T×P} (row i: the gradient of task i's weighted
/// loss with respect to the shared parameters, or to the shared representation in rep-grad mode) to the one update
/// vector d ∈ ℝ^P that the shared parameters receive (torchjd's "aggregator"). It composes with an
/// <see cref="ILossWeighting"/>: the weighting scales the rows, the aggregator combines them. Task-specific parameters
/// are not touched by aggregation.
/// </summary>
public interface IGradientAggregator
{
    /// <summary>The method's short name, as in its paper.</summary>
    string Name { get; }

    /// <summary>Whether the method may run on gradients with respect to the shared representation (rep-grad).</summary>
    bool SupportsRepresentationGradients { get; }

    /// <summary>Combines <paramref name="taskGradients"/> [T, P] (on the device; do not modify) into [P].</summary>
    AggregationResult Aggregate(Tensor taskGradients, AggregationInput input);
}

/// <summary>What an aggregator sees besides the matrix.</summary>
/// <param name="Tasks">Row names of the matrix.</param>
/// <param name="Gramian">G·Gᵀ [T, T] on the host, computed once per step by the engine (also the source of diagnostics).</param>
/// <param name="Losses">Raw loss values of the tasks (for loss-based normalisations).</param>
/// <param name="Context">Step index, epoch, history.</param>
/// <param name="Blocks">The matrix's columns by parameter, in column order (parameter gradients only; null for the
/// shared representation or when unknown): what per-layer and per-parameter methods (GradVac's groups) need.</param>
public sealed record AggregationInput(IReadOnlyList<string> Tasks, double[,] Gramian, IReadOnlyList<double> Losses, StepContext Context,
    IReadOnlyList<ParameterBlock>? Blocks = null);

/// <summary>The columns [Offset, Offset + Length) of the gradient matrix hold the parameter <paramref name="Name"/>
/// (its full dotted name in the model, e.g. <c>trunk.encoder.layer.3.attention.self.query.weight</c>).</summary>
public sealed record ParameterBlock(string Name, long Offset, long Length)
{
    /// <summary>The owning module's name: the parameter name without its last segment ("" at the top level).</summary>
    public string Module => Name.LastIndexOf('.') is var dot and >= 0 ? Name[..dot] : "";
}

/// <summary>An aggregator's answer.</summary>
/// <param name="Update">[P], on the device of the matrix.</param>
/// <param name="Weights">When d = Σᵢ wᵢ·gᵢ, the wᵢ (reported in diagnostics); null otherwise.</param>
public sealed record AggregationResult(Tensor Update, IReadOnlyList<double>? Weights);
