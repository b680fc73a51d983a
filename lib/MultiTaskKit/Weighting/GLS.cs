using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>
/// GLS (geometric loss strategy): the network trains on the geometric mean of the task losses, L = (Πᵢ Lᵢ)^{1/T}, which
/// is invariant to each loss's scale. Its gradient is Σᵢ (L / (T·Lᵢ))·∇Lᵢ, so the weights are wᵢ = L / (T·Lᵢ) on the raw
/// losses: a task with a small loss gets a large weight.
/// <para>Chennupati et al., "MultiNet++: Multi-Stream Feature Aggregation and Geometric Loss Strategy for Multi-Task
/// Learning", CVPR Workshops 2019 (https://arxiv.org/abs/1904.08492), Eq. (4).</para>
/// <para>The weights are computed on the host from the raw losses (in log space: L = exp(mean log Lᵢ)); losses are floored
/// at 1e-12, since the geometric mean of a zero loss has no useful gradient. One backward per step. No hyperparameters.</para>
/// </summary>
public sealed class GLS : WeightingMethod
{
    public GLS(IReadOnlyList<string> tasks) : base("gls", tasks) { }

    public override string Name => "GLS";

    protected override WeightingResult Compute(WeightingInput input)
    {
        var losses = input.RawLosses.Select(l => Math.Max(l, 1e-12)).ToArray();
        int t = losses.Length;
        double geometric = Math.Exp(losses.Average(Math.Log));
        var w = losses.Select(l => geometric / (t * l)).ToArray();
        return new WeightingResult(tensor(w, device: input.Losses.device).to_type(input.Losses.dtype));
    }

    public override string ToString() => "GLS()";
}
