using static TorchSharp.torch;

namespace MultiTaskKit.Aggregation;

/// <summary>Options of <see cref="NashMTL"/>.</summary>
/// <param name="MaxNorm">The update is scaled down to this L2 norm when longer; 0 = no limit. Default 1.0.</param>
/// <param name="UpdateWeightsEvery">Solve for new weights every this many steps, reusing the last ones in between; default 1.</param>
/// <param name="Iterations">Newton iterations of the bargaining problem; default 20 (LibMTL's <c>optim_niter</c>).</param>
public sealed record NashMtlOptions(double MaxNorm = 1.0, int UpdateWeightsEvery = 1, int Iterations = 20);

/// <summary>
/// Nash-MTL: the update is the Nash bargaining solution among tasks, d = Σαᵢgᵢ with α &gt; 0 solving
/// (GGᵀα)ᵢ = 1/αᵢ for every i (Navon et al., Eq. 4 / Theorem 5.1).
/// <para>Navon et al., "Multi-Task Learning as a Bargaining Game", ICML 2022 (https://arxiv.org/abs/2202.01017).</para>
/// <para>Solver (ours, not the paper's CCP with cvxpy): Kα = 1/α is exactly the stationarity condition of the strictly
/// convex f(α) = ½αᵀKα − Σ log αᵢ on α &gt; 0, so α is its unique minimiser; we run damped Newton steps
/// (Hessian K + diag(1/α²)) with a backtracking line search that keeps α &gt; 0, warm-started from the last α.
/// As in LibMTL, K is first divided by its Frobenius norm, and a small ridge (1e-8·trace) keeps f bounded when a task
/// gradient is zero. The previous α is a registered buffer.</para>
/// <para>Hyperparameters (<see cref="NashMtlOptions"/>): MaxNorm = 1.0, UpdateWeightsEvery = 1, Iterations = 20.</para>
/// </summary>
public sealed class NashMTL : GramianAggregator
{
    // looked up by name at use: Module.to() re-registers moved buffers, leaving a cached field behind
    Tensor Previous => get_buffer("previous_alpha")!;

    public NashMtlOptions Options { get; }

    public NashMTL(int tasks, NashMtlOptions? options = null) : base("nash_mtl")
    {
        Options = options ?? new();
        if (Options.UpdateWeightsEvery < 1) throw new ArgumentOutOfRangeException(nameof(options), Options.UpdateWeightsEvery, "UpdateWeightsEvery: expected at least 1");
        if (Options.MaxNorm < 0) throw new ArgumentOutOfRangeException(nameof(options), Options.MaxNorm, "MaxNorm: expected 0 (off) or a positive norm");
        register_buffer("previous_alpha", ones(tasks, dtype: ScalarType.Float64));
    }

    public override string Name => "Nash-MTL";

    public override double[] Weights(double[,] gramian, AggregationInput input)
    {
        int t = gramian.GetLength(0);
        var previous = Previous;
        var last = previous.cpu().data<double>().ToArray();
        double[] alpha;
        if (last.Length == t && input.Context.Step % Options.UpdateWeightsEvery != 0 && input.Context.Step > 0) alpha = last;
        else
        {
            alpha = Solve(gramian, last.Length == t ? last : null, Options.Iterations);
            if (last.Length == t) using (no_grad()) previous.copy_(tensor(alpha, dtype: ScalarType.Float64, device: previous.device));
        }
        var w = (double[])alpha.Clone();
        if (Options.MaxNorm > 0)
        {
            double norm = Math.Sqrt(Math.Max(SmallSolvers.Quadratic(gramian, w), 0));
            if (norm > Options.MaxNorm) for (int i = 0; i < t; i++) w[i] *= Options.MaxNorm / norm;
        }
        return w;
    }

    /// <summary>α &gt; 0 with (Kₙα)ᵢ = 1/αᵢ, Kₙ = K/‖K‖_F (plus a tiny ridge).</summary>
    public static double[] Solve(double[,] gramian, double[]? start, int iterations)
    {
        int t = gramian.GetLength(0);
        double frobenius = 0, trace = 0;
        for (int i = 0; i < t; i++) { trace += gramian[i, i]; for (int j = 0; j < t; j++) frobenius += gramian[i, j] * gramian[i, j]; }
        frobenius = Math.Sqrt(frobenius);
        if (frobenius == 0) return Enumerable.Repeat(1.0, t).ToArray();
        var k = new double[t, t];
        for (int i = 0; i < t; i++) for (int j = 0; j < t; j++) k[i, j] = gramian[i, j] / frobenius + (i == j ? 1e-8 * trace / frobenius : 0);

        double F(double[] a) => 0.5 * SmallSolvers.Quadratic(k, a) - a.Sum(Math.Log);
        var alpha = start is not null && start.All(x => x > 0 && double.IsFinite(x))
            ? (double[])start.Clone()
            : Enumerable.Range(0, t).Select(i => 1 / Math.Sqrt(k[i, i])).ToArray();
        double f = F(alpha);
        for (int it = 0; it < iterations; it++)
        {
            var ka = SmallSolvers.MatVec(k, alpha);
            var grad = alpha.Select((a, i) => ka[i] - 1 / a).ToArray();
            if (Math.Sqrt(SmallSolvers.Dot(grad, grad)) < 1e-10) break;
            var hessian = (double[,])k.Clone();
            for (int i = 0; i < t; i++) hessian[i, i] += 1 / (alpha[i] * alpha[i]);
            var step = SmallSolvers.Solve(hessian, grad.Select(g => -g).ToArray());
            if (step is null) break;
            double s = 1;
            // largest step that keeps α > 0, then Armijo backtracking
            for (int i = 0; i < t; i++) if (step[i] < 0) s = Math.Min(s, -0.99 * alpha[i] / step[i]);
            double slope = SmallSolvers.Dot(grad, step);
            double[] next = alpha; double fn = f;
            for (int tries = 0; tries < 50; tries++)
            {
                next = alpha.Select((a, i) => a + s * step[i]).ToArray();
                fn = F(next);
                if (fn <= f + 1e-4 * s * slope) break;
                s *= 0.5;
            }
            if (!(fn <= f)) break;
            alpha = next; f = fn;
        }
        return alpha;
    }

    public override string ToString() => $"Nash-MTL(MaxNorm={Format(Options.MaxNorm)}, UpdateWeightsEvery={Options.UpdateWeightsEvery}, Iterations={Options.Iterations})";
}
