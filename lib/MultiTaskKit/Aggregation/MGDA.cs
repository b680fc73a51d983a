namespace MultiTaskKit.Aggregation;

/// <summary>How MGDA scales each task gradient before the min-norm problem (Sener &amp; Koltun 2018, Section 3.2 and code).</summary>
public enum MgdaNormalization
{
    /// <summary>No scaling (LibMTL's default).</summary>
    None,
    /// <summary>gᵢ / ‖gᵢ‖.</summary>
    L2,
    /// <summary>gᵢ / ℓᵢ.</summary>
    Loss,
    /// <summary>gᵢ / (ℓᵢ·‖gᵢ‖).</summary>
    LossPlus,
}

/// <summary>Options of <see cref="MGDA"/>.</summary>
/// <param name="Normalization">Gradient normalisation before solving; default <see cref="MgdaNormalization.None"/>.</param>
/// <param name="MaxIterations">Frank–Wolfe iterations (used beyond 12 tasks); default 250 (as the authors' code).</param>
/// <param name="Tolerance">Stop when a Frank–Wolfe step moves the point by less; default 1e-7.</param>
public sealed record MgdaOptions(MgdaNormalization Normalization = MgdaNormalization.None, int MaxIterations = 250, double Tolerance = 1e-7);

/// <summary>
/// MGDA and MGDA-UB: the update is the min-norm point of the convex hull of the task gradients,
/// d = Σ wᵢgᵢ with w = argmin_{w ∈ simplex} ‖Σ wᵢgᵢ‖² — a common descent direction for all tasks whenever one exists.
/// <para>Sener &amp; Koltun, "Multi-Task Learning as Multi-Objective Optimization", NeurIPS 2018
/// (https://arxiv.org/abs/1810.04650). Two tasks: closed form (Algorithm 1); more: Frank–Wolfe (Algorithm 2).
/// MGDA-UB, the paper's efficient upper bound, is this aggregator run on gradients with respect to the shared
/// representation: <c>StepOptions.Gradients = GradientMode.Representation</c>.</para>
/// <para>Difference from LibMTL and torchjd (documented, tested against their outputs): for 3 to 12 tasks the kit solves
/// the min-norm problem exactly (<see cref="SmallSolvers.MinNormBySupport"/>) where both run Frank–Wolfe, which stops
/// short of the optimum; with two tasks LibMTL clamps γ to [0.001, 0.999] where the kit clamps to [0, 1].</para>
/// <para>Hyperparameters (<see cref="MgdaOptions"/>): Normalization = None, MaxIterations = 250, Tolerance = 1e-7.</para>
/// </summary>
public sealed class MGDA : GramianAggregator
{
    public MgdaOptions Options { get; }

    public MGDA(MgdaOptions? options = null) : base("mgda")
    {
        Options = options ?? new();
        if (Options.MaxIterations < 1) throw new ArgumentOutOfRangeException(nameof(options), Options.MaxIterations, "MaxIterations: expected at least 1");
    }

    public override string Name => "MGDA";

    public override double[] Weights(double[,] gramian, AggregationInput input)
    {
        int t = gramian.GetLength(0);
        var norms = GradientMatrix.Norms(gramian);
        var scale = new double[t];
        for (int i = 0; i < t; i++)
        {
            double n = norms[i] > 0 ? norms[i] : 1, l = input.Losses[i] > 0 ? input.Losses[i] : 1;
            scale[i] = Options.Normalization switch
            {
                MgdaNormalization.L2 => 1 / n,
                MgdaNormalization.Loss => 1 / l,
                MgdaNormalization.LossPlus => 1 / (l * n),
                _ => 1,
            };
        }
        var scaled = new double[t, t];
        for (int i = 0; i < t; i++) for (int j = 0; j < t; j++) scaled[i, j] = gramian[i, j] * scale[i] * scale[j];
        var w = SmallSolvers.MinNormOnSimplex(scaled, Options.MaxIterations, Options.Tolerance);
        // the solution weighs the scaled gradients; fold the scale back so that d = Σ wᵢ·gᵢ on the raw rows
        for (int i = 0; i < t; i++) w[i] *= scale[i];
        return w;
    }

    public override string ToString() => $"MGDA(Normalization={Options.Normalization}, MaxIterations={Options.MaxIterations}, Tolerance={Format(Options.Tolerance)})";
}
