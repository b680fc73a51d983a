namespace MultiTaskKit.Aggregation;

/// <summary>Options of <see cref="AlignedMTL"/>.</summary>
/// <param name="RankTolerance">Eigenvalues below RankTolerance·λ_max·T count as zero (the Gramian's numerical rank);
/// default 1e-7 (single-precision ε, as LibMTL).</param>
public sealed record AlignedMtlOptions(double RankTolerance = 1e-7);

/// <summary>
/// Aligned-MTL: removes conflict and dominance by making the task gradients orthogonal and of equal norm — the
/// linear system of gradients gets condition number 1. With GGᵀ = VΛVᵀ (rank r), the balancing matrix is
/// B = √λ_r · V Λ^{-1/2} Vᵀ (σ_min the smallest non-zero singular value), the aligned gradients are BG, and the update
/// is their sum, d = 1ᵀBG, i.e. weights w = B·1.
/// <para>Senushkin et al., "Independent Component Alignment for Multi-Task Learning", CVPR 2023
/// (https://arxiv.org/abs/2305.19000), Algorithm 1, with unit task preferences. The eigen-decomposition of the T×T
/// Gramian is done by Jacobi rotations on the host.</para>
/// <para>Hyperparameters (<see cref="AlignedMtlOptions"/>): RankTolerance = 1e-7.</para>
/// </summary>
public sealed class AlignedMTL : GramianAggregator
{
    public AlignedMtlOptions Options { get; }

    public AlignedMTL(AlignedMtlOptions? options = null) : base("aligned_mtl") => Options = options ?? new();

    public override string Name => "Aligned-MTL";

    public override double[] Weights(double[,] gramian, AggregationInput input)
    {
        int t = gramian.GetLength(0);
        var (values, vectors) = SmallSolvers.SymmetricEigen(gramian);
        double tolerance = Math.Max(values[0], 0) * t * Options.RankTolerance;
        int rank = values.Count(v => v > tolerance);
        if (rank == 0) return new double[t];
        double sigmaMin = Math.Sqrt(values[rank - 1]);
        var w = new double[t];
        // B·1 = σ_min Σ_k v_k (v_kᵀ1) / √λ_k
        for (int kIndex = 0; kIndex < rank; kIndex++)
        {
            double projection = 0;
            for (int i = 0; i < t; i++) projection += vectors[i, kIndex];
            double factor = sigmaMin * projection / Math.Sqrt(values[kIndex]);
            for (int i = 0; i < t; i++) w[i] += factor * vectors[i, kIndex];
        }
        return w;
    }

    public override string ToString() => $"Aligned-MTL(RankTolerance={Format(Options.RankTolerance)})";
}
