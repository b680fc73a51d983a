using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Data.Synthetic;

/// <summary>
/// The synthetic two-regression problem of the MMoE paper (Ma et al., "Modeling Task Relationships in Multi-task
/// Learning with Multi-gate Mixture-of-Experts", KDD 2018, section 3.2), whose task relatedness is a dial: the cosine
/// <c>p</c> between the two tasks' weight vectors. Targets: yᵢ = wᵢᵀx + Σⱼ sin(αⱼ wᵢᵀx + βⱼ) + ε.
/// </summary>
public sealed record MmoeSynthetic(double Correlation, Tensor TrainX, Tensor TrainY1, Tensor TrainY2, Tensor ValX, Tensor ValY1, Tensor ValY2)
{
    /// <param name="inputs">d, the input size (the paper uses 100).</param>
    /// <param name="trainRows">Training rows.</param>
    /// <param name="valRows">Validation rows.</param>
    /// <param name="seed">Seed for directions, sine terms, inputs and noise.</param>
    /// <param name="correlation">p in [-1, 1]: the cosine between w₁ and w₂.</param>
    /// <param name="scale">c, the norm of w₁ and w₂ (the paper uses 1).</param>
    /// <param name="sines">m, the number of sine terms (the paper uses 10).</param>
    public static MmoeSynthetic Make(int inputs, int trainRows, int valRows, double correlation, long seed, double scale = 1.0, int sines = 10)
    {
        if (correlation is < -1 or > 1) throw new ArgumentOutOfRangeException(nameof(correlation), correlation, "expected a cosine in [-1, 1]");
        using var scope = NewDisposeScope();
        var gen = new Generator((ulong)seed);
        // Two orthonormal directions from a QR of a random d×2 matrix.
        var (q, _) = linalg.qr(randn(new long[] { inputs, 2 }, dtype: float64, generator: gen));
        var u1 = q[.., 0]; var u2 = q[.., 1];
        var w1 = scale * u1;
        var w2 = scale * (correlation * u1 + Math.Sqrt(1 - correlation * correlation) * u2);
        var alpha = randn(new long[] { sines }, dtype: float64, generator: gen);
        var beta = randn(new long[] { sines }, dtype: float64, generator: gen);
        Tensor Target(Tensor x, Tensor w)
        {
            var proj = x.matmul(w).unsqueeze(1); // [n, 1]
            return (proj.squeeze(1) + sin(proj * alpha + beta).sum(1) + 0.1 * randn(new long[] { x.shape[0] }, dtype: float64, generator: gen)).to_type(float32);
        }
        (Tensor, Tensor, Tensor) Rows(int n)
        {
            var x = randn(new long[] { n, inputs }, dtype: float64, generator: gen);
            return (x.to_type(float32), Target(x, w1), Target(x, w2));
        }
        var (tx, t1, t2) = Rows(trainRows);
        var (vx, v1, v2) = Rows(valRows);
        return new MmoeSynthetic(correlation, tx.MoveToOuterDisposeScope(), t1.MoveToOuterDisposeScope(), t2.MoveToOuterDisposeScope(),
            vx.MoveToOuterDisposeScope(), v1.MoveToOuterDisposeScope(), v2.MoveToOuterDisposeScope());
    }

    /// <summary>Pearson correlation of the two training targets (what the dial does to the labels).</summary>
    public double LabelCorrelation
    {
        get
        {
            using var scope = NewDisposeScope();
            return corrcoef(stack(new[] { TrainY1, TrainY2 }))[0, 1].item<float>();
        }
    }
}
