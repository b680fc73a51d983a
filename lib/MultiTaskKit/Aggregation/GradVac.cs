using MultiTaskKit.Runtime;
using static TorchSharp.torch;

namespace MultiTaskKit.Aggregation;

/// <summary>Options of <see cref="GradVac"/>.</summary>
/// <param name="Beta">β: the rate of the exponential moving average of the observed cosine similarities that sets each pair's
/// target φ̂ᵢⱼ; default 0.5 (LibMTL's default).</param>
/// <param name="Seed">Seeds the random order over the other tasks, per step; default 0.</param>
public sealed record GradVacOptions(double Beta = 0.5, long Seed = 0);

/// <summary>
/// GradVac (Gradient Vaccine): like PCGrad, but instead of only removing conflict it pulls each pair's cosine
/// similarity φᵢⱼ up to an adaptive target φ̂ᵢⱼ. For each task i and each other task j in random order: if φᵢⱼ &lt; φ̂ᵢⱼ,
/// gᵢ' ← gᵢ' + ‖gᵢ'‖(φ̂ᵢⱼ√(1−φᵢⱼ²) − φᵢⱼ√(1−φ̂ᵢⱼ²)) / (‖gⱼ‖√(1−φ̂ᵢⱼ²)) · gⱼ; then φ̂ᵢⱼ ← (1−β)φ̂ᵢⱼ + βφᵢⱼ.
/// The update is Σᵢ gᵢ'. Targets start at 0, so the first step behaves as PCGrad.
/// <para>Wang et al., "Gradient Vaccine: Investigating and Improving Multi-task Optimization in Massively Multilingual
/// Models", ICLR 2021 (https://openreview.net/forum?id=F1vEjWK-lH_), Algorithm 1, applied to the whole shared gradient
/// (LibMTL's group type 0; the paper's per-layer variant is not implemented).</para>
/// <para>The targets φ̂ are a registered buffer (<c>targets</c>, [T, T]): they save and load with the model when the
/// aggregator is attached. Hyperparameters (<see cref="GradVacOptions"/>): Beta = 0.5, Seed = 0.</para>
/// </summary>
public sealed class GradVac : GramianAggregator
{
    // looked up by name at use: Module.to() re-registers moved buffers, leaving a cached field behind
    Tensor TargetBuffer => get_buffer("targets")!;

    public GradVacOptions Options { get; }
    public IReadOnlyList<string> AllTasks { get; }

    public GradVac(IReadOnlyList<string> tasks, GradVacOptions? options = null) : base("gradvac")
    {
        Options = options ?? new();
        if (Options.Beta is <= 0 or > 1 || double.IsNaN(Options.Beta)) throw new ArgumentOutOfRangeException(nameof(options), Options.Beta, "Beta: expected a value in (0, 1]");
        AllTasks = tasks.ToArray();
        register_buffer("targets", zeros(new long[] { tasks.Count, tasks.Count }, dtype: ScalarType.Float64));
    }

    public override string Name => "GradVac";

    /// <summary>The current targets φ̂ [T, T] (a copy).</summary>
    public double[,] Targets
    {
        get
        {
            int n = AllTasks.Count;
            var flat = TargetBuffer.cpu().data<double>().ToArray();
            var r = new double[n, n];
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) r[i, j] = flat[i * n + j];
            return r;
        }
    }

    public override double[] Weights(double[,] gramian, AggregationInput input)
    {
        var index = input.Tasks.Select(name => IndexOf(name)).ToArray();
        var phiHat = Targets;
        var norms = GradientMatrix.Norms(gramian);
        var total = SumOfAdjustedGradients(gramian, Options.Seed, input.Context.Step, (i, j, c, dot) =>
        {
            double normI = Math.Sqrt(Math.Max(SmallSolvers.Quadratic(gramian, c), 0));
            double phi = dot / (normI * norms[j] + 1e-8);
            ref double target = ref phiHat[index[i], index[j]];
            if (phi < target)
            {
                double s = Math.Sqrt(Math.Max(1 - target * target, 0));
                c[j] += normI * (target * Math.Sqrt(Math.Max(1 - phi * phi, 0)) - phi * s) / (norms[j] * s + 1e-8);
            }
            target = (1 - Options.Beta) * target + Options.Beta * phi;
        });
        int n = AllTasks.Count;
        var flat = new double[n * n];
        for (int a = 0; a < n; a++) for (int b = 0; b < n; b++) flat[a * n + b] = phiHat[a, b];
        var buffer = TargetBuffer;
        using (no_grad()) buffer.copy_(tensor(flat, new long[] { n, n }, dtype: ScalarType.Float64, device: buffer.device));
        return total;
    }

    int IndexOf(string task)
    {
        for (int i = 0; i < AllTasks.Count; i++) if (AllTasks[i] == task) return i;
        throw new ArgumentException($"GradVac: unknown task '{task}'; built for {string.Join(", ", AllTasks)}");
    }

    public override string ToString() => $"GradVac(Beta={Format(Options.Beta)}, Seed={Options.Seed})";
}
