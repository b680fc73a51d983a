using Microsoft.Data.Analysis;

namespace MultiTaskKit.Data;

/// <summary>
/// A dataset card: per split, the example count, the label distribution (classification: share of each label;
/// regression: mean, standard deviation, min and max of the target) and token-length percentiles.
/// </summary>
public static class DatasetCard
{
    /// <summary>
    /// One row per split of <paramref name="task"/>. <paramref name="countTokens"/> measures a text's length; pass the
    /// model's tokenizer for token counts (the default counts whitespace-separated words, and the column says so).
    /// </summary>
    public static DataFrame Build(string task, TaskSplits splits, Func<string, int>? countTokens = null)
    {
        var unit = countTokens is null ? "words" : "tokens";
        countTokens ??= t => t.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        var sets = new[] { splits.Train, splits.Validation, splits.Test };
        var columns = new List<DataFrameColumn>
        {
            new StringDataFrameColumn("task", sets.Select(_ => task)),
            new StringDataFrameColumn("dataset", sets.Select(s => s.Dataset)),
            new StringDataFrameColumn("split", sets.Select(s => s.Split)),
            new Int64DataFrameColumn("count", sets.Select(s => (long)s.Count)),
        };
        if (splits.Train.Examples.All(e => e.Label >= 0))
        {
            for (int l = 0; l < splits.LabelNames.Count; l++)
            {
                int label = l;
                columns.Add(new DoubleDataFrameColumn($"share_{splits.LabelNames[l]}",
                    sets.Select(s => s.Count == 0 ? double.NaN : s.Examples.Count(e => e.Label == label) / (double)s.Count)));
            }
        }
        else if (splits.Train.Examples.All(e => !float.IsNaN(e.Target)))
        {
            columns.Add(new DoubleDataFrameColumn("target_mean", sets.Select(s => s.Examples.Select(e => (double)e.Target).DefaultIfEmpty(double.NaN).Average())));
            columns.Add(new DoubleDataFrameColumn("target_std", sets.Select(s => Std(s.Examples.Select(e => (double)e.Target).ToList()))));
            columns.Add(new DoubleDataFrameColumn("target_min", sets.Select(s => s.Examples.Select(e => (double)e.Target).DefaultIfEmpty(double.NaN).Min())));
            columns.Add(new DoubleDataFrameColumn("target_max", sets.Select(s => s.Examples.Select(e => (double)e.Target).DefaultIfEmpty(double.NaN).Max())));
        }
        var lengths = sets.Select(s => s.Examples.Select(e => (double)countTokens(e.Text)).OrderBy(x => x).ToArray()).ToArray();
        foreach (var p in new[] { 50, 90, 95, 99, 100 })
            columns.Add(new DoubleDataFrameColumn(p == 100 ? $"{unit}_max" : $"{unit}_p{p}", lengths.Select(l => Percentile(l, p))));
        return new DataFrame(columns);
    }

    /// <summary>Linear-interpolation percentile of sorted values (NumPy's default).</summary>
    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0) return double.NaN;
        var pos = p / 100.0 * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    static double Std(List<double> xs)
    {
        if (xs.Count == 0) return double.NaN;
        var m = xs.Average();
        return Math.Sqrt(xs.Sum(x => (x - m) * (x - m)) / xs.Count);
    }
}
