using MultiTaskKit.Aggregation;
using MultiTaskKit.Runtime;
using MultiTaskKit.Weighting;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Aggregation;

/// <summary>Hand-computed cases, one or more per aggregator.</summary>
public class AggregatorTests
{

    internal static (double[] Update, double[] Weights) Run(IGradientAggregator aggregator, double[][] rows, long step = 0, double[]? losses = null)
    {
        using var scope = NewDisposeScope();
        int t = rows.Length, p = rows[0].Length;
        var g = tensor(rows.SelectMany(r => r).ToArray(), new long[] { t, p }, dtype: ScalarType.Float64);
        var gramian = GradientMatrix.Gramian(g);
        var tasks = Enumerable.Range(0, t).Select(i => $"t{i}").ToArray();
        var result = aggregator.Aggregate(g, new AggregationInput(tasks, gramian, losses ?? Enumerable.Repeat(1.0, t).ToArray(), new StepContext(step)));
        return (result.Update.data<double>().ToArray(), result.Weights!.ToArray());
    }

    static void Near(double[] expected, double[] actual, int digits = 6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], digits);
    }

    static readonly double[][] Conflicting = { new[] { 1.0, 0.0 }, new[] { -1.0, 1.0 } };
    static readonly double[][] Orthogonal = { new[] { 1.0, 0.0 }, new[] { 0.0, 2.0 } };

    [Fact]
    public void PCGradProjectsTwoConflictingGradientsOntoEachOthersNormalPlane()
    {
        // g1' = g1 − (g1·g2/‖g2‖²) g2 = (1,0) + ½(−1,1) = (½,½); g2' = g2 − (g2·g1/‖g1‖²) g1 = (0,1); sum (½, 3/2)
        Near(new[] { 0.5, 1.5 }, Run(new PCGrad(), Conflicting).Update);
        Near(new[] { 1.0, 2.0 }, Run(new PCGrad(), Orthogonal).Update);
        Assert.Equal("PCGrad(Seed=0)", new PCGrad().ToString());
    }

    [Fact]
    public void MgdaTwoGradientsMatchesTheClosedFormMinNormPoint()
    {
        // γ = (g2−g1)·g2/‖g1−g2‖² = ((−2,1)·(−1,1))/5 = 3/5; d = 3/5 g1 + 2/5 g2 = (1/5, 2/5)
        var (update, weights) = Run(new MGDA(), Conflicting);
        Near(new[] { 0.6, 0.4 }, weights);
        Near(new[] { 0.2, 0.4 }, update);
        // orthogonal (1,0),(0,2): γ = 4/5, d = (4/5, 2/5)
        Near(new[] { 0.8, 0.4 }, Run(new MGDA(), Orthogonal).Update);
        // one gradient inside the hull's min-norm: g1 = (1,0), g2 = (2,0) → the shorter one
        Near(new[] { 1.0, 0.0 }, Run(new MGDA(), new[] { new[] { 1.0, 0.0 }, new[] { 2.0, 0.0 } }).Update);
    }

    [Fact]
    public void MgdaFrankWolfeAgreesWithTheClosedFormOnThreeTasks()
    {
        // three unit vectors at 120°: min-norm point is the origin with equal weights
        double s = Math.Sqrt(3) / 2;
        var (update, weights) = Run(new MGDA(), new[] { new[] { 1.0, 0.0 }, new[] { -0.5, s }, new[] { -0.5, -s } });
        Near(new[] { 0.0, 0.0 }, update, 3);
        Near(new[] { 1 / 3.0, 1 / 3.0, 1 / 3.0 }, weights, 2);
        // L2 normalisation: weights fold the scales back in, d = Σ wᵢ gᵢ
        var (u2, _) = Run(new MGDA(new MgdaOptions(MgdaNormalization.L2)), Orthogonal);
        Near(new[] { 0.5, 0.5 }, u2);
    }

    [Fact]
    public void CAGradOnOrthogonalUnitGradients()
    {
        // g0 = (½,½), ‖g0‖ = √½; w = (½,½) minimises; λ = c‖g0‖/‖g_w‖ = ½; d = 1.5·g0 = (¾,¾); /(1+c²) = (0.6, 0.6)
        Near(new[] { 0.6, 0.6 }, Run(new CAGrad(), new[] { new[] { 1.0, 0.0 }, new[] { 0.0, 1.0 } }).Update, 4);
        // c = 0 is the mean gradient
        Near(new[] { 0.0, 0.5 }, Run(new CAGrad(new CAGradOptions(C: 0, Rescale: CAGradRescale.None)), Conflicting).Update, 6);
    }

    [Fact]
    public void CAGradImprovesTheWorstTaskOverTheMean()
    {
        var rows = new[] { new[] { 1.0, 0.0 }, new[] { -0.9, 0.3 } };
        var (update, _) = Run(new CAGrad(new CAGradOptions(C: 0.9, Rescale: CAGradRescale.None)), rows);
        double worstCagrad = rows.Min(g => g[0] * update[0] + g[1] * update[1]);
        var mean = new[] { 0.05, 0.15 };
        double worstMean = rows.Min(g => g[0] * mean[0] + g[1] * mean[1]);
        Assert.True(worstCagrad > worstMean, $"worst-task improvement {worstCagrad} should beat the mean gradient's {worstMean}");
    }

    [Fact]
    public void GradVacFirstStepActsAsPCGradThenMovesItsTargets()
    {
        var gv = new GradVac(new[] { "t0", "t1" });
        Near(new[] { 0.5, 1.5 }, Run(gv, Conflicting).Update);
        // cos(g1,g2) = −1/√2; targets ← ½·0 + ½·(−1/√2) (the second pass of each pair sees the same cosine)
        Assert.Equal(-0.5 / Math.Sqrt(2), gv.Targets[0, 1], 6);
        Assert.Equal(-0.5 / Math.Sqrt(2), gv.Targets[1, 0], 6);
        // a positive target also lifts a non-conflicting pair: orthogonal gradients with target 0.5 get pulled together
        var gv2 = new GradVac(new[] { "t0", "t1" });
        using (TorchSharp.torch.no_grad()) gv2.buffers().First().fill_(0.5);
        var (update, _) = Run(gv2, new[] { new[] { 1.0, 0.0 }, new[] { 0.0, 1.0 } });
        // g1' = g1 + ‖g1‖(0.5·1 − 0)/(1·√0.75)·g2 = (1, 0.57735); symmetric for g2
        Near(new[] { 1 + 0.5 / Math.Sqrt(0.75), 1 + 0.5 / Math.Sqrt(0.75) }, update, 5);
    }

    [Fact]
    public void IMTLEqualisesTheProjectionsOnEveryTask()
    {
        // (1,0),(0,2): α = (2/3, 1/3), d = (2/3, 2/3): d·u1 = d·u2 = 2/3
        var (update, weights) = Run(new IMTL(), Orthogonal);
        Near(new[] { 2 / 3.0, 1 / 3.0 }, weights);
        Near(new[] { 2 / 3.0, 2 / 3.0 }, update);
        var rows = new[] { new[] { 1.0, 0.2, 0.0 }, new[] { -0.3, 1.0, 0.5 }, new[] { 0.1, -0.4, 2.0 } };
        var (u3, w3) = Run(new IMTL(), rows);
        Assert.Equal(1.0, w3.Sum(), 9);
        var projections = rows.Select(g => (g[0] * u3[0] + g[1] * u3[1] + g[2] * u3[2]) / Math.Sqrt(g.Sum(v => v * v))).ToArray();
        Assert.Equal(projections[0], projections[1], 6);
        Assert.Equal(projections[0], projections[2], 6);
    }

    [Fact]
    public void NashMtlSolvesTheBargainingEquations()
    {
        // K = diag(1,4), normalised by ‖K‖_F = √17: αᵢ = 1/√(Kᵢᵢ/√17) → α = 17^¼·(1, ½), d = 17^¼·(1,1)
        var (update, weights) = Run(new NashMTL(2, new NashMtlOptions(MaxNorm: 0)), Orthogonal);
        double q = Math.Pow(17, 0.25);
        Near(new[] { q, q / 2 }, weights, 5);
        Near(new[] { q, q }, update, 5);
        // with the default MaxNorm = 1 the same direction is scaled to unit length
        Near(new[] { Math.Sqrt(0.5), Math.Sqrt(0.5) }, Run(new NashMTL(2), Orthogonal).Update, 5);
        // a general case: Kα = 1/α on the normalised Gramian
        var rows = new[] { new[] { 1.0, 0.3 }, new[] { -0.5, 1.0 }, new[] { 0.2, 0.2 } };
        var (_, w) = Run(new NashMTL(3, new NashMtlOptions(MaxNorm: 0, Iterations: 100)), rows);
        var k = new double[3, 3]; double f = 0;
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) { k[i, j] = rows[i][0] * rows[j][0] + rows[i][1] * rows[j][1]; f += k[i, j] * k[i, j]; }
        f = Math.Sqrt(f);
        for (int i = 0; i < 3; i++)
        {
            double ka = 0; for (int j = 0; j < 3; j++) ka += k[i, j] / f * w[j];
            Assert.Equal(1 / w[i], ka, 4);
        }
    }

    [Fact]
    public void AlignedMtlMakesGradientsOrthonormalAtTheSmallestSingularValue()
    {
        // K = diag(1,4): σ_min = 1, B = diag(1, ½), w = (1, ½), d = (1, 1)
        var (update, weights) = Run(new AlignedMTL(), Orthogonal);
        Near(new[] { 1.0, 0.5 }, weights);
        Near(new[] { 1.0, 1.0 }, update);
        // general case: the aligned rows BG have Gramian σ_min²·I
        var rows = new[] { new[] { 1.0, 0.3, 0.0 }, new[] { -0.5, 1.0, 0.1 } };
        var (u, w) = Run(new AlignedMTL(), rows);
        var (values, _) = SmallSolvers.SymmetricEigen(new double[,] { { 1.09, -0.2 }, { -0.2, 1.26 } });
        double sigmaMin = Math.Sqrt(values[1]);
        // ‖d‖² = 1ᵀ B K B 1 = σ_min²·T for the sum of T orthonormal-ised rows
        Assert.Equal(2 * sigmaMin * sigmaMin, u.Sum(x => x * x), 6);
    }

    [Fact]
    public void UPGradAveragesTheProjectionsOntoTheDualCone()
    {
        // projections: g1 → (½,½), g2 → (0,1); mean (¼, ¾)
        Near(new[] { 0.25, 0.75 }, Run(new UPGrad(new UPGradOptions(RegularizationEpsilon: 0)), Conflicting).Update, 6);
        // non-conflicting: the plain mean
        Near(new[] { 0.5, 1.0 }, Run(new UPGrad(new UPGradOptions(RegularizationEpsilon: 0)), Orthogonal).Update, 6);
    }

    [Fact]
    public void SmallSolversAreCorrectOnKnownProblems()
    {
        Near(new[] { 1.0, 2.0 }, SmallSolvers.Solve(new double[,] { { 2, 1 }, { 1, 3 } }, new[] { 4.0, 7.0 })!);
        Assert.Null(SmallSolvers.Solve(new double[,] { { 1, 2 }, { 2, 4 } }, new[] { 1.0, 2.0 }));
        var (values, vectors) = SmallSolvers.SymmetricEigen(new double[,] { { 2, 1 }, { 1, 2 } });
        Near(new[] { 3.0, 1.0 }, values);
        Assert.Equal(1 / Math.Sqrt(2), Math.Abs(vectors[0, 0]), 9);
        Near(new[] { 0.0, 1.0, 0.0 }, SmallSolvers.ProjectToSimplex(new[] { -1.0, 2.0, 0.5 }));
        Near(new[] { 0.5, 0.5 }, SmallSolvers.ProjectToSimplex(new[] { 1.0, 1.0 }));
        // min vᵀKv, v ≥ u with K = I: v = max(u, 0)
        Near(new[] { 0.5, 0.0 }, SmallSolvers.LowerBoundedQuadratic(new double[,] { { 1, 0 }, { 0, 1 } }, new[] { 0.5, -1.0 }));
    }
}

public class LowerBoundedQuadraticTests
{
    [Fact]
    public void ActiveSetMatchesCoordinateDescentOnRandomProblems()
    {
        var r = new Random(9);
        for (int trial = 0; trial < 30; trial++)
        {
            int n = 2 + trial % 5;
            var g = Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, 4).Select(_ => r.NextDouble() * 2 - 1).ToArray()).ToArray();
            var k = new double[n, n];
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) k[i, j] = g[i].Zip(g[j], (a, b) => a * b).Sum() + (i == j ? 0.05 : 0);
            var u = Enumerable.Range(0, n).Select(_ => r.NextDouble()).ToArray();
            var exact = SmallSolvers.LowerBoundedQuadratic(k, u);
            // KKT: v ≥ u, Kv ≥ 0, complementary slackness
            var kv = SmallSolvers.MatVec(k, exact);
            for (int j = 0; j < n; j++)
            {
                Assert.True(exact[j] >= u[j] - 1e-9);
                Assert.True(kv[j] >= -1e-9);
                Assert.True(Math.Abs((exact[j] - u[j]) * kv[j]) < 1e-8);
            }
        }
    }
}
