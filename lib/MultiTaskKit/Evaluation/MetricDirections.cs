namespace MultiTaskKit.Evaluation;

/// <summary>
/// Which way is better for a metric, by its snake_case name: the one table the selection score, early stopping, Δm,
/// comparisons and charts all read. A name ending in <c>_loss</c> is lower-is-better; a per-label or per-type figure
/// (<c>f1/PER</c>, <c>recall/LOC</c>) takes the direction of the name before the slash.
/// </summary>
public static class MetricDirections
{
    static readonly HashSet<string> Higher = new(StringComparer.OrdinalIgnoreCase)
    {
        "accuracy", "macro_f1", "micro_f1", "f1", "precision", "recall", "macro_precision", "macro_recall",
        "micro_precision", "micro_recall", "pearson", "spearman", "polarity_accuracy", "r2", "auc", "map",
        "entity_f1", "entity_precision", "entity_recall", "token_accuracy", "subset_accuracy",
    };

    static readonly HashSet<string> Lower = new(StringComparer.OrdinalIgnoreCase)
    {
        "mse", "mae", "rmse", "loss", "error", "cross_entropy", "hamming_loss",
    };

    /// <summary>Every metric name the table knows, higher-is-better first.</summary>
    public static IReadOnlyList<string> Known { get; } = Higher.Concat(Lower).ToArray();

    /// <summary>The direction of <paramref name="metric"/> when the table knows it (or its <c>_loss</c> suffix, or the
    /// name before a slash); false for an unknown name.</summary>
    public static bool TryHigherIsBetter(string metric, out bool higher)
    {
        ArgumentNullException.ThrowIfNull(metric);
        var name = metric.IndexOf('/') is var slash and > 0 ? metric[..slash] : metric;
        if (Higher.Contains(name)) { higher = true; return true; }
        if (Lower.Contains(name) || name.EndsWith("_loss", StringComparison.OrdinalIgnoreCase)) { higher = false; return true; }
        higher = true;
        return false;
    }

    /// <summary>Whether a larger value of <paramref name="metric"/> is better; a name the table does not know counts as
    /// higher-is-better (a user's score), as the selection metric always has.</summary>
    public static bool HigherIsBetter(string metric) => !TryHigherIsBetter(metric, out var higher) || higher;
}
