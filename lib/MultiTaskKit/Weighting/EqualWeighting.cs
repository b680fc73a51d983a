using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>
/// Equal weighting (EW): L = Σᵢ Lᵢ, every weight 1. The baseline every method is compared against
/// (LibMTL's "EW"). No hyperparameters. One backward per step.
/// </summary>
public sealed class EqualWeighting : WeightingMethod
{
    public EqualWeighting(IReadOnlyList<string> tasks) : base("equal_weighting", tasks) { }

    public override string Name => "EW";

    protected override WeightingResult Compute(WeightingInput input) =>
        new(ones(input.Tasks.Count, dtype: input.Losses.dtype, device: input.Losses.device));

    public override string ToString() => "EW()";
}
