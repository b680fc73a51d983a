namespace MultiTaskKit.Evaluation;

/// <summary>
/// Multi-label classification at a threshold: a label is predicted when its probability is at least
/// <see cref="Threshold"/>. Micro figures pool every (row, label) decision: P = ΣTP/(ΣTP+ΣFP), R = ΣTP/(ΣTP+ΣFN); macro
/// figures are unweighted means of the per-label ones (0 where a denominator is 0, scikit-learn's
/// <c>zero_division=0</c>). Subset accuracy: rows whose predicted set equals the true set. Hamming loss: the share of
/// wrong (row, label) decisions.
/// </summary>
public sealed record MultiLabelMetrics(long Count, double Threshold, double MicroPrecision, double MicroRecall, double MicroF1,
    double MacroPrecision, double MacroRecall, double MacroF1, double SubsetAccuracy, double HammingLoss, IReadOnlyList<ClassMetrics> PerLabel) : IMetricResult
{
    public IReadOnlyDictionary<string, double> Values
    {
        get
        {
            var v = new Dictionary<string, double>
            {
                ["micro_precision"] = MicroPrecision, ["micro_recall"] = MicroRecall, ["micro_f1"] = MicroF1,
                ["macro_precision"] = MacroPrecision, ["macro_recall"] = MacroRecall, ["macro_f1"] = MacroF1,
                ["subset_accuracy"] = SubsetAccuracy, ["hamming_loss"] = HammingLoss,
            };
            foreach (var c in PerLabel) v[$"f1/{c.Label}"] = c.F1;
            return v;
        }
    }
}

/// <summary>Streaming counts of <see cref="MultiLabelMetrics"/> (true/false positives and false negatives per label).</summary>
public sealed class MultiLabelAccumulator
{
    readonly long[] tp, fp, fn, support;
    long rows, exact, wrong;

    public MultiLabelAccumulator(IReadOnlyList<string> labelNames, double threshold = 0.5)
    {
        if (labelNames.Count < 1) throw new ArgumentException("labelNames: expected at least one label, found none.", nameof(labelNames));
        if (!(threshold > 0 && threshold < 1)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "expected a threshold in (0, 1)");
        LabelNames = labelNames;
        Threshold = threshold;
        tp = new long[labelNames.Count]; fp = new long[labelNames.Count]; fn = new long[labelNames.Count]; support = new long[labelNames.Count];
    }

    public IReadOnlyList<string> LabelNames { get; }
    public double Threshold { get; }

    /// <summary>One row: each label's probability, and the indices of the labels that truly apply.</summary>
    public void Update(ReadOnlySpan<float> probabilities, IReadOnlyCollection<int> actual)
    {
        if (probabilities.Length != LabelNames.Count)
            throw new ArgumentException($"probabilities: expected {LabelNames.Count} (one per label), found {probabilities.Length}.", nameof(probabilities));
        bool same = true;
        for (int j = 0; j < LabelNames.Count; j++)
        {
            bool p = probabilities[j] >= Threshold, a = actual.Contains(j);
            if (a) support[j]++;
            if (p && a) tp[j]++;
            else if (p) { fp[j]++; same = false; wrong++; }
            else if (a) { fn[j]++; same = false; wrong++; }
        }
        rows++;
        if (same) exact++;
    }

    static double Ratio(long a, long b) => b == 0 ? 0 : (double)a / b;
    static double F(double p, double r) => p + r == 0 ? 0 : 2 * p * r / (p + r);

    public MultiLabelMetrics Compute()
    {
        var per = LabelNames.Select((l, j) =>
        {
            double p = Ratio(tp[j], tp[j] + fp[j]), r = Ratio(tp[j], tp[j] + fn[j]);
            return new ClassMetrics(l, p, r, F(p, r), support[j]);
        }).ToList();
        long TP = tp.Sum(), FP = fp.Sum(), FN = fn.Sum();
        double mp = Ratio(TP, TP + FP), mr = Ratio(TP, TP + FN);
        return new MultiLabelMetrics(rows, Threshold, mp, mr, F(mp, mr), per.Average(c => c.Precision), per.Average(c => c.Recall), per.Average(c => c.F1),
            Ratio(exact, rows), Ratio(wrong, rows * LabelNames.Count), per);
    }
}
