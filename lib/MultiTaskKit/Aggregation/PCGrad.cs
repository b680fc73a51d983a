namespace MultiTaskKit.Aggregation;

/// <summary>Options of <see cref="PCGrad"/>.</summary>
/// <param name="Seed">Seeds the random order in which each gradient is projected against the others (drawn per step from
/// seed and step index, so runs are reproducible); default 0.</param>
public sealed record PCGradOptions(long Seed = 0);

/// <summary>
/// PCGrad ("gradient surgery"): for each task i, in random order over the other tasks j, if gᵢ' · gⱼ &lt; 0 then
/// gᵢ' ← gᵢ' − (gᵢ'·gⱼ / ‖gⱼ‖²)·gⱼ (projection onto the normal plane of gⱼ, against the original gⱼ); the update is
/// Σᵢ gᵢ'. Non-conflicting gradients pass unchanged.
/// <para>Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020 (https://arxiv.org/abs/2001.06782), Algorithm 1.</para>
/// <para>Each gᵢ' stays a combination of the original rows, so the projections act on T×T coefficients through the
/// Gramian, and the matrix is read once for the final Σ. Hyperparameters (<see cref="PCGradOptions"/>): Seed = 0.</para>
/// </summary>
public sealed class PCGrad : GramianAggregator
{
    public PCGradOptions Options { get; }

    public PCGrad(PCGradOptions? options = null) : base("pcgrad") => Options = options ?? new();

    public override string Name => "PCGrad";

    public override double[] Weights(double[,] gramian, AggregationInput input) =>
        SumOfAdjustedGradients(gramian, Options.Seed, input.Context.Step, (_, j, c, dot) =>
        {
            // Project away the component along gⱼ when the two conflict (Yu et al. 2020, eq. 1).
            if (dot < 0 && gramian[j, j] > 0) c[j] -= dot / gramian[j, j];
        });

    public override string ToString() => $"PCGrad(Seed={Options.Seed})";
}
