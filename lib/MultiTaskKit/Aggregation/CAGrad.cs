namespace MultiTaskKit.Aggregation;

/// <summary>How CAGrad rescales its update (LibMTL's <c>rescale</c>).</summary>
public enum CAGradRescale
{
    /// <summary>d as solved.</summary>
    None = 0,
    /// <summary>d / (1 + c²) (the default).</summary>
    OnePlusCSquared = 1,
    /// <summary>d / (1 + c).</summary>
    OnePlusC = 2,
}

/// <summary>Options of <see cref="CAGrad"/>.</summary>
/// <param name="C">c ∈ [0, 1): the radius of the ball around the average gradient g₀, as a fraction of ‖g₀‖; c = 0 gives
/// plain averaging. Default 0.5 (LibMTL's <c>calpha</c>; the paper tunes c per benchmark, 0.4 on NYUv2).</param>
/// <param name="Rescale">Default <see cref="CAGradRescale.OnePlusCSquared"/>.</param>
/// <param name="Iterations">Projected-gradient iterations of the simplex problem; default 500.</param>
public sealed record CAGradOptions(double C = 0.5, CAGradRescale Rescale = CAGradRescale.OnePlusCSquared, int Iterations = 500);

/// <summary>
/// CAGrad (conflict-averse gradient descent): maximise the worst task improvement within a ball of radius c‖g₀‖ around
/// the average gradient g₀ = (1/T)Σgᵢ. Dual: w = argmin_{w ∈ simplex} g_wᵀg₀ + √φ·‖g_w‖ with g_w = Σwᵢgᵢ and
/// φ = c²‖g₀‖²; the update is d = g₀ + (√φ / ‖g_w‖)·g_w, then rescaled.
/// <para>Liu et al., "Conflict-Averse Gradient Descent for Multi-task Learning", NeurIPS 2021
/// (https://arxiv.org/abs/2110.14048), Algorithm 1. The T-dimensional dual is solved here by projected gradient descent
/// on the simplex with backtracking (it is convex: a linear term plus a norm).</para>
/// <para>Hyperparameters (<see cref="CAGradOptions"/>): C = 0.5, Rescale = 1/(1+c²), Iterations = 500.
/// The update has the scale of the mean gradient, not of the sum.</para>
/// </summary>
public sealed class CAGrad : GramianAggregator
{
    public CAGradOptions Options { get; }

    public CAGrad(CAGradOptions? options = null) : base("cagrad")
    {
        Options = options ?? new();
        if (Options.C is < 0 or >= 1 || double.IsNaN(Options.C)) throw new ArgumentOutOfRangeException(nameof(options), Options.C, "C: expected a value in [0, 1)");
    }

    public override string Name => "CAGrad";

    public override double[] Weights(double[,] gramian, AggregationInput input)
    {
        int t = gramian.GetLength(0);
        var b = Enumerable.Repeat(1.0 / t, t).ToArray();
        var kb = SmallSolvers.MatVec(gramian, b);
        double g0Norm = Math.Sqrt(Math.Max(SmallSolvers.Dot(b, kb), 0) + 1e-8);
        double sqrtPhi = Options.C * g0Norm + 1e-8;

        double Objective(double[] w) => SmallSolvers.Dot(w, kb) + sqrtPhi * Math.Sqrt(Math.Max(SmallSolvers.Quadratic(gramian, w), 0) + 1e-8);

        var x = (double[])b.Clone();
        double fx = Objective(x), step = 1.0 / (Trace(gramian) + 1e-12);
        for (int it = 0; it < Options.Iterations; it++)
        {
            var kx = SmallSolvers.MatVec(gramian, x);
            double norm = Math.Sqrt(Math.Max(SmallSolvers.Dot(x, kx), 0) + 1e-8);
            var grad = new double[t];
            for (int i = 0; i < t; i++) grad[i] = kb[i] + sqrtPhi * kx[i] / norm;
            // backtracking: shrink the step until the objective does not increase
            double[] next; double fn;
            int tries = 0;
            do
            {
                next = SmallSolvers.ProjectToSimplex(x.Select((xi, i) => xi - step * grad[i]).ToArray());
                fn = Objective(next);
                if (fn <= fx) break;
                step *= 0.5;
            } while (++tries < 40);
            if (fn > fx) break;
            double moved = x.Zip(next, (p, q) => Math.Abs(p - q)).Max();
            double gain = fx - fn;
            x = next; fx = fn; step *= 1.5;
            if (moved < 1e-12 || gain <= 1e-12 * Math.Abs(fx)) break;
        }
        double gwNorm = Math.Sqrt(Math.Max(SmallSolvers.Quadratic(gramian, x), 0));
        double lambda = sqrtPhi / (gwNorm + 1e-8);
        double divisor = Options.Rescale switch
        {
            CAGradRescale.OnePlusCSquared => 1 + Options.C * Options.C,
            CAGradRescale.OnePlusC => 1 + Options.C,
            _ => 1,
        };
        return b.Select((bi, i) => (bi + lambda * x[i]) / divisor).ToArray();
    }

    static double Trace(double[,] k) { double s = 0; for (int i = 0; i < k.GetLength(0); i++) s += k[i, i]; return s; }

    public override string ToString() => $"CAGrad(C={Format(Options.C)}, Rescale={Options.Rescale}, Iterations={Options.Iterations})";
}
