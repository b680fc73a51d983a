using MultiTaskKit.Weighting;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Aggregation;

/// <summary>Options of <see cref="GradDrop"/>.</summary>
/// <param name="Leak">ℓ ∈ [0, 1]: the fraction of every gradient that passes whatever its sign; 0 = pure GradDrop, 1 = the
/// plain sum. Default 0 (LibMTL's <c>leak</c>).</param>
/// <param name="Seed">The uniform draws of step s come from (Seed, s) alone; default 0.</param>
public sealed record GradDropOptions(double Leak = 0.0, long Seed = 0);

/// <summary>
/// GradDrop (gradient sign dropout): in every coordinate, the positive sign purity P = ½(1 + Σᵢgᵢ / Σᵢ|gᵢ|) decides which
/// sign survives: with U ~ Uniform(0, 1) drawn per coordinate, the positive values are kept where P &gt; U and the
/// negative ones where P &lt; U; the rest are dropped. The update is Σᵢ (ℓ + (1 − ℓ)·Mᵢ)·gᵢ.
/// <para>Chen et al., "Just Pick a Sign: Optimizing Deep Multitask Models with Gradient Sign Dropout", NeurIPS 2020
/// (https://arxiv.org/abs/2010.06808), Algorithm 1, lines 10–15 (as torchjd). Difference from LibMTL, whose GradDrop
/// runs only on representation gradients and multiplies them by the sign of the representation summed over the batch
/// (the paper's batch-separated variant): here the rows are used as given, on the shared parameters or, with rep-grad,
/// on the shared representation.</para>
/// <para>Stochastic: not a combination of the rows, so no weights are reported; U is drawn by a torch generator on the
/// host seeded from (Seed, step) and moved to the matrix's device. A coordinate where every gradient is zero stays zero.
/// Hyperparameters (<see cref="GradDropOptions"/>): Leak = 0, Seed = 0.</para>
/// </summary>
public sealed class GradDrop : nn.Module, IGradientAggregator
{
    public GradDropOptions Options { get; }

    public GradDrop(GradDropOptions? options = null) : base("graddrop")
    {
        Options = options ?? new();
        if (Options.Leak is < 0 or > 1 || double.IsNaN(Options.Leak)) throw new ArgumentOutOfRangeException(nameof(options), Options.Leak, "Leak: expected a value in [0, 1]");
    }

    public string Name => "GradDrop";
    public bool SupportsRepresentationGradients => true;

    public AggregationResult Aggregate(Tensor taskGradients, AggregationInput input)
    {
        MethodGuards.CheckAggregation(Name, taskGradients, input.Tasks, input.Gramian, input.Losses);
        if (taskGradients.dim() != 2)
            throw new ArgumentException($"{Name}: expected a [T, P] gradient matrix, found shape [{string.Join(", ", taskGradients.shape)}]", nameof(taskGradients));
        using var scope = NewDisposeScope();
        long p = taskGradients.shape[1];
        var purity = 0.5 * (1 + taskGradients.sum(dim: 0) / taskGradients.abs().sum(dim: 0).clamp_min(1e-30));
        // U on the host's generator (seeded from (Seed, step), so CPU and GPU runs draw the same), then moved
        using var generator = new Generator((ulong)StepRandom.For(Options.Seed, input.Context.Step, salt: 0x6D).NextInt64());
        var u = rand(new[] { p }, dtype: ScalarType.Float32, generator: generator).to(taskGradients.device).to_type(taskGradients.dtype);
        var keepPositive = purity.gt(u);
        var keepNegative = purity.lt(u);
        var mask = taskGradients.gt(0).logical_and(keepPositive).logical_or(taskGradients.lt(0).logical_and(keepNegative)).to_type(taskGradients.dtype);
        var update = (taskGradients * (Options.Leak + (1 - Options.Leak) * mask)).sum(dim: 0);
        return new AggregationResult(update.MoveToOuterDisposeScope(), null);
    }

    public override string ToString() => $"GradDrop(Leak={Options.Leak.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)}, Seed={Options.Seed})";
}
