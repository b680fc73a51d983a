using MultiTaskKit.Runtime;

namespace MultiTaskKit.Comparison;

/// <summary>Two models' predictions on the same test examples (one seed): gold values and each model's predictions, aligned by row.</summary>
public sealed record PairedPredictions(double[] Gold, double[] Variant, double[] Baseline)
{
    public int Count => Gold.Length;
}

/// <summary>
/// The outcome of a paired bootstrap: the observed difference of the metric (variant − baseline, in the metric's own
/// units, signed so that a positive value means the variant is better), its percentile interval, its bootstrap standard
/// error and the two-sided p-value of "no difference".
/// </summary>
public sealed record BootstrapResult(double Observed, double Low, double High, double StandardError, double PValue, int Resamples, int Seeds);

/// <summary>
/// The paired bootstrap over test examples (Efron &amp; Tibshirani, <i>An Introduction to the Bootstrap</i>, 1993; for
/// comparing two systems on one test set, Koehn, "Statistical Significance Tests for Machine Translation Evaluation",
/// EMNLP 2004, and Berg-Kirkpatrick et al., EMNLP 2012). Each resample draws n test examples with replacement, the same
/// rows for both models (that is the pairing), and recomputes the metric of each; δ* is their difference.
/// <list type="bullet">
/// <item>Interval: the percentile interval of δ* (Efron &amp; Tibshirani §13.3).</item>
/// <item>p-value: the bootstrap distribution shifted to the null of no difference, two-sided,
/// p = (1 + #{|δ* − δ̂| ≥ |δ̂|}) / (B + 1) (Efron &amp; Tibshirani §16.4; Berg-Kirkpatrick et al. 2012 point out that
/// Koehn's count of δ* ≤ 0 must be taken on this shifted distribution). The +1 keeps p above 0 (Davison &amp; Hinkley
/// 1997, eq. 4.11).</item>
/// <item>Over seeds: each seed's test examples are resampled independently, and the statistic is the mean over seeds of
/// the per-seed differences, so the interval and p-value describe the seed-averaged difference under test-set sampling
/// (a stratified bootstrap, one stratum per seed; Davison &amp; Hinkley 1997 §3.2). It does not see the training
/// randomness across seeds; <see cref="PairedSeedTest"/> does.</item>
/// </list>
/// Deterministic for a seed (the kit's SplitMix64 stream).
/// </summary>
public static class PairedBootstrap
{
    /// <param name="seeds">One pair of prediction sets per seed.</param>
    /// <param name="metric">The metric, recomputed on every resample.</param>
    /// <param name="resamples">B, the number of resamples (e.g. 1,000; Koehn 2004 uses 1,000).</param>
    /// <param name="randomSeed">Seeds the resampling.</param>
    /// <param name="confidence">Coverage of the percentile interval.</param>
    public static BootstrapResult Run(IReadOnlyList<PairedPredictions> seeds, ExampleMetric metric, int resamples = 1000, ulong randomSeed = 0, double confidence = 0.95)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        ArgumentNullException.ThrowIfNull(metric);
        if (seeds.Count == 0) throw new ArgumentException("paired bootstrap: expected predictions of at least one seed, found none", nameof(seeds));
        if (resamples < 1) throw new ArgumentOutOfRangeException(nameof(resamples), resamples, "expected at least 1 resample");
        foreach (var s in seeds)
            if (s.Count == 0 || s.Variant.Length != s.Count || s.Baseline.Length != s.Count)
                throw new ArgumentException($"paired bootstrap: expected gold, variant and baseline predictions of equal, non-zero length, found {s.Gold.Length}, {s.Variant.Length}, {s.Baseline.Length}", nameof(seeds));
        double sign = metric.HigherIsBetter ? 1 : -1;
        double Difference(PairedPredictions s, int[] rows) => sign * (metric.Compute(s.Gold, s.Variant, rows) - metric.Compute(s.Gold, s.Baseline, rows));

        double observed = seeds.Average(s => Difference(s, Enumerable.Range(0, s.Count).ToArray()));
        var random = new SeededRandom(randomSeed);
        var draws = new double[resamples];
        var buffers = seeds.Select(s => new int[s.Count]).ToArray();
        for (int b = 0; b < resamples; b++)
        {
            double sum = 0;
            for (int k = 0; k < seeds.Count; k++)
            {
                var rows = buffers[k];
                for (int i = 0; i < rows.Length; i++) rows[i] = random.NextInt(rows.Length);
                sum += Difference(seeds[k], rows);
            }
            draws[b] = sum / seeds.Count;
        }
        int extreme = draws.Count(d => Math.Abs(d - observed) >= Math.Abs(observed) - 1e-12);
        double p = observed == 0 ? 1 : (1.0 + extreme) / (resamples + 1.0);
        Array.Sort(draws);
        double alpha = 1 - confidence;
        double mean = draws.Average();
        double se = Math.Sqrt(draws.Sum(d => (d - mean) * (d - mean)) / Math.Max(1, resamples - 1));
        return new BootstrapResult(observed, Quantile(draws, alpha / 2), Quantile(draws, 1 - alpha / 2), se, Math.Min(1, p), resamples, seeds.Count);
    }

    /// <summary>The q-quantile of sorted values, linear between order statistics (Hyndman &amp; Fan 1996, type 7).</summary>
    static double Quantile(double[] sorted, double q)
    {
        double h = (sorted.Length - 1) * q;
        int lo = (int)Math.Floor(h), hi = Math.Min(sorted.Length - 1, lo + 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }
}
