using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Aggregation;

/// <summary>
/// The gradient plumbing every gradient method uses, in one place: flattening parameters' <c>.grad</c> into a row of
/// the [tasks × params] matrix (on the device), writing one vector back into <c>.grad</c>, and the Gramian G·Gᵀ with
/// the statistics derived from it (norms, cosines, conflicts).
/// </summary>
public static class GradientMatrix
{
    /// <summary>Total number of elements of <paramref name="parameters"/>.</summary>
    public static long Size(IReadOnlyList<Tensor> parameters) => parameters.Sum(p => p.numel());

    /// <summary>The column blocks of <paramref name="parameters"/> in a matrix built by <see cref="CaptureAndZero"/>, named
    /// after <paramref name="owner"/>'s <c>named_parameters()</c> (a parameter not found there is named by its index).</summary>
    public static IReadOnlyList<ParameterBlock> Blocks(TorchSharp.torch.nn.Module owner, IReadOnlyList<Tensor> parameters)
    {
        var names = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        foreach (var (name, p) in owner.named_parameters()) names.TryAdd(p, name);
        var blocks = new List<ParameterBlock>(parameters.Count);
        long offset = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            long n = parameters[i].numel();
            blocks.Add(new ParameterBlock(names.TryGetValue(parameters[i], out var name) ? name : $"parameter{i}", offset, n));
            offset += n;
        }
        return blocks;
    }

    /// <summary>Copies the current <c>.grad</c> of <paramref name="parameters"/> into <paramref name="row"/> [P] (zeros
    /// where a parameter has no gradient), then zeroes those gradients so the next task's backward starts clean.</summary>
    public static void CaptureAndZero(Tensor row, IReadOnlyList<Tensor> parameters)
    {
        long offset = 0;
        using var _ = no_grad();
        foreach (var p in parameters)
        {
            long n = p.numel();
            using var slice = row.narrow(0, offset, n);
            using var g = p.grad;
            if (g is null) slice.zero_();
            else
            {
                using var flat = g.reshape(-1);
                slice.copy_(flat);
                g.zero_();
            }
            offset += n;
        }
    }

    /// <summary>Writes <paramref name="vector"/> [P] into the <c>.grad</c> of <paramref name="parameters"/>; with
    /// <paramref name="accumulate"/> it adds to what is there.</summary>
    public static void Write(Tensor vector, IReadOnlyList<Tensor> parameters, bool accumulate = false)
    {
        long expected = Size(parameters);
        if (vector.dim() != 1 || vector.shape[0] != expected)
            throw new ArgumentException($"gradient vector: expected shape [{expected}], found [{string.Join(", ", vector.shape)}]", nameof(vector));
        long offset = 0;
        using var _ = no_grad();
        foreach (var p in parameters)
        {
            long n = p.numel();
            using var slice = vector.narrow(0, offset, n).view(p.shape);
            using var g = p.grad;
            if (g is null) p.grad = slice.to_type(p.dtype).clone();
            else if (accumulate) g.add_(slice);
            else g.copy_(slice);
            offset += n;
        }
    }

    /// <summary>G·Gᵀ on the device, then copied to the host as doubles (T×T numbers: one small transfer).</summary>
    public static double[,] Gramian(Tensor matrix)
    {
        if (matrix.dim() != 2) throw new ArgumentException($"gradient matrix: expected [tasks, params], found shape [{string.Join(", ", matrix.shape)}]", nameof(matrix));
        if (matrix.shape[0] == 0) throw new ArgumentException($"gradient matrix: expected at least one task row, found shape [{string.Join(", ", matrix.shape)}]", nameof(matrix));
        using var scope = NewDisposeScope();
        var k = matrix.mm(matrix.t()).to_type(ScalarType.Float64).cpu();
        int t = (int)k.shape[0];
        var flat = k.data<double>().ToArray();
        var result = new double[t, t];
        for (int i = 0; i < t; i++) for (int j = 0; j < t; j++) result[i, j] = 0.5 * (flat[i * t + j] + flat[j * t + i]);
        return result;
    }

    /// <summary>‖gᵢ‖ from the Gramian's diagonal.</summary>
    public static double[] Norms(double[,] gramian)
    {
        int t = gramian.GetLength(0);
        var n = new double[t];
        for (int i = 0; i < t; i++) n[i] = Math.Sqrt(Math.Max(gramian[i, i], 0));
        return n;
    }

    /// <summary>cos(gᵢ, gⱼ) from the Gramian; 0 where a gradient is zero.</summary>
    public static double[,] Cosines(double[,] gramian)
    {
        int t = gramian.GetLength(0);
        var n = Norms(gramian);
        var c = new double[t, t];
        for (int i = 0; i < t; i++)
            for (int j = 0; j < t; j++)
                c[i, j] = n[i] > 0 && n[j] > 0 ? Math.Clamp(gramian[i, j] / (n[i] * n[j]), -1, 1) : 0;
        return c;
    }

    /// <summary>Pairs i &lt; j with gᵢ·gⱼ &lt; 0.</summary>
    public static int ConflictingPairs(double[,] gramian)
    {
        int t = gramian.GetLength(0), count = 0;
        for (int i = 0; i < t; i++) for (int j = i + 1; j < t; j++) if (gramian[i, j] < 0) count++;
        return count;
    }

    /// <summary>d = Σᵢ wᵢ·gᵢ on the device.</summary>
    public static Tensor Combine(Tensor matrix, IReadOnlyList<double> weights)
    {
        if (weights.Count != matrix.shape[0])
            throw new ArgumentException($"weights: expected {matrix.shape[0]} (one per row), found {weights.Count}", nameof(weights));
        using var w = tensor(weights.ToArray(), device: matrix.device).to_type(matrix.dtype);
        return w.matmul(matrix);
    }
}
