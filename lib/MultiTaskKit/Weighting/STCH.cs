using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>Options of <see cref="STCH"/>.</summary>
/// <param name="Mu">μ &gt; 0: the smoothing of the Tchebycheff maximum; small μ approaches max, large μ the mean. Default 1.0.</param>
/// <param name="WarmupEpochs">Epochs 0 … WarmupEpochs train on Σ log Lᵢ; the mean losses of epoch WarmupEpochs become
/// the nadir point z. Default 4 (LibMTL's STCH_warmup_epoch).</param>
public sealed record StchOptions(double Mu = 1.0, int WarmupEpochs = 4);

/// <summary>
/// STCH (smooth Tchebycheff scalarisation): after a warm-up, the network trains on
/// T·μ·log Σᵢ exp(ℓᵢ/μ) with ℓᵢ = log(Lᵢ/zᵢ), a smooth maximum of the log losses relative to a nadir point z, so the
/// worst task (relative to where it stood) gets most of the weight.
/// <para>Lin et al., "Smooth Tchebycheff Scalarization for Multi-Objective Optimization", ICML 2024
/// (https://arxiv.org/abs/2402.19078), Eq. (6), in LibMTL's multi-task form (log losses, a nadir point from the last
/// warm-up epoch, scale T).</para>
/// <para>The losses are log-transformed (ℓᵢ = log(Lᵢ + 1e-20)); the weights on them are 1 during the warm-up and
/// T·softmax(log(Lᵢ/zᵢ + 1e-20)/μ) after it, whose gradient is exactly that of the smooth maximum. z is read from
/// <see cref="LossHistory.EpochMeans"/>[WarmupEpochs] (required after the warm-up), so there is no state to save.
/// One backward per step. Hyperparameters (<see cref="StchOptions"/>): Mu = 1.0, WarmupEpochs = 4.</para>
/// </summary>
public sealed class STCH : WeightingMethod
{
    public StchOptions Options { get; }

    public STCH(IReadOnlyList<string> tasks, StchOptions? options = null) : base("stch", tasks)
    {
        Options = options ?? new();
        if (!(Options.Mu > 0)) throw new ArgumentOutOfRangeException(nameof(options), Options.Mu, "Mu: expected a number > 0");
        if (Options.WarmupEpochs < 0) throw new ArgumentOutOfRangeException(nameof(options), Options.WarmupEpochs, "WarmupEpochs: expected a count ≥ 0");
    }

    public override string Name => "STCH";

    public override Tensor TransformLosses(Tensor losses, IReadOnlyList<string> tasks) => log(losses + 1e-20);

    protected override WeightingResult Compute(WeightingInput input)
    {
        int t = input.Tasks.Count;
        var w = Enumerable.Repeat(1.0, t).ToArray();
        if (input.Context.Epoch > Options.WarmupEpochs)
        {
            var history = input.Context.History
                ?? throw new InvalidOperationException("STCH needs StepContext.History after its warm-up (the nadir point is the mean loss of epoch WarmupEpochs): pass a LossHistory in StepOptions.History, Record every step and EndEpoch at each epoch's end");
            if (history.EpochMeans.Count <= Options.WarmupEpochs)
                throw new InvalidOperationException($"STCH: epoch {input.Context.Epoch} is past the warm-up, but the loss history has {history.EpochMeans.Count} finished epoch(s); expected at least {Options.WarmupEpochs + 1} (EndEpoch at each epoch's end)");
            var nadir = history.EpochMeans[Options.WarmupEpochs];
            var relative = input.Tasks.Select((task, i) =>
                Math.Log(input.RawLosses[i] / (nadir.TryGetValue(task, out var z) && z > 0 ? z : 1) + 1e-20) / Options.Mu).ToArray();
            double max = relative.Max();
            var e = relative.Select(x => Math.Exp(x - max)).ToArray();
            double sum = e.Sum();
            w = e.Select(x => t * x / sum).ToArray();
        }
        return new WeightingResult(tensor(w, device: input.Losses.device).to_type(input.Losses.dtype));
    }

    public override string ToString() => $"STCH(Mu={Format(Options.Mu)}, WarmupEpochs={Options.WarmupEpochs})";
}
