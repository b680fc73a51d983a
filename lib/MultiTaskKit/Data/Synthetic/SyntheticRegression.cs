using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Data.Synthetic;

/// <summary>Options of <see cref="SyntheticRegression"/>.</summary>
/// <param name="Tasks">Number of regression tasks (≥ 1).</param>
/// <param name="InputSize">Features per sample.</param>
/// <param name="Samples">Rows in the data set.</param>
/// <param name="Conflict">In [0, 1]: the angle between the first and the last task's direction is Conflict·π/2
/// (0: identical tasks; 1: orthogonal directions, tasks with nothing to share), the others evenly in between.</param>
/// <param name="Scales">Per-task target scale (default 1 each): unequal scales make loss weighting matter.</param>
/// <param name="Noise">Standard deviation of Gaussian noise added to the targets.</param>
/// <param name="Seed">Seeds the data.</param>
public sealed record SyntheticRegressionOptions(int Tasks = 2, int InputSize = 8, int Samples = 256, double Conflict = 0.5,
    IReadOnlyList<double>? Scales = null, double Noise = 0.01, long Seed = 0);

/// <summary>
/// A multi-task regression problem with a tunable relatedness: task k's target is yₖ = scaleₖ·tanh(2·aₖᵀx) + noise, where
/// the unit directions aₖ lie in one plane at angles Conflict·(π/2)·k/(T−1) from a₀. Identical tasks at Conflict = 0 share
/// all structure; at Conflict = 1 the first and last task read orthogonal directions, so a feature one needs is of no
/// use to the other and the two compete for the trunk's width.
/// <para>The angle stops at π/2 because relatedness here is |cos(aᵢ, aⱼ)|: tanh is odd, so a task at angle π is the
/// negated first task, which a linear head fits from the same trunk (its gradients align once the heads adapt).
/// Deterministic for a seed.</para>
/// </summary>
public sealed class SyntheticRegression
{
    public SyntheticRegressionOptions Options { get; }
    public IReadOnlyList<string> TaskNames { get; }

    /// <summary>[Samples, InputSize], float32, on the CPU.</summary>
    public Tensor Features { get; }

    /// <summary>Task → [Samples] float32 targets, on the CPU.</summary>
    public IReadOnlyDictionary<string, Tensor> Targets { get; }

    public SyntheticRegression(SyntheticRegressionOptions? options = null)
    {
        Options = options ?? new();
        if (Options.Tasks < 1) throw new ArgumentOutOfRangeException(nameof(options), Options.Tasks, "Tasks: expected at least 1");
        if (Options.InputSize < 2) throw new ArgumentOutOfRangeException(nameof(options), Options.InputSize, "InputSize: expected at least 2 (the task directions span a plane)");
        if (Options.Samples < 1) throw new ArgumentOutOfRangeException(nameof(options), Options.Samples, "Samples: expected at least 1");
        if (Options.Conflict is < 0 or > 1 || double.IsNaN(Options.Conflict)) throw new ArgumentOutOfRangeException(nameof(options), Options.Conflict, "Conflict: expected a value in [0, 1]");
        if (Options.Scales is { } s && s.Count != Options.Tasks) throw new ArgumentException($"Scales: expected {Options.Tasks} values (one per task), found {s.Count}", nameof(options));

        TaskNames = Enumerable.Range(0, Options.Tasks).Select(k => $"task{k + 1}").ToArray();
        var generator = new Generator((ulong)Options.Seed);
        var x = randn(new long[] { Options.Samples, Options.InputSize }, generator: generator);
        // an orthonormal pair (e1, e2) spanning the plane of the task directions
        var basis = linalg.qr(randn(new long[] { Options.InputSize, 2 }, generator: generator)).Q;
        var e1 = basis[.., 0];
        var e2 = basis[.., 1];
        var targets = new Dictionary<string, Tensor>();
        for (int k = 0; k < Options.Tasks; k++)
        {
            double angle = Options.Tasks == 1 ? 0 : Options.Conflict * (Math.PI / 2) * k / (Options.Tasks - 1);
            var direction = Math.Cos(angle) * e1 + Math.Sin(angle) * e2;
            double scale = Options.Scales?[k] ?? 1.0;
            var noise = Options.Noise * randn(new long[] { Options.Samples }, generator: generator);
            targets[TaskNames[k]] = (scale * tanh(2 * x.matmul(direction)) + noise).DetachFromDisposeScope();
        }
        Features = x.DetachFromDisposeScope();
        Targets = targets;
    }
}
