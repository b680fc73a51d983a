using MathNet.Numerics.Distributions;
using MathNet.Numerics.Statistics;

namespace MultiTaskKit.Comparison;

/// <summary>
/// The test across seeds: Student's paired t-test on the per-seed differences dₛ = Mₛ(variant) − Mₛ(baseline), the two
/// runs of a pair sharing seed s (the same splits, test subset and data order): t = d̄ / (s_d/√n) with n − 1 degrees of
/// freedom, two-sided p = 2·(1 − F_t(|t|)) (Student 1908; Dror et al., "The Hitchhiker's Guide to Testing Statistical
/// Significance in Natural Language Processing", ACL 2018, §3, recommend it when the per-seed differences are roughly
/// normal). It asks whether the difference stands out from the training randomness the seeds stand for. Also:
/// the effect size d_z = d̄ / s_d (Cohen 1988's standardised mean difference for paired data) and the number of seeds a
/// difference of this size would need (<see cref="SeedsNeeded"/>). Distribution functions are MathNet.Numerics'.
/// </summary>
/// <param name="Count">Number of seed pairs.</param>
/// <param name="MeanDifference">d̄.</param>
/// <param name="StandardDeviation">s_d, the sample standard deviation of the differences.</param>
/// <param name="T">The t statistic (±∞ when every difference is the same non-zero value; 0 when all are 0).</param>
/// <param name="PValue">Two-sided p-value (NaN with fewer than two pairs).</param>
/// <param name="Low">Lower end of the 95 % (or <c>confidence</c>) interval of the mean difference.</param>
/// <param name="High">Upper end of that interval.</param>
/// <param name="EffectSize">d_z = d̄ / s_d (±∞ when s_d = 0 and d̄ ≠ 0, 0 when both are 0).</param>
public sealed record PairedSeedTest(int Count, double MeanDifference, double StandardDeviation, double T, double PValue, double Low, double High, double EffectSize)
{
    /// <summary>The test on paired values (same seeds, same order).</summary>
    public static PairedSeedTest Of(IReadOnlyList<double> variant, IReadOnlyList<double> baseline, double confidence = 0.95)
    {
        ArgumentNullException.ThrowIfNull(variant);
        ArgumentNullException.ThrowIfNull(baseline);
        if (variant.Count != baseline.Count) throw new ArgumentException($"paired test: expected as many baseline values as variant values ({variant.Count}), found {baseline.Count}", nameof(baseline));
        return OfDifferences(variant.Zip(baseline, (a, b) => a - b).ToList(), confidence);
    }

    /// <summary>The test on the differences themselves.</summary>
    public static PairedSeedTest OfDifferences(IReadOnlyList<double> differences, double confidence = 0.95)
    {
        ArgumentNullException.ThrowIfNull(differences);
        if (differences.Count == 0) throw new ArgumentException("paired test: expected at least one difference, found none", nameof(differences));
        int n = differences.Count;
        double mean = differences.Mean();
        if (n == 1) return new PairedSeedTest(1, mean, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        double sd = differences.StandardDeviation();
        double se = sd / Math.Sqrt(n);
        double t, p, d;
        if (sd == 0)
        {
            // Every seed gave the same difference: no spread to test against. Zero is no evidence of anything; a constant
            // non-zero difference is as strong as the data can be.
            t = mean == 0 ? 0 : double.CopySign(double.PositiveInfinity, mean);
            p = mean == 0 ? 1 : 0;
            d = mean == 0 ? 0 : double.CopySign(double.PositiveInfinity, mean);
        }
        else
        {
            t = mean / se;
            p = 2 * (1 - StudentT.CDF(0, 1, n - 1, Math.Abs(t)));
            d = mean / sd;
        }
        double half = StudentT.InvCDF(0, 1, n - 1, 1 - (1 - confidence) / 2) * se;
        return new PairedSeedTest(n, mean, sd, t, Math.Clamp(p, 0, 1), mean - half, mean + half, d);
    }

    /// <summary>
    /// Seeds (pairs) a two-sided paired t-test needs to detect a standardised effect <paramref name="effectSize"/> (d_z)
    /// at level <paramref name="alpha"/> with probability <paramref name="power"/>: Guenther's (1981) correction of the
    /// normal approximation, n = ((z₁₋α/₂ + z_power)/d_z)² + z²₁₋α/₂ / 2, rounded up, at least 2 (it matches the exact
    /// noncentral-t answer to within one pair; e.g. d_z = 0.5 → 34 and d_z = 0.8 → 15, as G*Power gives). Null when the
    /// effect is 0 or undefined (nothing to detect); 2 for an infinite effect.
    /// </summary>
    public static int? SeedsNeeded(double effectSize, double alpha = 0.05, double power = 0.8)
    {
        if (double.IsNaN(effectSize) || effectSize == 0) return null;
        if (double.IsInfinity(effectSize)) return 2;
        double za = Normal.InvCDF(0, 1, 1 - alpha / 2), zb = Normal.InvCDF(0, 1, power);
        double n = Math.Pow((za + zb) / Math.Abs(effectSize), 2) + za * za / 2;
        return n > int.MaxValue / 2.0 ? int.MaxValue : Math.Max(2, (int)Math.Ceiling(n - 1e-9));
    }
}
