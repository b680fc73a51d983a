using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>Options of <see cref="FAMO"/>.</summary>
/// <param name="LearningRate">β: Adam learning rate of the task logits ξ; default 0.025.</param>
/// <param name="WeightDecay">γ: weight decay of ξ (regularises towards equal weights); default 1e-3.</param>
/// <param name="MinLosses">Known lower bounds of the losses (ℓᵢ − minᵢ must stay positive); default 0 for every task.</param>
public sealed record FamoOptions(double LearningRate = 0.025, double WeightDecay = 1e-3, IReadOnlyList<double>? MinLosses = null);

/// <summary>
/// FAMO (fast adaptive multitask optimisation): decreases all task losses at a balanced rate with O(1) time and space —
/// one backward per step. With z = softmax(ξ), Dᵢ = Lᵢ − minᵢ + 1e-8 and c = Σᵢ zᵢ/Dᵢ, the network is trained on
/// Σᵢ (zᵢ/c)·log Dᵢ, whose gradient Σᵢ zᵢ/(c·Dᵢ)·∇Lᵢ is a convex combination of the task gradients. The logits then move
/// against the loss decrease they caused: with δᵢ = log Dᵢ(before) − log Dᵢ(after), ξ takes an Adam step on
/// (∂z/∂ξ)ᵀδ with weight decay γ.
/// <para>Liu, Feng, Stone &amp; Liu, "FAMO: Fast Adaptive Multitask Optimization", NeurIPS 2023
/// (https://arxiv.org/abs/2306.03792), Algorithm 1; defaults as LibMTL.</para>
/// <para>Difference from the paper: "after" is measured on the next step's batch (the previous step's losses come from
/// <see cref="StepContext.History"/>'s <see cref="LossHistory.Last"/>) instead of re-evaluating the same batch, which
/// would cost an extra forward pass. ξ and its Adam moments are registered buffers (<c>logits</c>, <c>adam_m</c>,
/// <c>adam_v</c>, <c>adam_steps</c>): updated by the method itself (not the model's optimiser), saved with the model
/// when attached. Hyperparameters (<see cref="FamoOptions"/>): LearningRate = 0.025, WeightDecay = 1e-3, MinLosses = 0.</para>
/// </summary>
public sealed class FAMO : WeightingMethod
{
    // buffers are looked up by name at use: Module.to() re-registers moved buffers, leaving cached fields behind
    Tensor Buffer(string name) => get_buffer(name)!;
    readonly double[] minLosses;
    long lastUpdatedStep = -1;

    public FamoOptions Options { get; }

    public FAMO(IReadOnlyList<string> tasks, FamoOptions? options = null) : base("famo", tasks)
    {
        Options = options ?? new();
        if (!(Options.LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(options), Options.LearningRate, "LearningRate: expected a positive number");
        if (!(Options.WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(options), Options.WeightDecay, "WeightDecay: expected a number ≥ 0");
        if (Options.MinLosses is { } m && m.Count != tasks.Count)
            throw new ArgumentException($"MinLosses: expected {tasks.Count} values (one per task), found {m.Count}", nameof(options));
        minLosses = Options.MinLosses?.ToArray() ?? new double[tasks.Count];
        register_buffer("logits", zeros(tasks.Count, dtype: ScalarType.Float64));
        register_buffer("adam_m", zeros(tasks.Count, dtype: ScalarType.Float64));
        register_buffer("adam_v", zeros(tasks.Count, dtype: ScalarType.Float64));
        register_buffer("adam_steps", zeros(1, dtype: ScalarType.Float64));
    }

    public override string Name => "FAMO";

    public override Tensor TransformLosses(Tensor losses, IReadOnlyList<string> tasks)
    {
        var min = tensor(tasks.Select(t => minLosses[IndexOf(t)]).ToArray(), device: losses.device).to_type(losses.dtype);
        return log((losses - min).clamp_min(0) + 1e-8);
    }

    /// <summary>Current z = softmax(ξ), by task.</summary>
    public IReadOnlyDictionary<string, double> CurrentWeights
    {
        get
        {
            var z = Softmax(Buffer("logits").cpu().data<double>().ToArray());
            return AllTasks.Select((t, i) => (t, z[i])).ToDictionary(x => x.t, x => x.Item2);
        }
    }

    protected override WeightingResult Compute(WeightingInput input)
    {
        var history = input.Context.History
            ?? throw new InvalidOperationException("FAMO needs StepContext.History for the previous step's losses: pass a LossHistory in StepOptions.History and Record every step");
        var index = input.Tasks.Select(IndexOf).ToArray();
        if (input.Context.Step != lastUpdatedStep && input.Tasks.All(t => history.Last.ContainsKey(t)) && history.Steps > 0)
        {
            UpdateLogits(index, input.Tasks.Select(t => history.Last[t]).ToArray(), input.RawLosses);
            lastUpdatedStep = input.Context.Step;
        }
        var xi = Buffer("logits").cpu().data<double>().ToArray();
        var z = Softmax(index.Select(i => xi[i]).ToArray());
        var d = index.Select((i, k) => Math.Max(input.RawLosses[k] - minLosses[i], 0) + 1e-8).ToArray();
        double c = z.Select((zi, k) => zi / d[k]).Sum();
        var w = z.Select(zi => zi / c).ToArray();
        return new WeightingResult(tensor(w, device: input.Losses.device).to_type(input.Losses.dtype));
    }

    void UpdateLogits(int[] index, double[] before, IReadOnlyList<double> after)
    {
        var logits = Buffer("logits");
        var adamM = Buffer("adam_m");
        var adamV = Buffer("adam_v");
        var adamSteps = Buffer("adam_steps");
        var xi = logits.cpu().data<double>().ToArray();
        var m = adamM.cpu().data<double>().ToArray();
        var v = adamV.cpu().data<double>().ToArray();
        double steps = adamSteps.cpu().data<double>()[0] + 1;
        var sub = index.Select(i => xi[i]).ToArray();
        var z = Softmax(sub);
        var delta = index.Select((i, k) => Math.Log(Math.Max(before[k] - minLosses[i], 0) + 1e-8) - Math.Log(Math.Max(after[k] - minLosses[i], 0) + 1e-8)).ToArray();
        // (∂z/∂ξ)ᵀδ for the softmax: zⱼ(δⱼ − Σₖ zₖδₖ)
        double zDelta = SmallDot(z, delta);
        const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        for (int k = 0; k < index.Length; k++)
        {
            int i = index[k];
            double g = z[k] * (delta[k] - zDelta) + Options.WeightDecay * xi[i];
            m[i] = beta1 * m[i] + (1 - beta1) * g;
            v[i] = beta2 * v[i] + (1 - beta2) * g * g;
            double mHat = m[i] / (1 - Math.Pow(beta1, steps)), vHat = v[i] / (1 - Math.Pow(beta2, steps));
            xi[i] -= Options.LearningRate * mHat / (Math.Sqrt(vHat) + eps);
        }
        using (no_grad())
        {
            logits.copy_(tensor(xi, dtype: ScalarType.Float64, device: logits.device));
            adamM.copy_(tensor(m, dtype: ScalarType.Float64, device: adamM.device));
            adamV.copy_(tensor(v, dtype: ScalarType.Float64, device: adamV.device));
            adamSteps.fill_(steps);
        }
    }

    static double SmallDot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }

    static double[] Softmax(double[] x)
    {
        double max = x.Max();
        var e = x.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    public override string ToString() =>
        $"FAMO(LearningRate={Format(Options.LearningRate)}, WeightDecay={Format(Options.WeightDecay)}, MinLosses=[{string.Join(", ", minLosses.Select(Format))}])";
}
