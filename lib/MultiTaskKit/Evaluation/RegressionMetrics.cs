namespace MultiTaskKit.Evaluation;

/// <summary>
/// Regression metrics. MSE = mean (ŷ−y)², MAE = mean |ŷ−y|, Pearson's r from the co-moments, Spearman's ρ = Pearson's r
/// of the ranks (ties get their average rank), and polarity accuracy = share of rows with sign(ŷ) = sign(y), leaving
/// out rows whose target is exactly 0 (<see cref="PolarityCount"/> rows counted). Undefined correlations are NaN.
/// </summary>
public sealed record RegressionMetrics(
    long Count,
    double Mse,
    double Mae,
    double Pearson,
    double Spearman,
    double PolarityAccuracy,
    long PolarityCount) : IMetricResult
{
    public double Rmse => Math.Sqrt(Mse);

    public IReadOnlyDictionary<string, double> Values => new Dictionary<string, double>
    {
        ["mse"] = Mse,
        ["mae"] = Mae,
        ["pearson"] = Pearson,
        ["spearman"] = Spearman,
        ["polarity_accuracy"] = PolarityAccuracy,
    };
}

/// <summary>
/// Streaming accumulator for regression metrics. MSE, MAE, Pearson and polarity use running scalars (Welford-style
/// co-moments, numerically stable); Spearman needs ranks, so the (prediction, target) pairs are kept as doubles.
/// </summary>
public sealed class RegressionAccumulator
{
    readonly List<(double Prediction, double Target)> pairs = [];
    long n, polarityN, polarityHits;
    double sumSq, sumAbs, meanP, meanT, cPT, m2P, m2T;

    public long Count => n;

    public void Update(double prediction, double target)
    {
        if (!double.IsFinite(target)) throw new ArgumentOutOfRangeException(nameof(target), target, "expected a finite target");
        n++;
        var e = prediction - target;
        sumSq += e * e;
        sumAbs += Math.Abs(e);
        var dP = prediction - meanP;
        meanP += dP / n;
        var dT = target - meanT;
        meanT += dT / n;
        cPT += dP * (target - meanT);
        m2P += dP * (prediction - meanP);
        m2T += dT * (target - meanT);
        if (target != 0)
        {
            polarityN++;
            if (Math.Sign(prediction) == Math.Sign(target)) polarityHits++;
        }
        pairs.Add((prediction, target));
    }

    public void Update(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets)
    {
        if (predictions.Length != targets.Length)
            throw new ArgumentException($"predictions: expected as many predictions as targets ({targets.Length}), found {predictions.Length}.", nameof(predictions));
        for (int i = 0; i < predictions.Length; i++) Update(predictions[i], targets[i]);
    }

    public void Reset()
    {
        pairs.Clear();
        n = polarityN = polarityHits = 0;
        sumSq = sumAbs = meanP = meanT = cPT = m2P = m2T = 0;
    }

    public RegressionMetrics Compute()
    {
        if (n == 0) return new RegressionMetrics(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, 0);
        double pearson = m2P > 0 && m2T > 0 ? cPT / Math.Sqrt(m2P * m2T) : double.NaN;
        var rp = Ranks(pairs.Select(p => p.Prediction).ToArray());
        var rt = Ranks(pairs.Select(p => p.Target).ToArray());
        return new RegressionMetrics(n, sumSq / n, sumAbs / n, pearson, Pearson(rp, rt),
            polarityN == 0 ? double.NaN : (double)polarityHits / polarityN, polarityN);
    }

    /// <summary>1-based ranks, ties given the mean of the ranks they span.</summary>
    public static double[] Ranks(double[] values)
    {
        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Length];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && values[order[j + 1]] == values[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) ranks[order[k]] = rank;
            i = j + 1;
        }
        return ranks;
    }

    static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx > 0 && syy > 0 ? sxy / Math.Sqrt(sxx * syy) : double.NaN;
    }
}
