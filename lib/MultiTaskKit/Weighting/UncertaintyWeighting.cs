using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>Options of <see cref="UncertaintyWeighting"/>.</summary>
/// <param name="InitialLogVariance">Starting sᵢ = log σᵢ² for every task; default 0 (σ = 1).</param>
public sealed record UncertaintyWeightingOptions(double InitialLogVariance = 0.0);

/// <summary>
/// Uncertainty weighting (UW): each task has a learnable homoscedastic noise σᵢ, parametrised as sᵢ = log σᵢ², and
/// L = Σᵢ ( ½·exp(−sᵢ)·Lᵢ + ½·sᵢ ), i.e. 1/(2σᵢ²)·Lᵢ + log σᵢ (the paper's Gaussian-likelihood form, Eq. 7, in the
/// numerically stable parametrisation of its Section 3.2; LibMTL uses the same form for every task).
/// <para>Kendall, Gal &amp; Cipolla, "Multi-Task Learning Using Uncertainty to Weigh Losses for Scene Geometry and
/// Semantics", CVPR 2018 (https://arxiv.org/abs/1705.07115).</para>
/// <para>The log-variances are a registered parameter (<c>log_variances</c>, [T]); attach the method to the model so the
/// optimiser trains them with the network and they save with it. One backward per step.
/// Hyperparameters (<see cref="UncertaintyWeightingOptions"/>): InitialLogVariance = 0.</para>
/// </summary>
public sealed class UncertaintyWeighting : WeightingMethod
{
    // looked up by name at use: Module.to() re-registers moved parameters, leaving a cached field behind
    Tensor LogVarianceParameter => get_parameter("log_variances")!;

    public UncertaintyWeightingOptions Options { get; }

    public UncertaintyWeighting(IReadOnlyList<string> tasks, UncertaintyWeightingOptions? options = null) : base("uncertainty_weighting", tasks)
    {
        Options = options ?? new();
        if (!double.IsFinite(Options.InitialLogVariance)) throw new ArgumentOutOfRangeException(nameof(options), Options.InitialLogVariance, "InitialLogVariance: expected a finite number");
        register_parameter("log_variances", new Parameter(full(tasks.Count, Options.InitialLogVariance, dtype: ScalarType.Float32)));
    }

    public override string Name => "UW";

    /// <summary>The current sᵢ = log σᵢ², by task.</summary>
    public IReadOnlyDictionary<string, double> LogVariances
    {
        get
        {
            var values = LogVarianceParameter.detach().cpu().to_type(ScalarType.Float64).data<double>().ToArray();
            return AllTasks.Select((t, i) => (t, values[i])).ToDictionary(x => x.t, x => x.Item2);
        }
    }

    protected override WeightingResult Compute(WeightingInput input)
    {
        var lv = LogVarianceParameter;
        var s = lv.index_select(0, Positions(input.Tasks, lv.device)).to_type(input.Losses.dtype).to(input.Losses.device);
        return new WeightingResult(0.5 * exp(-s), ExtraLoss: 0.5 * s.sum());
    }

    public override string ToString() => $"UW(InitialLogVariance={Format(Options.InitialLogVariance)})";
}
