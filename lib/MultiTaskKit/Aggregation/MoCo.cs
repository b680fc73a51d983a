using MultiTaskKit.Weighting;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Aggregation;

/// <summary>Options of <see cref="MoCo"/> (LibMTL's defaults).</summary>
/// <param name="Beta">β: step size of the gradient tracking y; default 0.5.</param>
/// <param name="BetaSigma">β decays as β/tˢ over steps t = 1, 2, …; default 0.5.</param>
/// <param name="Gamma">γ: step size of the weights λ; default 0.1.</param>
/// <param name="GammaSigma">γ decays as γ/tˢ; default 0.5.</param>
/// <param name="Rho">ρ: ℓ₂ regularisation of λ's update; default 0.</param>
public sealed record MoCoOptions(double Beta = 0.5, double BetaSigma = 0.5, double Gamma = 0.1, double GammaSigma = 0.5, double Rho = 0.0);

/// <summary>
/// MoCo (multi-objective gradient correction): tracks each task's gradient with a moving average y that removes the bias
/// of stochastic MGDA, and moves the task weights λ by a projected gradient step on ½‖yᵀλ‖² instead of solving the
/// min-norm problem anew. Each step t: ĝᵢ = Lᵢ·gᵢ/‖gᵢ‖, y ← y − β_t(y − ĝ), λ ← softmax(λ − γ_t(yyᵀ + ρI)λ), d = yᵀλ,
/// with β_t = β/t^{σ_β} and γ_t = γ/t^{σ_γ}.
/// <para>Fernando et al., "Mitigating Gradient Bias in Multi-objective Learning: A Provably Convergent Approach",
/// ICLR 2023 (https://openreview.net/forum?id=dLAYGdKTi2), Algorithm 1, in LibMTL's form (gradients normalised and
/// scaled by their loss; softmax in place of the simplex projection; y starts at 0, λ at 1/T).</para>
/// <para>Not a combination of this step's rows (y remembers earlier steps), so no weights are reported. λ is a
/// registered buffer (<c>lambda</c>, saved with the model when attached); y [T, P] lives on the device as method state and
/// is not saved (a resumed run restarts the tracking), like DB-MTL's average. The step index comes from
/// <see cref="Weighting.StepContext.Step"/>. Hyperparameters (<see cref="MoCoOptions"/>): Beta = 0.5, BetaSigma = 0.5,
/// Gamma = 0.1, GammaSigma = 0.5, Rho = 0.</para>
/// </summary>
public sealed class MoCo : nn.Module, IGradientAggregator
{
    Tensor? tracked;
    Tensor Lambda => get_buffer("lambda")!;

    public MoCoOptions Options { get; }
    public IReadOnlyList<string> AllTasks { get; }

    public MoCo(IReadOnlyList<string> tasks, MoCoOptions? options = null) : base("moco")
    {
        Options = options ?? new();
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.Count == 0) throw new ArgumentException("tasks: expected at least one task, found none", nameof(tasks));
        foreach (var (name, value) in new[] { ("Beta", Options.Beta), ("Gamma", Options.Gamma) })
            if (!(value > 0)) throw new ArgumentOutOfRangeException(nameof(options), value, $"{name}: expected a number > 0");
        if (!(Options.Rho >= 0)) throw new ArgumentOutOfRangeException(nameof(options), Options.Rho, "Rho: expected a number ≥ 0");
        AllTasks = tasks.ToArray();
        register_buffer("lambda", full(tasks.Count, 1.0 / tasks.Count, dtype: ScalarType.Float64));
    }

    public string Name => "MoCo";
    public bool SupportsRepresentationGradients => false;

    /// <summary>The current weights λ, by task.</summary>
    public IReadOnlyDictionary<string, double> Weights
    {
        get
        {
            var l = Lambda.cpu().data<double>().ToArray();
            return AllTasks.Select((t, i) => (t, l[i])).ToDictionary(x => x.t, x => x.Item2);
        }
    }

    public AggregationResult Aggregate(Tensor taskGradients, AggregationInput input)
    {
        MethodGuards.CheckAggregation(Name, taskGradients, input.Tasks, input.Gramian, input.Losses);
        int t = input.Tasks.Count;
        if (taskGradients.dim() != 2 || taskGradients.shape[0] != t)
            throw new ArgumentException($"{Name}: expected a [{t}, P] gradient matrix, found shape [{string.Join(", ", taskGradients.shape)}]", nameof(taskGradients));
        var index = input.Tasks.Select(IndexOf).ToArray();
        using var scope = NewDisposeScope();
        var g = taskGradients.detach().to_type(ScalarType.Float64);
        if (tracked is null || tracked.shape[1] != g.shape[1] || tracked.device.ToString() != g.device.ToString())
        {
            tracked?.Dispose();
            tracked = zeros(new long[] { AllTasks.Count, g.shape[1] }, dtype: ScalarType.Float64, device: g.device).DetachFromDisposeScope();
        }
        double step = input.Context.Step + 1;
        double beta = Options.Beta / Math.Pow(step, Options.BetaSigma), gamma = Options.Gamma / Math.Pow(step, Options.GammaSigma);
        var rows = tensor(index.Select(i => (long)i).ToArray(), device: g.device);
        var losses = tensor(input.Losses.ToArray(), dtype: ScalarType.Float64, device: g.device).unsqueeze(1);
        var normalised = g / (linalg.vector_norm(g, dims: new long[] { 1 }, keepdim: true) + 1e-8) * losses;
        var y = tracked.index_select(0, rows);
        y = y - beta * (y - normalised);
        using (no_grad()) tracked.index_copy_(0, rows, y);

        var all = Lambda.cpu().data<double>().ToArray();
        var lambda = index.Select(i => all[i]).ToArray();
        var yy = y.mm(y.t()).cpu();
        var k = yy.data<double>().ToArray();
        var next = new double[t];
        for (int i = 0; i < t; i++)
        {
            double s = Options.Rho * lambda[i];
            for (int j = 0; j < t; j++) s += k[i * t + j] * lambda[j];
            next[i] = lambda[i] - gamma * s;
        }
        double max = next.Max();
        var e = next.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        for (int i = 0; i < t; i++) all[index[i]] = e[i] / sum;
        var buffer = Lambda;
        using (no_grad()) buffer.copy_(tensor(all, dtype: ScalarType.Float64, device: buffer.device));
        var weights = tensor(index.Select(i => all[i]).ToArray(), dtype: ScalarType.Float64, device: g.device);
        var update = weights.matmul(y).to_type(taskGradients.dtype);
        return new AggregationResult(update.MoveToOuterDisposeScope(), null);
    }

    int IndexOf(string task)
    {
        for (int i = 0; i < AllTasks.Count; i++) if (AllTasks[i] == task) return i;
        throw new ArgumentException($"{Name}: unknown task '{task}'; built for {string.Join(", ", AllTasks)}");
    }

    public override string ToString() =>
        $"MoCo(Beta={F(Options.Beta)}, BetaSigma={F(Options.BetaSigma)}, Gamma={F(Options.Gamma)}, GammaSigma={F(Options.GammaSigma)}, Rho={F(Options.Rho)})";

    static string F(double x) => x.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);
}
