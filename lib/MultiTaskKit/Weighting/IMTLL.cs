using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>Options of <see cref="IMTLL"/>.</summary>
/// <param name="InitialScale">Starting sᵢ for every task; default 0 (scale eˢ = 1, as LibMTL).</param>
public sealed record ImtlLOptions(double InitialScale = 0.0);

/// <summary>
/// IMTL-L (impartial multi-task learning, loss part): each task has a learnable scale sᵢ and trains on eˢⁱ·Lᵢ − sᵢ. The
/// network sees the weights wᵢ = eˢⁱ; the scales see ∂/∂sᵢ = eˢⁱLᵢ − 1, which is zero when the scaled loss is 1, so every
/// task's scaled loss is driven to the same value.
/// <para>Liu et al., "Towards Impartial Multi-task Learning", ICLR 2021 (https://openreview.net/forum?id=IMPnRXEWpvr),
/// Section 3.1. Full IMTL (catalogue name <c>imtl</c>) is this weighting with the <see cref="Aggregation.IMTL"/>
/// aggregator (IMTL-G), which then balances the gradients of the scaled losses, as in LibMTL.</para>
/// <para>The scales are a registered parameter (<c>loss_scale</c>, [T]) trained by the model's optimiser when the
/// method is attached. One backward per step alone. Hyperparameters (<see cref="ImtlLOptions"/>): InitialScale = 0.</para>
/// </summary>
public sealed class IMTLL : WeightingMethod
{
    Tensor Scale => get_parameter("loss_scale")!;

    public ImtlLOptions Options { get; }

    public IMTLL(IReadOnlyList<string> tasks, ImtlLOptions? options = null) : base("imtl_l", tasks)
    {
        Options = options ?? new();
        if (!double.IsFinite(Options.InitialScale)) throw new ArgumentOutOfRangeException(nameof(options), Options.InitialScale, "InitialScale: expected a finite number");
        register_parameter("loss_scale", new Parameter(full(tasks.Count, Options.InitialScale, dtype: ScalarType.Float32)));
    }

    public override string Name => "IMTL-L";

    /// <summary>The current scales sᵢ, by task.</summary>
    public IReadOnlyDictionary<string, double> Scales
    {
        get
        {
            var values = Scale.detach().cpu().to_type(ScalarType.Float64).data<double>().ToArray();
            return AllTasks.Select((t, i) => (t, values[i])).ToDictionary(x => x.t, x => x.Item2);
        }
    }

    protected override WeightingResult Compute(WeightingInput input)
    {
        var scale = Scale;
        var s = scale.index_select(0, Positions(input.Tasks, scale.device)).to_type(input.Losses.dtype).to(input.Losses.device);
        return new WeightingResult(exp(s), ExtraLoss: -s.sum());
    }

    public override string ToString() => $"IMTL-L(InitialScale={Format(Options.InitialScale)})";
}
