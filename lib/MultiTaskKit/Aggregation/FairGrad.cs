namespace MultiTaskKit.Aggregation;

/// <summary>Options of <see cref="FairGrad"/>.</summary>
/// <param name="Alpha">α of α-fair utility: 1 is proportional fairness (Nash-MTL's condition without its normalisation),
/// larger values favour the worst-off task more (α → ∞: max-min fairness). Default 1.0 (LibMTL's FairGrad_alpha).</param>
/// <param name="Iterations">Newton iterations; default 100.</param>
public sealed record FairGradOptions(double Alpha = 1.0, int Iterations = 100);

/// <summary>
/// FairGrad: treats the update as a resource shared among tasks and maximises the sum of α-fair utilities of the tasks'
/// improvements. The optimality condition is GGᵀw = w^{−1/α} (element-wise, w &gt; 0); the update is d = Σ wᵢgᵢ.
/// <para>Ban &amp; Ji, "Fair Resource Allocation in Multi-Task Learning", ICML 2024 (https://arxiv.org/abs/2402.15638),
/// Eq. (6).</para>
/// <para>Solver (ours; LibMTL calls scipy's least_squares on Kw − w^{−1/α}): the condition is the stationarity of the
/// strictly convex f(w) = ½wᵀKw − Σ h(wᵢ) with h′(w) = w^{−1/α} (h = log for α = 1), so w is its unique minimiser;
/// damped Newton steps (Hessian K + diag(w^{−1/α−1}/α)) with a backtracking line search that keeps w &gt; 0. A task whose
/// gradient is zero gets weight 0 (no finite weight meets its condition, and none changes the update).</para>
/// <para>Hyperparameters (<see cref="FairGradOptions"/>): Alpha = 1.0, Iterations = 100.</para>
/// </summary>
public sealed class FairGrad : GramianAggregator
{
    public FairGradOptions Options { get; }

    public FairGrad(FairGradOptions? options = null) : base("fairgrad")
    {
        Options = options ?? new();
        if (!(Options.Alpha > 0) || double.IsInfinity(Options.Alpha)) throw new ArgumentOutOfRangeException(nameof(options), Options.Alpha, "Alpha: expected a finite number > 0");
        if (Options.Iterations < 1) throw new ArgumentOutOfRangeException(nameof(options), Options.Iterations, "Iterations: expected at least 1");
    }

    public override string Name => "FairGrad";

    public override double[] Weights(double[,] gramian, AggregationInput input)
    {
        int t = gramian.GetLength(0);
        double trace = 0;
        for (int i = 0; i < t; i++) trace += gramian[i, i];
        if (!(trace > 0)) return Enumerable.Repeat(1.0 / t, t).ToArray();
        // a zero gradient has no condition to meet (its weight cannot change d): it gets weight 0, the rest are solved
        var active = Enumerable.Range(0, t).Where(i => gramian[i, i] > 1e-20 * trace).ToArray();
        var sub = Solve(Sub(gramian, active));
        var w = new double[t];
        for (int r = 0; r < active.Length; r++) w[active[r]] = sub[r];
        return w;
    }

    static double[,] Sub(double[,] m, int[] index)
    {
        var r = new double[index.Length, index.Length];
        for (int i = 0; i < index.Length; i++) for (int j = 0; j < index.Length; j++) r[i, j] = m[index[i], index[j]];
        return r;
    }

    double[] Solve(double[,] k)
    {
        int t = k.GetLength(0);
        double a = Options.Alpha, p = 1 - 1 / a;
        double H(double w) => p == 0 ? Math.Log(w) : Math.Pow(w, p) / p;
        double F(double[] w) => 0.5 * SmallSolvers.Quadratic(k, w) - w.Sum(H);
        // start where the diagonal alone would put the solution: Kᵢᵢwᵢ = wᵢ^{−1/α}
        var x = Enumerable.Range(0, t).Select(i => Math.Pow(k[i, i], -a / (a + 1))).ToArray();
        double f = F(x);
        for (int it = 0; it < Options.Iterations; it++)
        {
            var kx = SmallSolvers.MatVec(k, x);
            var grad = x.Select((w, i) => kx[i] - Math.Pow(w, -1 / a)).ToArray();
            if (grad.Select((g, i) => Math.Abs(g) / (kx[i] + 1e-300)).Max() < 1e-12) break;
            var hessian = (double[,])k.Clone();
            for (int i = 0; i < t; i++) hessian[i, i] += Math.Pow(x[i], -1 / a - 1) / a;
            var step = SmallSolvers.Solve(hessian, grad.Select(g => -g).ToArray());
            if (step is null) break;
            double s = 1;
            for (int i = 0; i < t; i++) if (step[i] < 0) s = Math.Min(s, -0.99 * x[i] / step[i]);
            double slope = SmallSolvers.Dot(grad, step);
            double[] next = x; double fn = f;
            for (int tries = 0; tries < 60; tries++)
            {
                next = x.Select((w, i) => w + s * step[i]).ToArray();
                fn = F(next);
                if (fn <= f + 1e-4 * s * slope) break;
                s *= 0.5;
            }
            if (!(fn <= f)) break;
            x = next; f = fn;
        }
        return x;
    }

    public override string ToString() => $"FairGrad(Alpha={Format(Options.Alpha)}, Iterations={Options.Iterations})";
}
