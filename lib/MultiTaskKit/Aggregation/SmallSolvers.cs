namespace MultiTaskKit.Aggregation;

/// <summary>
/// Dense solvers for the T×T problems the aggregators pose on the Gramian (T = number of tasks, so a few microseconds
/// on the host). Written for clarity and robustness over speed; every method is documented with the problem it solves.
/// </summary>
internal static class SmallSolvers
{
    /// <summary>Solves A·x = b by Gaussian elimination with partial pivoting; null if A is numerically singular.</summary>
    public static double[]? Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        var m = (double[,])a.Clone();
        var x = (double[])b.Clone();
        double scale = 0;
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) scale = Math.Max(scale, Math.Abs(m[i, j]));
        if (scale == 0) return null;
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < n; r++) if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col])) pivot = r;
            if (Math.Abs(m[pivot, col]) < 1e-12 * scale) return null;
            if (pivot != col)
            {
                for (int c = 0; c < n; c++) (m[col, c], m[pivot, c]) = (m[pivot, c], m[col, c]);
                (x[col], x[pivot]) = (x[pivot], x[col]);
            }
            for (int r = col + 1; r < n; r++)
            {
                double f = m[r, col] / m[col, col];
                if (f == 0) continue;
                for (int c = col; c < n; c++) m[r, c] -= f * m[col, c];
                x[r] -= f * x[col];
            }
        }
        for (int r = n - 1; r >= 0; r--)
        {
            double s = x[r];
            for (int c = r + 1; c < n; c++) s -= m[r, c] * x[c];
            x[r] = s / m[r, r];
        }
        return x;
    }

    /// <summary>Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: A = V·diag(λ)·Vᵀ, eigenvectors in
    /// the columns of V, eigenvalues in descending order.</summary>
    public static (double[] Values, double[,] Vectors) SymmetricEigen(double[,] a)
    {
        int n = a.GetLength(0);
        var m = (double[,])a.Clone();
        var v = new double[n, n];
        for (int i = 0; i < n; i++) v[i, i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += m[p, q] * m[p, q];
            if (off < 1e-30) break;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++)
                {
                    if (Math.Abs(m[p, q]) < 1e-300) continue;
                    double theta = (m[q, q] - m[p, p]) / (2 * m[p, q]);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double mkp = m[k, p], mkq = m[k, q];
                        m[k, p] = c * mkp - s * mkq;
                        m[k, q] = s * mkp + c * mkq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double mpk = m[p, k], mqk = m[q, k];
                        m[p, k] = c * mpk - s * mqk;
                        m[q, k] = s * mpk + c * mqk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
        }
        var order = Enumerable.Range(0, n).OrderByDescending(i => m[i, i]).ToArray();
        var values = order.Select(i => m[i, i]).ToArray();
        var vectors = new double[n, n];
        for (int j = 0; j < n; j++) for (int k = 0; k < n; k++) vectors[k, j] = v[k, order[j]];
        return (values, vectors);
    }

    /// <summary>Euclidean projection onto the probability simplex {w ≥ 0, Σw = 1} (sort-based, Held et al. 1974).</summary>
    public static double[] ProjectToSimplex(double[] y)
    {
        var u = y.OrderByDescending(x => x).ToArray();
        double cumulative = 0, theta = 0;
        for (int i = 0; i < u.Length; i++)
        {
            cumulative += u[i];
            double t = (cumulative - 1) / (i + 1);
            if (u[i] - t > 0) theta = t;
        }
        return y.Select(x => Math.Max(x - theta, 0)).ToArray();
    }

    /// <summary>
    /// The min-norm point of the convex hull of the rows of G, given K = G·Gᵀ: argmin over the simplex of wᵀKw.
    /// Two rows: the closed form γ = clamp((g₂ − g₁)·g₂ / ‖g₁ − g₂‖², 0, 1) (Sener &amp; Koltun 2018, Algorithm 1).
    /// Up to 12 rows: exactly, by active-set enumeration (<see cref="MinNormBySupport"/>). More rows, or a numerically
    /// inconclusive enumeration: Frank–Wolfe with exact line search (their Algorithm 2), from the uniform point, which
    /// only approaches the optimum (as LibMTL's and torchjd's solvers do).
    /// </summary>
    public static double[] MinNormOnSimplex(double[,] k, int maxIterations = 250, double tolerance = 1e-7)
    {
        int n = k.GetLength(0);
        if (n == 1) return new[] { 1.0 };
        if (n == 2)
        {
            double denominator = k[0, 0] + k[1, 1] - 2 * k[0, 1];
            double gamma = denominator <= 0 ? 0.5 : Math.Clamp((k[1, 1] - k[0, 1]) / denominator, 0, 1);
            return new[] { gamma, 1 - gamma };
        }
        if (n <= 12 && MinNormBySupport(k) is { } exact) return exact;
        var w = Enumerable.Repeat(1.0 / n, n).ToArray();
        for (int it = 0; it < maxIterations; it++)
        {
            var kw = MatVec(k, w);
            int t = 0;
            for (int i = 1; i < n; i++) if (kw[i] < kw[t]) t = i;
            // minimise ‖(1−γ)v + γ·g_t‖² over γ ∈ [0,1], with v = Gᵀw
            double vv = Dot(w, kw), vt = kw[t], tt = k[t, t];
            double denominator = vv - 2 * vt + tt;
            double gamma = denominator <= 0 ? 0 : Math.Clamp((vv - vt) / denominator, 0, 1);
            if (gamma * Math.Sqrt(Math.Max(denominator, 0)) < tolerance) break;
            for (int i = 0; i < n; i++) w[i] *= 1 - gamma;
            w[t] += gamma;
        }
        return w;
    }

    /// <summary>
    /// argmin wᵀKw over the simplex, exactly: the KKT conditions are, for a support S, (Kw)_S = μ·1, Σw = 1, w_S ≥ 0 and
    /// (Kw)ⱼ ≥ μ off S (then μ = wᵀKw). Supports are tried by growing size, each by one bordered solve
    /// [K_SS 1; 1ᵀ 0]·[w_S; −μ] = [0; 1]; by convexity the first that satisfies the conditions is a minimiser. Null when
    /// no support passes within the numerical slack (the caller then falls back to Frank–Wolfe).
    /// </summary>
    public static double[]? MinNormBySupport(double[,] k)
    {
        int n = k.GetLength(0);
        double scale = 0;
        for (int i = 0; i < n; i++) scale = Math.Max(scale, Math.Abs(k[i, i]));
        if (scale == 0) return Enumerable.Repeat(1.0 / n, n).ToArray();
        double slack = 1e-9 * scale;
        foreach (int mask in Enumerable.Range(1, (1 << n) - 1).OrderBy(m => System.Numerics.BitOperations.PopCount((uint)m)))
        {
            var support = Enumerable.Range(0, n).Where(i => (mask & (1 << i)) != 0).ToArray();
            int s = support.Length;
            var a = new double[s + 1, s + 1];
            var b = new double[s + 1];
            for (int r = 0; r < s; r++)
            {
                for (int c = 0; c < s; c++) a[r, c] = k[support[r], support[c]];
                a[r, s] = 1;
                a[s, r] = 1;
            }
            b[s] = 1;
            var x = Solve(a, b);
            if (x is null || x.Take(s).Any(v => v < -1e-12 || !double.IsFinite(v))) continue;
            var w = new double[n];
            for (int r = 0; r < s; r++) w[support[r]] = Math.Max(x[r], 0);
            double total = w.Sum();
            for (int i = 0; i < n; i++) w[i] /= total;
            var kw = MatVec(k, w);
            double value = Dot(w, kw);
            if (kw.All(v => v >= value - slack)) return w;
        }
        return null;
    }

    /// <summary>
    /// argmin vᵀKv subject to v ≥ u (a strictly convex QP with lower bounds, K positive definite): the dual problem of
    /// UPGrad's projection (Quinton &amp; Rey 2024, Prop. 1). Exact active-set enumeration for up to 12 variables: for
    /// each candidate free set F (bounds active elsewhere), solve K_FF v_F = −K_FA u_A and accept the first point that
    /// satisfies the KKT conditions v ≥ u, Kv ≥ 0, (Kv)_F = 0 — unique by strict convexity. Enumeration goes by growing
    /// |F|, so the common non-conflicting case (F empty, v = u) costs one check. Larger problems, or numerically
    /// inconclusive ones, use cyclic coordinate descent (v_j = max(u_j, −Σ_{k≠j} K_jk v_k / K_jj)).
    /// </summary>
    public static double[] LowerBoundedQuadratic(double[,] k, double[] u, int maxSweeps = 100_000, double tolerance = 1e-12)
    {
        int n = u.Length;
        if (n <= 12)
        {
            double scale = 0;
            for (int i = 0; i < n; i++) scale = Math.Max(scale, Math.Abs(k[i, i]));
            double slack = 1e-9 * Math.Max(scale, 1e-300) * Math.Max(u.Max(Math.Abs), 1e-300);
            foreach (int mask in Enumerable.Range(0, 1 << n).OrderBy(m => System.Numerics.BitOperations.PopCount((uint)m)))
            {
                var free = Enumerable.Range(0, n).Where(i => (mask & (1 << i)) != 0).ToArray();
                var v = (double[])u.Clone();
                if (free.Length > 0)
                {
                    var a = new double[free.Length, free.Length];
                    var b = new double[free.Length];
                    for (int r = 0; r < free.Length; r++)
                    {
                        for (int c = 0; c < free.Length; c++) a[r, c] = k[free[r], free[c]];
                        double s = 0;
                        for (int j = 0; j < n; j++) if ((mask & (1 << j)) == 0) s += k[free[r], j] * u[j];
                        b[r] = -s;
                    }
                    var x = Solve(a, b);
                    if (x is null) continue;
                    for (int r = 0; r < free.Length; r++) v[free[r]] = x[r];
                }
                bool feasible = true;
                var kv = MatVec(k, v);
                for (int j = 0; j < n && feasible; j++)
                    feasible = (mask & (1 << j)) != 0 ? v[j] >= u[j] - slack : kv[j] >= -slack;
                if (feasible) return v;
            }
        }
        var w = (double[])u.Clone();
        for (int sweep = 0; sweep < maxSweeps; sweep++)
        {
            double moved = 0;
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int c = 0; c < n; c++) if (c != j) s += k[j, c] * w[c];
                double next = Math.Max(u[j], -s / k[j, j]);
                moved = Math.Max(moved, Math.Abs(next - w[j]));
                w[j] = next;
            }
            if (moved < tolerance) break;
        }
        return w;
    }

    public static double[] MatVec(double[,] m, double[] x)
    {
        int n = x.Length;
        var y = new double[m.GetLength(0)];
        for (int i = 0; i < y.Length; i++) { double s = 0; for (int j = 0; j < n; j++) s += m[i, j] * x[j]; y[i] = s; }
        return y;
    }

    public static double Dot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }

    /// <summary>xᵀKx.</summary>
    public static double Quadratic(double[,] k, double[] x) => Dot(x, MatVec(k, x));
}
