namespace MultiTaskKit.Aggregation;

/// <summary>
/// ConFIG (conflict-free inverse gradients): the update direction is the one with equal cosine to every task gradient,
/// x = U⁺·1 with U the matrix of unit gradients uᵢ = gᵢ/‖gᵢ‖ (the minimum-norm solution of uᵢ·x = 1 for all i), and its
/// length is the sum of the gradients' projections onto it: d = (Σᵢ gᵢ·x̂)·x̂ with x̂ = x/‖x‖.
/// <para>Liu, Chu, Lin &amp; Thuerey, "ConFIG: Towards Conflict-free Training of Physics Informed Neural Networks",
/// ICLR 2025 (https://arxiv.org/abs/2408.11104), Eq. (2), with equal preferences (as torchjd's default).</para>
/// <para>Through the Gramian: x = Σⱼ (yⱼ/‖gⱼ‖)·gⱼ with y = K_u⁺·1 and K_u = D⁻¹KD⁻¹ (D = diag‖gᵢ‖); the pseudo-inverse
/// comes from the T×T eigen-decomposition (eigenvalues below 1e-12·λ_max count as zero). A zero gradient has no
/// direction and gets weight 0. No hyperparameters.</para>
/// </summary>
public sealed class ConFIG : GramianAggregator
{
    public ConFIG() : base("config") { }

    public override string Name => "ConFIG";

    public override double[] Weights(double[,] gramian, AggregationInput input)
    {
        int t = gramian.GetLength(0);
        var n = GradientMatrix.Norms(gramian);
        var ku = new double[t, t];
        for (int i = 0; i < t; i++)
            for (int j = 0; j < t; j++)
                ku[i, j] = n[i] > 0 && n[j] > 0 ? gramian[i, j] / (n[i] * n[j]) : 0;
        var (values, vectors) = SmallSolvers.SymmetricEigen(ku);
        double cutoff = Math.Max(values[0], 0) * 1e-12;
        var y = new double[t];
        for (int k = 0; k < t; k++)
        {
            if (!(values[k] > cutoff)) continue;
            double projection = 0;
            for (int i = 0; i < t; i++) projection += n[i] > 0 ? vectors[i, k] : 0;
            for (int i = 0; i < t; i++) y[i] += vectors[i, k] * projection / values[k];
        }
        var c = y.Select((v, i) => n[i] > 0 ? v / n[i] : 0).ToArray();
        var kc = SmallSolvers.MatVec(gramian, c);
        double squaredNorm = SmallSolvers.Dot(c, kc);
        if (!(squaredNorm > 0)) return new double[t];
        // d = (1ᵀGx / ‖x‖²)·x: the sum of projections times the unit direction
        double scale = kc.Sum() / squaredNorm;
        return c.Select(v => v * scale).ToArray();
    }

    public override string ToString() => "ConFIG()";
}
