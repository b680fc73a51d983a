using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>Options of <see cref="DBMTL"/>.</summary>
/// <param name="Beta">β: weight of the old average in the gradient moving average; default 0.9 (LibMTL's DB_beta).</param>
/// <param name="BetaSigma">σ: the average's weight decays as β/tˢ over steps t = 1, 2, …; default 0 (constant β).</param>
/// <param name="Epsilon">Added inside the log and to norms; default 1e-8.</param>
/// <param name="StartAverageAtZero">Start the moving average at ĝ = 0, as LibMTL does (its first update is then
/// (1 − β)·g, a tenth of the gradient at β = 0.9, growing over ~1/(1 − β) steps); default false: the average starts at
/// the first step's gradients, so the first steps are not shrunk.</param>
public sealed record DbMtlOptions(double Beta = 0.9, double BetaSigma = 0.0, double Epsilon = 1e-8, bool StartAverageAtZero = false);

/// <summary>
/// DB-MTL (dual-balancing MTL): balances loss scales with a log transform, ℓᵢ = log(Lᵢ + ε), and gradient scales by
/// giving every task's (moving-average) gradient the norm of the largest: ĝᵢ ← gᵢ + (β/tˢ)(ĝᵢ − gᵢ) and the shared
/// update is Σᵢ (maxⱼ‖ĝⱼ‖ / ‖ĝᵢ‖)·ĝᵢ.
/// <para>Lin, Ye, Xu, Shi &amp; Zhang, "Dual-Balancing for Multi-Task Learning", 2023 (https://arxiv.org/abs/2308.12029).</para>
/// <para>Task-specific parameters get ∇ℓᵢ = ∇Lᵢ/(Lᵢ+ε), unscaled. The moving average ĝ [T, P] lives on the device as
/// method state; it is not saved in checkpoints (a resumed run restarts the average), and the step index comes from
/// <see cref="StepContext.Step"/>. One backward per task.
/// Hyperparameters (<see cref="DbMtlOptions"/>): Beta = 0.9, BetaSigma = 0, Epsilon = 1e-8.</para>
/// </summary>
public sealed class DBMTL : WeightingMethod
{
    Tensor? average;

    public DbMtlOptions Options { get; }

    public DBMTL(IReadOnlyList<string> tasks, DbMtlOptions? options = null) : base("db_mtl", tasks)
    {
        Options = options ?? new();
        if (Options.Beta is < 0 or >= 1 || double.IsNaN(Options.Beta)) throw new ArgumentOutOfRangeException(nameof(options), Options.Beta, "Beta: expected a value in [0, 1)");
    }

    public override string Name => "DB-MTL";
    public override bool NeedsTaskGradients => true;

    public override Tensor TransformLosses(Tensor losses, IReadOnlyList<string> tasks) => log(losses + Options.Epsilon);

    protected override WeightingResult Compute(WeightingInput input)
    {
        var grads = (input.TaskGradients ?? throw new InvalidOperationException("DB-MTL: the step engine passed no task gradients")).detach();
        var rows = Positions(input.Tasks, grads.device);
        if (average is null || average.shape[1] != grads.shape[1] || average.device.ToString() != grads.device.ToString() || average.dtype != grads.dtype)
        {
            average?.Dispose();
            average = zeros(new long[] { AllTasks.Count, grads.shape[1] }, dtype: grads.dtype, device: grads.device).DetachFromDisposeScope();
        }
        double t = input.Context.Step + 1;
        double decay = Options.Beta / Math.Pow(t, Options.BetaSigma);
        using (no_grad())
        {
            Tensor updated;
            if (input.Tasks.Count == AllTasks.Count)
            {
                // all tasks present (rows in model order): update in place, ĝ ← decay·ĝ + (1 − decay)·g; the first step
                // has no average yet and starts it at the current gradients
                if (input.Context.Step == 0 && !Options.StartAverageAtZero) average.copy_(grads);
                else
                {
                    if (input.Context.Step == 0) average.zero_();
                    average.mul_(decay).add_(grads, alpha: 1 - decay);
                }
                updated = average;
            }
            else
            {
                var old = input.Context.Step != 0 ? average.index_select(0, rows) : Options.StartAverageAtZero ? zeros_like(grads) : grads;
                updated = grads + decay * (old - grads);
                average.index_copy_(0, rows, updated);
            }
            var norms = linalg.vector_norm(updated, dims: new long[] { 1 });
            var alpha = norms.max() / (norms + Options.Epsilon);
            return new WeightingResult(alpha.to_type(input.Losses.dtype), TaskGradients: updated, ScaleTaskParameters: false);
        }
    }

    public override string ToString() => $"DB-MTL(Beta={Format(Options.Beta)}, BetaSigma={Format(Options.BetaSigma)}, Epsilon={Format(Options.Epsilon)}" +
        (Options.StartAverageAtZero ? ", StartAverageAtZero=True)" : ")");
}
