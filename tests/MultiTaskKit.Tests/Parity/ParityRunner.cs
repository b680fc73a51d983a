using MultiTaskKit.Aggregation;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Parity;

/// <summary>
/// Runs a kit method on a <see cref="ParityCase"/> the way the step engine would, without a network: the task losses
/// are linear in the shared parameters (∇Lᵢ = G[i]), so the shared parameters' gradient is Σᵢ (∂total/∂Lᵢ)·G[i].
/// </summary>
internal static class ParityRunner
{
    /// <summary>The parameters behind the parity cases' five columns (see <see cref="UpstreamParityData"/>).</summary>
    public static readonly ParameterBlock[] Blocks =
    {
        new("encoder.layer1.weight", 0, 2), new("encoder.layer1.bias", 2, 1), new("encoder.layer2.weight", 3, 2),
    };

    public static string[] Tasks(int count) => Enumerable.Range(0, count).Select(i => $"t{i}").ToArray();

    /// <summary>The aggregator on G: its update and its weights (null when it reports none).</summary>
    public static (double[] Update, double[]? Weights) Aggregate(IGradientAggregator aggregator, double[][] g, double[] losses, long step = 0,
        IReadOnlyList<ParameterBlock>? blocks = null)
    {
        using var scope = NewDisposeScope();
        var matrix = Matrix(g);
        var input = new AggregationInput(Tasks(g.Length), GradientMatrix.Gramian(matrix), losses, new StepContext(step), blocks);
        var result = aggregator.Aggregate(matrix, input);
        return (result.Update.to_type(ScalarType.Float64).data<double>().ToArray(), result.Weights?.ToArray());
    }

    /// <summary>
    /// The weighting on losses Lᵢ = <paramref name="losses"/> with ∇Lᵢ = G[i]: its weights, the shared gradient the
    /// engine would write, and the gradient of the method's own parameters (null if it has none).
    /// </summary>
    public static (double[] Weights, double[] Update, double[]? StateGradient) Weigh(ILossWeighting method, double[][] g, double[] losses,
        StepContext? context = null)
    {
        using var scope = NewDisposeScope();
        int t = g.Length;
        var tasks = Tasks(t);
        context ??= new StepContext();
        if (method is nn.Module m) m.zero_grad();
        var raw = tensor(losses, dtype: ScalarType.Float64).requires_grad_();
        var transformed = method.TransformLosses(raw, tasks);
        // ∂ℓᵢ/∂Lᵢ of the element-wise transform
        var slope = autograd.grad(new[] { transformed.sum() }, new[] { raw }, retain_graph: true)[0];
        var matrix = Matrix(g);
        Tensor update;
        WeightingResult result;
        if (method.NeedsTaskGradients)
        {
            // the engine's rows are ∇ℓᵢ = (∂ℓᵢ/∂Lᵢ)·G[i], unweighted
            var rows = matrix * slope.unsqueeze(1);
            result = method.Weigh(new WeightingInput(tasks, transformed, losses, context, rows));
            var used = result.TaskGradients ?? rows;
            update = (result.Weights.detach().to_type(ScalarType.Float64).unsqueeze(1) * used.to_type(ScalarType.Float64)).sum(dim: 0);
            result.ExtraLoss?.backward();
        }
        else
        {
            result = method.Weigh(new WeightingInput(tasks, transformed, losses, context));
            var total = (result.Weights.to_type(ScalarType.Float64) * transformed).sum();
            if (result.ExtraLoss is { } extra) total = total + extra.to_type(ScalarType.Float64);
            total.backward();
            var perLoss = raw.grad!;
            update = (perLoss.unsqueeze(1) * matrix).sum(dim: 0);
        }
        double[]? state = method is nn.Module module && module.parameters().FirstOrDefault() is { } p && p.grad is { } pg
            ? pg.to_type(ScalarType.Float64).data<double>().ToArray()
            : null;
        return (result.Weights.detach().to_type(ScalarType.Float64).data<double>().ToArray(), update.to_type(ScalarType.Float64).data<double>().ToArray(), state);
    }

    public static Tensor Matrix(double[][] g) =>
        tensor(g.SelectMany(r => r).ToArray(), new long[] { g.Length, g[0].Length }, dtype: ScalarType.Float64);

    /// <summary>‖actual − expected‖∞ ≤ tolerance·‖expected‖∞ (relative to the vector's scale, so near-zero entries of a
    /// large vector do not demand impossible digits).</summary>
    public static void Close(double[] expected, double[] actual, string what, double tolerance = 1e-4)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: expected {expected.Length} values, found {actual.Length}");
        double scale = Math.Max(expected.Max(Math.Abs), 1e-12);
        double error = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(error <= tolerance * scale,
            $"{what}: relative error {error / scale:G3} > {tolerance:G3}\n  expected [{string.Join(", ", expected.Select(x => x.ToString("G8")))}]\n  actual   [{string.Join(", ", actual.Select(x => x.ToString("G8")))}]");
    }

    public static double[] Expected(string key) =>
        UpstreamParityData.Expected.TryGetValue(key, out var v) ? v : throw new KeyNotFoundException($"no upstream constant '{key}'");

    public static double[] Sum(double[][] g) => Enumerable.Range(0, g[0].Length).Select(j => g.Sum(r => r[j])).ToArray();

    public static double[] Combine(double[][] g, double[] w) => Enumerable.Range(0, g[0].Length).Select(j => g.Select((r, i) => w[i] * r[j]).Sum()).ToArray();

    public static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

    public static double Norm(double[] a) => Math.Sqrt(Dot(a, a));
}
