using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>Options of <see cref="GradNorm"/>.</summary>
/// <param name="Alpha">α: the strength of the restoring force that pulls tasks to a common training rate; default 1.5
/// (LibMTL's default; the paper uses 0.12 to 1.5 depending on the benchmark).</param>
public sealed record GradNormOptions(double Alpha = 1.5);

/// <summary>
/// GradNorm: learns task weights so that each task's weighted gradient norm on the shared parameters,
/// G_W⁽ⁱ⁾ = ‖∇_W wᵢLᵢ‖, tracks the mean norm scaled by the task's relative inverse training rate:
/// L_grad = Σᵢ |G_W⁽ⁱ⁾ − Ḡ_W·rᵢ^α| with L̃ᵢ = Lᵢ(t)/Lᵢ(0) and rᵢ = L̃ᵢ / mean(L̃) (the target held constant), Eq. (2).
/// The network is trained on Σ wᵢLᵢ; the weights on ∇L_grad.
/// <para>Chen et al., "GradNorm: Gradient Normalization for Adaptive Loss Balancing in Deep Multitask Networks",
/// ICML 2018 (https://arxiv.org/abs/1711.02257).</para>
/// <para>The weights are w = T·softmax(logits), so they stay positive and sum to T (the paper's renormalisation);
/// the logits are a registered parameter (<c>logits</c>, [T]) trained by the model's optimiser through
/// <see cref="WeightingResult.ExtraLoss"/> when the method is attached to the model. W is all shared parameters (or the
/// shared representation in rep-grad mode), as in LibMTL. Lᵢ(0) is the first loss in <see cref="StepContext.History"/>
/// (required). One backward per task. Hyperparameters (<see cref="GradNormOptions"/>): Alpha = 1.5.</para>
/// </summary>
public sealed class GradNorm : WeightingMethod
{
    Tensor Logits => get_parameter("logits")!;

    public GradNormOptions Options { get; }

    public GradNorm(IReadOnlyList<string> tasks, GradNormOptions? options = null) : base("gradnorm", tasks)
    {
        Options = options ?? new();
        if (!(Options.Alpha >= 0)) throw new ArgumentOutOfRangeException(nameof(options), Options.Alpha, "Alpha: expected a number ≥ 0");
        register_parameter("logits", new Parameter(zeros(tasks.Count)));
    }

    public override string Name => "GradNorm";
    public override bool NeedsTaskGradients => true;

    protected override WeightingResult Compute(WeightingInput input)
    {
        var history = input.Context.History
            ?? throw new InvalidOperationException("GradNorm needs StepContext.History for the initial losses Lᵢ(0): pass a LossHistory in StepOptions.History and Record every step");
        var grads = input.TaskGradients ?? throw new InvalidOperationException("GradNorm: the step engine passed no task gradients");
        int k = input.Tasks.Count;
        var logits = Logits;
        var all = AllTasks.Count * softmax(logits, 0);
        var w = all.index_select(0, Positions(input.Tasks, logits.device)).to(grads.device).to_type(ScalarType.Float32);

        var norms = linalg.vector_norm(grads.detach(), dims: new long[] { 1 }).to_type(ScalarType.Float32);
        var weightedNorms = w * norms;
        var ratio = input.Tasks.Select((t, i) => history.First.TryGetValue(t, out var l0) && l0 > 0 ? input.RawLosses[i] / l0 : 1.0).ToArray();
        double mean = ratio.Average();
        var r = tensor(ratio.Select(x => Math.Pow(x / mean, Options.Alpha)).ToArray(), device: grads.device).to_type(ScalarType.Float32);
        var target = (weightedNorms.mean() * r).detach();
        var gradLoss = (weightedNorms - target).abs().sum();
        return new WeightingResult(w.detach().to_type(input.Losses.dtype), ExtraLoss: gradLoss);
    }

    /// <summary>The current weights T·softmax(logits), by task.</summary>
    public IReadOnlyDictionary<string, double> CurrentWeights
    {
        get
        {
            var values = (AllTasks.Count * softmax(Logits.detach(), 0)).cpu().to_type(ScalarType.Float64).data<double>().ToArray();
            return AllTasks.Select((t, i) => (t, values[i])).ToDictionary(x => x.t, x => x.Item2);
        }
    }

    public override string ToString() => $"GradNorm(Alpha={Format(Options.Alpha)})";
}
