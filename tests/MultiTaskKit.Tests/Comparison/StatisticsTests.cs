using MultiTaskKit.Comparison;

namespace MultiTaskKit.Tests.Comparison;

/// <summary>The comparison's statistics against textbook and hand-computed cases.</summary>
public class StatisticsTests
{
    // Student (1908) / Cushny & Peebles: extra hours of sleep under two drugs for the same 10 patients. R's
    // t.test(extra ~ group, data = sleep, paired = TRUE) gives t = -4.0621, df = 9, p-value = 0.002833,
    // 95 % CI [-2.4598858, -0.7001142], mean difference -1.58 (here drug 2 − drug 1, so the signs flip).
    static readonly double[] Drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
    static readonly double[] Drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

    [Fact]
    public void PairedSeedTestMatchesStudentsSleepData()
    {
        var t = PairedSeedTest.Of(Drug2, Drug1);
        Assert.Equal(10, t.Count);
        Assert.Equal(1.58, t.MeanDifference, 10);
        Assert.Equal(4.0621, t.T, 4);
        Assert.Equal(0.002833, t.PValue, 6);
        Assert.Equal(0.7001142, t.Low, 6);
        Assert.Equal(2.4598858, t.High, 6);
        Assert.Equal(1.58 / 1.2299955, t.EffectSize, 5);
        // The same test the other way round is the mirror image.
        var back = PairedSeedTest.Of(Drug1, Drug2);
        Assert.Equal(-t.T, back.T, 10);
        Assert.Equal(t.PValue, back.PValue, 12);
    }

    [Fact]
    public void PairedSeedTestEdgeCases()
    {
        var same = PairedSeedTest.OfDifferences([0.0, 0.0, 0.0]);
        Assert.Equal(1.0, same.PValue);
        Assert.Equal(0.0, same.T);
        var constant = PairedSeedTest.OfDifferences([0.02, 0.02, 0.02]);
        Assert.Equal(0.0, constant.PValue);
        Assert.True(double.IsPositiveInfinity(constant.EffectSize));
        var one = PairedSeedTest.OfDifferences([0.5]);
        Assert.True(double.IsNaN(one.PValue));
        Assert.Throws<ArgumentException>(() => PairedSeedTest.Of([1.0, 2.0], [1.0]));
    }

    [Theory]
    // G*Power 3.1, "Means: difference between two dependent means (matched pairs)", two-tailed α = 0.05, power 0.80:
    // d_z = 0.5 → 34 pairs, 0.8 → 15, 0.2 → 199; Guenther's formula agrees to within one pair.
    [InlineData(0.5, 34)]
    [InlineData(-0.5, 34)]
    [InlineData(0.8, 15)]
    [InlineData(0.2, 199)]
    public void SeedsNeededMatchesGPower(double effect, int expected)
    {
        var n = PairedSeedTest.SeedsNeeded(effect);
        Assert.NotNull(n);
        Assert.InRange(n!.Value, expected - 1, expected + 1);
    }

    [Fact]
    public void SeedsNeededForNoEffectIsNone()
    {
        Assert.Null(PairedSeedTest.SeedsNeeded(0));
        Assert.Null(PairedSeedTest.SeedsNeeded(double.NaN));
        Assert.Equal(2, PairedSeedTest.SeedsNeeded(double.PositiveInfinity));
        Assert.Equal(2, PairedSeedTest.SeedsNeeded(10));
    }

    [Fact]
    public void SeedSummaryIsMeanSdAndStudentInterval()
    {
        // 1..5: mean 3, sd √2.5 = 1.5811388, t(0.975, 4) = 2.7764451 → half-width 1.9632432.
        var s = SeedSummary.Of([1.0, 2.0, 3.0, 4.0, 5.0]);
        Assert.Equal(3.0, s.Mean, 12);
        Assert.Equal(1.5811388, s.StandardDeviation, 6);
        Assert.Equal(3 - 1.9632432, s.Low, 6);
        Assert.Equal(3 + 1.9632432, s.High, 6);
        var one = SeedSummary.Of([0.9]);
        Assert.True(double.IsNaN(one.StandardDeviation) && double.IsNaN(one.Low));
        Assert.Equal("0.9000", one.Format());
    }

    static PairedPredictions Pair(int[] gold, int[] variant, int[] baseline) =>
        new(gold.Select(x => (double)x).ToArray(), variant.Select(x => (double)x).ToArray(), baseline.Select(x => (double)x).ToArray());

    [Fact]
    public void BootstrapOfIdenticalModelsFindsNothing()
    {
        var p = Pair([0, 1, 1, 0, 1], [0, 1, 0, 0, 1], [0, 1, 0, 0, 1]);
        var r = PairedBootstrap.Run([p], ExampleMetric.Find("accuracy")!, 500, 1);
        Assert.Equal(0, r.Observed);
        Assert.Equal(1, r.PValue);
        Assert.Equal(0, r.Low);
        Assert.Equal(0, r.High);
    }

    [Fact]
    public void BootstrapOfAlwaysRightAgainstAlwaysWrongIsAtItsFloor()
    {
        var gold = Enumerable.Range(0, 40).Select(i => i % 2).ToArray();
        var p = Pair(gold, gold, gold.Select(g => 1 - g).ToArray());
        var r = PairedBootstrap.Run([p], ExampleMetric.Find("accuracy")!, 999, 3);
        Assert.Equal(1, r.Observed);
        Assert.Equal(1, r.Low);
        Assert.Equal(1, r.High);
        Assert.Equal(1.0 / 1000, r.PValue, 12);
    }

    [Fact]
    public void BootstrapOfTwoExamplesMatchesTheEnumeratedDistribution()
    {
        // Two examples; the variant is right on the first only, the baseline on neither. The four equally likely
        // resamples (0,0) (0,1) (1,0) (1,1) give δ* = 1, ½, ½, 0: observed ½, and |δ* − ½| ≥ ½ for half of them, so the
        // shifted two-sided p is ½; the bootstrap standard error is √(Var δ*) = √(1/8) = 0.35355.
        var p = Pair([1, 1], [1, 0], [0, 0]);
        var r = PairedBootstrap.Run([p], ExampleMetric.Find("accuracy")!, 20000, 11);
        Assert.Equal(0.5, r.Observed);
        Assert.InRange(r.PValue, 0.49, 0.51);
        Assert.InRange(r.StandardError, 0.35355 * 0.98, 0.35355 * 1.02);
        Assert.Equal(0, r.Low);
        Assert.Equal(1, r.High);
    }

    [Fact]
    public void BootstrapStandardErrorOfAnAccuracyDifferenceIsTheSampleFormula()
    {
        // Efron & Tibshirani (1993, §6.2): the ideal bootstrap SE of a mean of n values is √(Σ(dᵢ − d̄)²)/n; an accuracy
        // difference is the mean of dᵢ ∈ {−1, 0, 1}.
        int n = 400;
        var gold = new int[n];
        var a = new int[n];
        var b = new int[n];
        var rng = new Random(5);
        for (int i = 0; i < n; i++) { gold[i] = rng.Next(2); a[i] = rng.NextDouble() < 0.8 ? gold[i] : 1 - gold[i]; b[i] = rng.NextDouble() < 0.7 ? gold[i] : 1 - gold[i]; }
        var d = Enumerable.Range(0, n).Select(i => (a[i] == gold[i] ? 1.0 : 0) - (b[i] == gold[i] ? 1.0 : 0)).ToArray();
        double mean = d.Average();
        double ideal = Math.Sqrt(d.Sum(x => (x - mean) * (x - mean))) / n;
        var r = PairedBootstrap.Run([Pair(gold, a, b)], ExampleMetric.Find("accuracy")!, 4000, 9);
        Assert.Equal(mean, r.Observed, 12);
        Assert.InRange(r.StandardError, ideal * 0.95, ideal * 1.05);
        Assert.InRange(r.Low, mean - 1.96 * ideal - 0.01, mean - 1.96 * ideal + 0.01);
        // The shifted bootstrap's p-value is close to the normal approximation's 2(1 − Φ(|d̄|/SE)).
        double normal = 2 * (1 - MathNet.Numerics.Distributions.Normal.CDF(0, 1, Math.Abs(mean) / ideal));
        Assert.InRange(r.PValue, normal - 0.02, normal + 0.02);
        // Deterministic for its seed.
        Assert.Equal(r, PairedBootstrap.Run([Pair(gold, a, b)], ExampleMetric.Find("accuracy")!, 4000, 9));
    }

    [Fact]
    public void BootstrapOverSeedsAveragesThePerSeedDifferences()
    {
        var gold = Enumerable.Range(0, 30).Select(i => i % 2).ToArray();
        var better = Pair(gold, gold, gold.Select(g => 1 - g).ToArray()); // difference 1 on every resample
        var same = Pair(gold, gold, gold);                                 // difference 0 on every resample
        var r = PairedBootstrap.Run([better, same], ExampleMetric.Find("accuracy")!, 300, 2);
        Assert.Equal(0.5, r.Observed);
        Assert.Equal(0.5, r.Low);
        Assert.Equal(0.5, r.High);
        Assert.Equal(2, r.Seeds);
    }

    [Fact]
    public void LowerIsBetterMetricsAreSignedSoThatPositiveMeansBetter()
    {
        var gold = new double[] { 0, 1, 2, 3 };
        var p = new PairedPredictions(gold, [0, 1, 2, 3], [1, 2, 3, 4]); // the variant's MSE 0, the baseline's 1
        var r = PairedBootstrap.Run([p], ExampleMetric.Find("mse")!, 200, 4);
        Assert.Equal(1.0, r.Observed, 12);
    }

    [Fact]
    public void ExampleMetricsMatchHandCounts()
    {
        double[] gold = [0, 0, 1, 1, 2, 2];
        double[] pred = [0, 1, 1, 1, 2, 0];
        Assert.Equal(4.0 / 6, ExampleMetric.Find("accuracy")!.Compute(gold, pred), 12);
        // class 0: tp 1 fp 1 fn 1 → F1 ½; class 1: tp 2 fp 1 fn 0 → 0.8; class 2: tp 1 fp 0 fn 1 → ⅔.
        Assert.Equal((0.5 + 0.8 + 2.0 / 3) / 3, ExampleMetric.Find("macro_f1")!.Compute(gold, pred), 12);
        Assert.Equal(1.0, ExampleMetric.Find("pearson")!.Compute([1, 2, 3], [2, 4, 6]), 12);
        Assert.Equal(1.0, ExampleMetric.Find("spearman")!.Compute([1, 2, 3], [1, 8, 27]), 12);
        Assert.Equal(1.0, ExampleMetric.Find("mse")!.Compute([0, 0], [1, -1]), 12);
        Assert.Null(ExampleMetric.Find("polarity_accuracy"));
    }

    [Fact]
    public void VerdictNeedsBothTestsAndTheSameSign()
    {
        var strong = PairedSeedTest.OfDifferences([0.05, 0.06, 0.055, 0.052]);
        var bootYes = new BootstrapResult(0.054, 0.03, 0.08, 0.01, 0.001, 1000, 4);
        var bootNo = new BootstrapResult(0.054, -0.01, 0.1, 0.03, 0.2, 1000, 4);
        Assert.Equal(VerdictKind.Helps, Verdict.Decide("t", "hard", "accuracy", strong, bootYes).Kind);
        Assert.Equal(VerdictKind.NoDetectableDifference, Verdict.Decide("t", "hard", "accuracy", strong, bootNo).Kind);
        var hurts = PairedSeedTest.OfDifferences([-0.05, -0.06, -0.055, -0.052]);
        Assert.Equal(VerdictKind.Hurts, Verdict.Decide("t", "hard", "accuracy", hurts, bootYes with { Observed = -0.054 }).Kind);
        Assert.Equal(VerdictKind.NoDetectableDifference, Verdict.Decide("t", "hard", "accuracy", hurts, bootYes).Kind); // signs disagree
        var line = Verdict.Decide("imdb", "split@2", "accuracy", PairedSeedTest.OfDifferences([0.01, -0.02, 0.005]), bootNo).Line();
        Assert.Contains("imdb: split@2 vs single-task: no detectable difference at α = 0.05", line);
        Assert.Contains("seeds for 80 % power", line);
        Assert.Contains("bootstrap over test examples +0.0540 [-0.0100, 0.1000], p = 0.200", line);
        var clear = Verdict.Decide("imdb", "hard", "accuracy", hurts, bootYes with { Observed = -0.054, PValue = 0.0005 }).Line();
        Assert.Contains("seeds p < 0.001", clear); // the seeds' t-test: t = -24.9 on 3 degrees of freedom, p = 0.00014
        Assert.Contains("[0.0300, 0.0800], p < 0.001", clear);
        Assert.DoesNotContain("= <", clear);
    }
}
