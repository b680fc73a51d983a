namespace MultiTaskKit.Aggregation;

/// <summary>
/// IMTL-G (impartial multi-task learning, gradient part): the update d = Σ αᵢgᵢ with Σαᵢ = 1 whose projections onto
/// every task's unit gradient uᵢ = gᵢ/‖gᵢ‖ are equal, d·uᵢ = d·uⱼ. Closed form: with D = [g₁−g₂, …, g₁−g_T] and
/// U = [u₁−u₂, …, u₁−u_T], α₂..T = g₁Uᵀ(DUᵀ)⁻¹ and α₁ = 1 − Σα₂..T.
/// <para>Liu et al., "Towards Impartial Multi-task Learning", ICLR 2021 (https://openreview.net/forum?id=IMPnRXEWpvr),
/// Section 3.2, Eq. (6). The loss-scale part is <see cref="Weighting.IMTLL"/>; full IMTL (catalogue name <c>imtl</c>)
/// pairs the two, <c>imtl-g</c> is this aggregator alone. No hyperparameters.
/// Weights can be negative. When DUᵀ is singular (e.g. parallel gradients) the weights fall back to 1/T. With dependent
/// gradients the only update with equal projections may be 0 (e.g. g₃ = g₁ + g₂): the closed form then returns it, as
/// LibMTL does, where torchjd's pseudo-inverse form returns a non-zero least-squares compromise.</para>
/// </summary>
public sealed class IMTL : GramianAggregator
{
    public IMTL() : base("imtl") { }

    public override string Name => "IMTL";

    public override double[] Weights(double[,] gramian, AggregationInput input)
    {
        int t = gramian.GetLength(0);
        if (t == 1) return new[] { 1.0 };
        var n = GradientMatrix.Norms(gramian).Select(x => x > 0 ? x : 1e-12).ToArray();
        // entries of DUᵀ and g₁Uᵀ through the Gramian: gₐ·u_b = K[a,b]/n_b
        var dut = new double[t - 1, t - 1];
        var g1ut = new double[t - 1];
        for (int i = 1; i < t; i++)
        {
            g1ut[i - 1] = gramian[0, 0] / n[0] - gramian[0, i] / n[i];
            for (int j = 1; j < t; j++)
                dut[i - 1, j - 1] = gramian[0, 0] / n[0] - gramian[0, j] / n[j] - gramian[i, 0] / n[0] + gramian[i, j] / n[j];
        }
        // α (row) = g₁Uᵀ (DUᵀ)⁻¹  ⇔  (DUᵀ)ᵀ αᵀ = (g₁Uᵀ)ᵀ
        var transposed = new double[t - 1, t - 1];
        for (int i = 0; i < t - 1; i++) for (int j = 0; j < t - 1; j++) transposed[i, j] = dut[j, i];
        var alpha = SmallSolvers.Solve(transposed, g1ut);
        if (alpha is null || alpha.Any(a => !double.IsFinite(a))) return Enumerable.Repeat(1.0 / t, t).ToArray();
        var w = new double[t];
        w[0] = 1 - alpha.Sum();
        for (int i = 1; i < t; i++) w[i] = alpha[i - 1];
        return w;
    }

    public override string ToString() => "IMTL()";
}
