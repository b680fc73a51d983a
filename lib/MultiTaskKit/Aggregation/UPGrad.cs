namespace MultiTaskKit.Aggregation;

/// <summary>Options of <see cref="UPGrad"/>.</summary>
/// <param name="NormEpsilon">If the squared Frobenius norm of G (the Gramian's trace) is below this, the Gramian is not
/// normalised but treated as 0, so the projection leaves the gradients alone and the update is their mean (as torchjd);
/// default 1e-4.</param>
/// <param name="RegularizationEpsilon">Added to the normalised Gramian's diagonal to make it positive definite; default 1e-4.</param>
public sealed record UPGradOptions(double NormEpsilon = 1e-4, double RegularizationEpsilon = 1e-4);

/// <summary>
/// UPGrad (unconflicting projection of gradients): each task gradient gᵢ is projected onto the dual cone of the rows of
/// G, {x : Gx ≥ 0} — the directions that conflict with no task — and the update is the mean of the projections.
/// By the paper's Proposition 1 the projection of Gᵀu is Gᵀv with v = argmin_{v ≥ u} vᵀGGᵀv; with u = eᵢ/T the weights
/// are Σᵢ v⁽ⁱ⁾. Non-conflicting gradients give the plain mean; the update never conflicts with any task.
/// <para>Quinton &amp; Rey, "Jacobian Descent for Multi-Objective Optimization", 2024 (https://arxiv.org/abs/2406.16232);
/// defaults as torchjd. The QPs (T variables, lower bounds only) are solved by coordinate descent
/// (<see cref="SmallSolvers.LowerBoundedQuadratic"/>) on the Gramian normalised by its trace.</para>
/// <para>Hyperparameters (<see cref="UPGradOptions"/>): NormEpsilon = 1e-4, RegularizationEpsilon = 1e-4.</para>
/// </summary>
public sealed class UPGrad : GramianAggregator
{
    public UPGradOptions Options { get; }

    public UPGrad(UPGradOptions? options = null) : base("upgrad") => Options = options ?? new();

    public override string Name => "UPGrad";

    public override double[] Weights(double[,] gramian, AggregationInput input)
    {
        int t = gramian.GetLength(0);
        var k = NormalizedGramian(gramian, Options.NormEpsilon, Options.RegularizationEpsilon);
        var w = new double[t];
        for (int i = 0; i < t; i++)
        {
            var u = new double[t];
            u[i] = 1.0 / t;
            var v = SmallSolvers.LowerBoundedQuadratic(k, u);
            for (int j = 0; j < t; j++) w[j] += v[j];
        }
        return w;
    }

    /// <summary>K / trace(K) + ε_reg·I, or ε_reg·I alone when trace(K) &lt; ε_norm (as torchjd: tiny gradients are then
    /// averaged, not dropped).</summary>
    internal static double[,] NormalizedGramian(double[,] gramian, double normEpsilon, double regularizationEpsilon)
    {
        int t = gramian.GetLength(0);
        double trace = 0;
        for (int i = 0; i < t; i++) trace += gramian[i, i];
        var k = new double[t, t];
        for (int i = 0; i < t; i++)
            for (int j = 0; j < t; j++)
                k[i, j] = (trace < normEpsilon ? 0 : gramian[i, j] / trace) + (i == j ? regularizationEpsilon : 0);
        return k;
    }

    public override string ToString() => $"UPGrad(NormEpsilon={Format(Options.NormEpsilon)}, RegularizationEpsilon={Format(Options.RegularizationEpsilon)})";
}
