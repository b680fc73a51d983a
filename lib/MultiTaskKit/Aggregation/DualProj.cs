namespace MultiTaskKit.Aggregation;

/// <summary>Options of <see cref="DualProj"/>.</summary>
/// <param name="NormEpsilon">Below this squared Frobenius norm of G the Gramian is treated as 0 (the update is then the
/// mean); default 1e-4 (torchjd).</param>
/// <param name="RegularizationEpsilon">Added to the normalised Gramian's diagonal; default 1e-4 (torchjd).</param>
public sealed record DualProjOptions(double NormEpsilon = 1e-4, double RegularizationEpsilon = 1e-4);

/// <summary>
/// DualProj: the mean gradient ḡ = (1/T)Σgᵢ projected onto the dual cone of the task gradients {x : Gx ≥ 0}, the
/// closest direction to the mean that conflicts with no task. By Quinton &amp; Rey's Proposition 1 the projection of Gᵀu is
/// Gᵀv with v = argmin_{v ≥ u} vᵀGGᵀv, here with u = 1/T. UPGrad projects each gradient and averages; DualProj averages
/// first and projects once.
/// <para>Lopez-Paz &amp; Ranzato, "Gradient Episodic Memory for Continual Learning", NeurIPS 2017
/// (https://arxiv.org/abs/1706.08840), Eq. (11), as an aggregator in torchjd (Quinton &amp; Rey, "Jacobian Descent for
/// Multi-Objective Optimization", 2024, https://arxiv.org/abs/2406.16232); defaults as torchjd.</para>
/// <para>Hyperparameters (<see cref="DualProjOptions"/>): NormEpsilon = 1e-4, RegularizationEpsilon = 1e-4.</para>
/// </summary>
public sealed class DualProj : GramianAggregator
{
    public DualProjOptions Options { get; }

    public DualProj(DualProjOptions? options = null) : base("dualproj") => Options = options ?? new();

    public override string Name => "DualProj";

    public override double[] Weights(double[,] gramian, AggregationInput input)
    {
        int t = gramian.GetLength(0);
        var k = UPGrad.NormalizedGramian(gramian, Options.NormEpsilon, Options.RegularizationEpsilon);
        return SmallSolvers.LowerBoundedQuadratic(k, Enumerable.Repeat(1.0 / t, t).ToArray());
    }

    public override string ToString() => $"DualProj(NormEpsilon={Format(Options.NormEpsilon)}, RegularizationEpsilon={Format(Options.RegularizationEpsilon)})";
}
