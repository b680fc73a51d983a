namespace MultiTaskKit.Evaluation;

/// <summary>A metric result that can be listed as snake_case name/value pairs (for history.csv, metrics.json, DataFrames).</summary>
public interface IMetricResult
{
    /// <summary>Rows scored.</summary>
    long Count { get; }

    /// <summary>Headline metrics by snake_case name, e.g. <c>accuracy</c>, <c>macro_f1</c>, <c>pearson</c>.</summary>
    IReadOnlyDictionary<string, double> Values { get; }
}

/// <summary>Precision, recall and F1 of one class, with its support (rows whose true label is this class).</summary>
public sealed record ClassMetrics(string Label, double Precision, double Recall, double F1, long Support);

/// <summary>
/// Classification metrics from a confusion matrix. Precision = TP/(TP+FP), recall = TP/(TP+FN), F1 = 2PR/(P+R); a
/// class with a zero denominator scores 0 (scikit-learn's <c>zero_division=0</c>). Macro figures are unweighted means
/// over classes. <see cref="MacroRecall"/> is TweetEval's sentiment score (Barbieri et al. 2020).
/// </summary>
public sealed record ClassificationMetrics(
    long Count,
    double Accuracy,
    double MacroPrecision,
    double MacroRecall,
    double MacroF1,
    IReadOnlyList<ClassMetrics> PerClass,
    long[][] ConfusionMatrix) : IMetricResult
{
    /// <summary>Label names, index order (also the confusion matrix's row and column order: rows true, columns predicted).</summary>
    public IReadOnlyList<string> LabelNames => PerClass.Select(c => c.Label).ToList();

    public IReadOnlyDictionary<string, double> Values => new Dictionary<string, double>
    {
        ["accuracy"] = Accuracy,
        ["macro_precision"] = MacroPrecision,
        ["macro_recall"] = MacroRecall,
        ["macro_f1"] = MacroF1,
    };
}

/// <summary>Streaming accumulator of a confusion matrix: holds counts only, so evaluation memory does not grow with the data.</summary>
public sealed class ClassificationAccumulator
{
    readonly long[,] confusion;

    public ClassificationAccumulator(IReadOnlyList<string> labelNames)
    {
        if (labelNames.Count < 2) throw new ArgumentException($"labelNames: expected at least 2 classes, found {labelNames.Count}.", nameof(labelNames));
        LabelNames = labelNames;
        confusion = new long[labelNames.Count, labelNames.Count];
    }

    public IReadOnlyList<string> LabelNames { get; }
    public int Classes => LabelNames.Count;
    public long Count { get; private set; }

    public void Update(int predicted, int actual)
    {
        if ((uint)actual >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(actual), actual, $"expected a label in 0..{Classes - 1}");
        if ((uint)predicted >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(predicted), predicted, $"expected a prediction in 0..{Classes - 1}");
        confusion[actual, predicted]++;
        Count++;
    }

    public void Update(ReadOnlySpan<int> predicted, ReadOnlySpan<int> actual)
    {
        if (predicted.Length != actual.Length)
            throw new ArgumentException($"predicted: expected as many predictions as labels ({actual.Length}), found {predicted.Length}.", nameof(predicted));
        for (int i = 0; i < predicted.Length; i++) Update(predicted[i], actual[i]);
    }

    /// <summary>Updates from row-major scores ([rows, classes]: logits or probabilities); the prediction is the arg-max.</summary>
    public void UpdateFromScores(ReadOnlySpan<float> scores, ReadOnlySpan<int> actual)
    {
        if (scores.Length != actual.Length * Classes)
            throw new ArgumentException($"scores: expected {actual.Length}×{Classes} values, found {scores.Length}.", nameof(scores));
        for (int i = 0; i < actual.Length; i++) Update(ArgMax(scores.Slice(i * Classes, Classes)), actual[i]);
    }

    public static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
        return best;
    }

    public void Reset() { Array.Clear(confusion); Count = 0; }

    public ClassificationMetrics Compute()
    {
        int k = Classes;
        var matrix = new long[k][];
        long correct = 0;
        var perClass = new List<ClassMetrics>(k);
        for (int c = 0; c < k; c++)
        {
            matrix[c] = new long[k];
            for (int p = 0; p < k; p++) matrix[c][p] = confusion[c, p];
            correct += confusion[c, c];
        }
        for (int c = 0; c < k; c++)
        {
            long tp = confusion[c, c], support = 0, predicted = 0;
            for (int j = 0; j < k; j++) { support += confusion[c, j]; predicted += confusion[j, c]; }
            double precision = predicted == 0 ? 0 : (double)tp / predicted;
            double recall = support == 0 ? 0 : (double)tp / support;
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            perClass.Add(new ClassMetrics(LabelNames[c], precision, recall, f1, support));
        }
        return new ClassificationMetrics(
            Count,
            Count == 0 ? double.NaN : (double)correct / Count,
            perClass.Average(c => c.Precision),
            perClass.Average(c => c.Recall),
            perClass.Average(c => c.F1),
            perClass,
            matrix);
    }
}
