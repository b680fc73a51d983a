using MathNet.Numerics.Statistics;
using MultiTaskKit.Evaluation;

namespace MultiTaskKit.Comparison;

/// <summary>
/// A test metric recomputed from per-example predictions (<see cref="TestPredictions"/>) on any multiset of rows, as a
/// bootstrap needs: <c>accuracy</c>, <c>macro_f1</c> (unweighted mean over the classes present in gold or prediction,
/// a class with a zero denominator scoring 0, as scikit-learn's <c>zero_division=0</c>), <c>pearson</c>,
/// <c>spearman</c> (average ranks for ties; MathNet.Numerics' correlations), <c>mse</c> and <c>mae</c>.
/// </summary>
public sealed class ExampleMetric
{
    readonly Func<double[], double[], int[], double> compute;

    ExampleMetric(string name, bool higherIsBetter, Func<double[], double[], int[], double> compute)
    {
        Name = name;
        HigherIsBetter = higherIsBetter;
        this.compute = compute;
    }

    public string Name { get; }
    public bool HigherIsBetter { get; }

    /// <summary>The metrics this class can recompute per example.</summary>
    public static readonly IReadOnlyList<string> Names = ["accuracy", "macro_f1", "pearson", "spearman", "mse", "mae"];

    /// <summary>The metric called <paramref name="name"/>, or null when it cannot be recomputed from per-example predictions.</summary>
    public static ExampleMetric? Find(string name) => name switch
    {
        "accuracy" => new(name, true, (g, p, rows) => rows.Count(i => g[i] == p[i]) / (double)rows.Length),
        "macro_f1" => new(name, true, MacroF1),
        "pearson" => new(name, true, (g, p, rows) => Correlation.Pearson(rows.Select(i => g[i]), rows.Select(i => p[i]))),
        "spearman" => new(name, true, (g, p, rows) => Correlation.Spearman(rows.Select(i => g[i]), rows.Select(i => p[i]))),
        "mse" => new(name, false, (g, p, rows) => rows.Average(i => (p[i] - g[i]) * (p[i] - g[i]))),
        "mae" => new(name, false, (g, p, rows) => rows.Average(i => Math.Abs(p[i] - g[i]))),
        _ => null,
    };

    /// <summary>The metric on the rows <paramref name="rows"/> (indices into <paramref name="gold"/>, repeats allowed).</summary>
    public double Compute(double[] gold, double[] predicted, int[] rows) => compute(gold, predicted, rows);

    /// <summary>The metric on every row.</summary>
    public double Compute(double[] gold, double[] predicted) => compute(gold, predicted, Enumerable.Range(0, gold.Length).ToArray());

    static double MacroF1(double[] gold, double[] predicted, int[] rows)
    {
        var classes = new SortedSet<int>();
        foreach (var i in rows) { classes.Add((int)gold[i]); classes.Add((int)predicted[i]); }
        double sum = 0;
        foreach (var c in classes)
        {
            int tp = 0, fp = 0, fn = 0;
            foreach (var i in rows)
            {
                bool g = (int)gold[i] == c, p = (int)predicted[i] == c;
                if (g && p) tp++;
                else if (p) fp++;
                else if (g) fn++;
            }
            sum += 2 * tp + fp + fn == 0 ? 0 : 2.0 * tp / (2 * tp + fp + fn);
        }
        return classes.Count == 0 ? 0 : sum / classes.Count;
    }
}
