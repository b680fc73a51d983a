using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>Options of <see cref="DWA"/>.</summary>
/// <param name="Temperature">T in softmax(rᵢ/T); larger is more uniform. Default 2.0 (the paper's value).</param>
public sealed record DwaOptions(double Temperature = 2.0);

/// <summary>
/// DWA (dynamic weight average): a task whose loss falls slowly gets more weight. With rᵢ = Lᵢ(e−1)/Lᵢ(e−2), the ratio of
/// the task's mean losses over the last two finished epochs, wᵢ = K·exp(rᵢ/T) / Σⱼ exp(rⱼ/T) (K = tasks present);
/// wᵢ = 1 until two epochs have finished.
/// <para>Liu, Johns &amp; Davison, "End-to-End Multi-Task Learning with Attention", CVPR 2019
/// (https://arxiv.org/abs/1803.10704), Eq. (7).</para>
/// <para>Reads <see cref="LossHistory.EpochMeans"/> from <see cref="StepContext.History"/> (the caller records each step and
/// calls <see cref="LossHistory.EndEpoch"/>); the epoch may be any period the caller chooses. One backward per step.
/// Hyperparameters (<see cref="DwaOptions"/>): Temperature = 2.0.</para>
/// </summary>
public sealed class DWA : WeightingMethod
{
    public DwaOptions Options { get; }

    public DWA(IReadOnlyList<string> tasks, DwaOptions? options = null) : base("dwa", tasks)
    {
        Options = options ?? new();
        if (!(Options.Temperature > 0)) throw new ArgumentOutOfRangeException(nameof(options), Options.Temperature, "Temperature: expected a positive number");
    }

    public override string Name => "DWA";

    protected override WeightingResult Compute(WeightingInput input)
    {
        var history = input.Context.History
            ?? throw new InvalidOperationException("DWA needs StepContext.History: pass a LossHistory in StepOptions.History, Record every step and EndEpoch at each epoch's end");
        var w = WeightsFrom(history, input.Tasks, Options.Temperature);
        return new WeightingResult(tensor(w, device: input.Losses.device).to_type(input.Losses.dtype));
    }

    /// <summary>The DWA weights for <paramref name="tasks"/> given the history (host doubles).</summary>
    public static double[] WeightsFrom(LossHistory history, IReadOnlyList<string> tasks, double temperature)
    {
        int k = tasks.Count;
        var epochs = history.EpochMeans;
        if (epochs.Count < 2) return Enumerable.Repeat(1.0, k).ToArray();
        var last = epochs[^1];
        var before = epochs[^2];
        var r = new double[k];
        for (int i = 0; i < k; i++)
            r[i] = last.TryGetValue(tasks[i], out var a) && before.TryGetValue(tasks[i], out var b) && b > 0 ? a / b : 1.0;
        double max = r.Max();
        var e = r.Select(x => Math.Exp((x - max) / temperature)).ToArray();
        double sum = e.Sum();
        return e.Select(x => k * x / sum).ToArray();
    }

    public override string ToString() => $"DWA(Temperature={Format(Options.Temperature)})";
}
