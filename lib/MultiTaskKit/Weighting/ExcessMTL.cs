using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>Options of <see cref="ExcessMTL"/>.</summary>
/// <param name="StepSize">η: the step of the exponentiated-gradient update of the weights; default 1e-2 (LibMTL's
/// robust_step_size).</param>
public sealed record ExcessMtlOptions(double StepSize = 1e-2);

/// <summary>
/// ExcessMTL: weights tasks by their excess risk (how far each is from its own optimum) rather than by their loss, so a
/// task with high but irreducible loss (label noise) is not over-weighted. The excess risk is estimated per step by the
/// AdaGrad-preconditioned squared gradient norm eᵢ = gᵢᵀ diag(1/√(Σ_{s≤t} gᵢ,ₛ² + 1e-7)) gᵢ; the first step's eᵢ are the
/// reference, and afterwards wᵢ ← wᵢ·exp(η·eᵢ/eᵢ⁽¹⁾), renormalised to sum to T.
/// <para>He et al., "Robust Multi-Task Learning with Excess Risks", ICML 2024 (https://arxiv.org/abs/2402.02009),
/// Algorithm 1, in LibMTL's form.</para>
/// <para>State: the weights and the reference eᵢ⁽¹⁾ are registered buffers (<c>loss_weight</c>, <c>initial_excess</c>),
/// saved with the model when attached; the AdaGrad accumulator [T, P] lives on the device and is not saved (like
/// DB-MTL's average). One backward per task. Hyperparameters (<see cref="ExcessMtlOptions"/>): StepSize = 1e-2.</para>
/// </summary>
public sealed class ExcessMTL : WeightingMethod
{
    Tensor? accumulator;
    Tensor Buffer(string name) => get_buffer(name)!;

    public ExcessMtlOptions Options { get; }

    public ExcessMTL(IReadOnlyList<string> tasks, ExcessMtlOptions? options = null) : base("excess_mtl", tasks)
    {
        Options = options ?? new();
        if (!(Options.StepSize >= 0) || double.IsInfinity(Options.StepSize)) throw new ArgumentOutOfRangeException(nameof(options), Options.StepSize, "StepSize: expected a finite number ≥ 0");
        register_buffer("loss_weight", ones(tasks.Count, dtype: ScalarType.Float64));
        // NaN until a task's first step sets its reference
        register_buffer("initial_excess", full(tasks.Count, double.NaN, dtype: ScalarType.Float64));
    }

    public override string Name => "ExcessMTL";
    public override bool NeedsTaskGradients => true;

    protected override WeightingResult Compute(WeightingInput input)
    {
        var grads = (input.TaskGradients ?? throw new InvalidOperationException("ExcessMTL: the step engine passed no task gradients")).detach().to_type(ScalarType.Float64);
        var index = input.Tasks.Select(IndexOf).ToArray();
        using var scope = NewDisposeScope();
        if (accumulator is null || accumulator.shape[1] != grads.shape[1] || accumulator.device.ToString() != grads.device.ToString())
        {
            accumulator?.Dispose();
            accumulator = zeros(new long[] { AllTasks.Count, grads.shape[1] }, dtype: ScalarType.Float64, device: grads.device).DetachFromDisposeScope();
        }
        var rows = tensor(index.Select(i => (long)i).ToArray(), device: grads.device);
        var squared = grads * grads;
        var sums = accumulator.index_select(0, rows) + squared;
        using (no_grad()) accumulator.index_copy_(0, rows, sums);
        var excess = (squared / (sums + 1e-7).sqrt()).sum(dim: 1).cpu().data<double>().ToArray();

        var weight = Buffer("loss_weight").cpu().data<double>().ToArray();
        var initial = Buffer("initial_excess").cpu().data<double>().ToArray();
        bool update = false;
        for (int k = 0; k < index.Length; k++)
        {
            int i = index[k];
            if (double.IsNaN(initial[i])) { initial[i] = excess[k]; continue; }
            update = true;
            weight[i] *= Math.Exp(Options.StepSize * excess[k] / initial[i]);
        }
        if (update)
        {
            double sum = index.Sum(i => weight[i]);
            foreach (int i in index) weight[i] = weight[i] / sum * index.Length;
        }
        using (no_grad())
        {
            Buffer("loss_weight").copy_(tensor(weight, dtype: ScalarType.Float64, device: Buffer("loss_weight").device));
            Buffer("initial_excess").copy_(tensor(initial, dtype: ScalarType.Float64, device: Buffer("initial_excess").device));
        }
        var w = index.Select(i => weight[i]).ToArray();
        return new WeightingResult(tensor(w, device: input.Losses.device).to_type(input.Losses.dtype).MoveToOuterDisposeScope());
    }

    public override string ToString() => $"ExcessMTL(StepSize={Format(Options.StepSize)})";
}
