using MultiTaskKit.Runtime;
using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>Options of <see cref="RLW"/>.</summary>
/// <param name="Seed">The weights of step s are drawn from (Seed, s) alone, so runs are reproducible and resumable; default 0.</param>
public sealed record RlwOptions(long Seed = 0);

/// <summary>
/// RLW (random loss weighting): each step draws λ ~ N(0, I) and uses w = softmax(λ) (weights sum to 1), the
/// paper's normal-distribution variant and LibMTL's default.
/// <para>Lin et al., "Reasonable Effectiveness of Random Weighting: A Litmus Test for Multi-Task Learning", TMLR 2022
/// (https://arxiv.org/abs/2111.10603).</para>
/// <para>One backward per step. Hyperparameters (<see cref="RlwOptions"/>): Seed = 0.</para>
/// </summary>
public sealed class RLW : WeightingMethod
{
    public RlwOptions Options { get; }

    public RLW(IReadOnlyList<string> tasks, RlwOptions? options = null) : base("rlw", tasks) => Options = options ?? new();

    public override string Name => "RLW";

    protected override WeightingResult Compute(WeightingInput input)
    {
        // one draw per model task, so a task's weight does not depend on which others are present
        var random = StepRandom.For(Options.Seed, input.Context.Step);
        var draws = AllTasks.Select(_ => StepRandom.Normal(random)).ToArray();
        var present = input.Tasks.Select(t => draws[IndexOf(t)]).ToArray();
        double max = present.Max();
        var e = present.Select(x => Math.Exp(x - max)).ToArray();
        double sum = e.Sum();
        return new WeightingResult(tensor(e.Select(x => x / sum).ToArray(), device: input.Losses.device).to_type(input.Losses.dtype));
    }

    public override string ToString() => $"RLW(Seed={Options.Seed})";
}
