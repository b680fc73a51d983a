using MultiTaskKit.Evaluation;
using MultiTaskKit.Training;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Charts;

/// <summary>
/// The charts of a trainer run: loss curves, validation metrics, task weights, gradient cosines and conflicts, and a
/// confusion matrix per classification task, from the run's <see cref="RunHistory"/> and test <see cref="MetricsReport"/>.
/// Notebook 02 and its script draw a run's charts with it; <see cref="RunCharts.Write"/> puts them on the run folder's page.
/// </summary>
public static class RunChartsWriter
{
    /// <summary>The trainer's history rows as <see cref="HistoryPoint"/>s (the same columns as history.csv).</summary>
    public static List<HistoryPoint> Points(RunHistory history) =>
        history.Rows.Select(r => new HistoryPoint(r.Step, r.Epoch, r.Kind, r.Task, r.Metric, r.Value)).ToList();

    /// <summary>Every chart the history and report support, in reading order.</summary>
    public static List<KitChart> Charts(RunHistory history, MetricsReport? test = null) => Charts(Points(history), test);

    /// <summary>Every chart the history and report support, in reading order.</summary>
    public static List<KitChart> Charts(IReadOnlyList<HistoryPoint> points, MetricsReport? test = null)
    {
        var charts = new List<KitChart>();
        var tasks = points.Where(p => p.Metric == "loss" && p.Kind == HistoryPoint.Train && p.Task is not ("all" or "") && !p.Task.Contains('|')).Select(p => p.Task).Distinct().ToList();
        if (tasks.Count > 0)
            charts.Add(MtlCharts.LossCurves(points.Where(p => p.Task != "all"), tasks.ToDictionary(t => t, t => LossUnit(points, t))));
        if (points.Any(p => p.Kind == HistoryPoint.Eval && p.Metric is not ("loss" or "selection_score") && p.Task != "all"))
            charts.Add(MtlCharts.MetricCurves(points.Where(p => p.Task != "all" && p.Metric != "selection_score")));
        if (points.Any(p => p.Metric == "weight")) charts.Add(MtlCharts.TaskWeights(points));
        if (points.Any(p => p.Kind == "mixing")) charts.Add(MtlCharts.LearnedMixing(points));
        if (points.Any(p => p.Metric == "grad_cosine"))
        {
            charts.Add(MtlCharts.GradientCosine(points));
            charts.Add(MtlCharts.ConflictHeatmap(points));
        }
        foreach (var t in test?.Tasks ?? [])
            if (t.Metrics.BuiltIn() is ClassificationMetrics cm)
                charts.Add(ConfusionMatrix(cm, $"Confusion matrix: {t.Task} ({t.Dataset}, {t.Split}, {t.Count} examples)"));
        return charts;
    }

    /// <summary>A confusion matrix chart from the evaluator's metrics.</summary>
    public static KitChart ConfusionMatrix(ClassificationMetrics metrics, string title)
    {
        var labels = metrics.LabelNames;
        var counts = new int[labels.Count, labels.Count];
        for (int r = 0; r < labels.Count; r++)
            for (int c = 0; c < labels.Count; c++) counts[r, c] = checked((int)metrics.ConfusionMatrix[r][c]);
        return MtlCharts.ConfusionMatrix(labels, counts, title);
    }


    // Regression tasks log validation mse, which is their training loss on held-out data; classification tasks log
    // accuracy-type metrics only, so their panel shows the training loss (cross-entropy).
    static string LossUnit(IReadOnlyList<HistoryPoint> points, string task) =>
        points.Any(p => p.Task == task && p.Kind == HistoryPoint.Eval && p.Metric == "mse") ? "MSE, squared target units" : "cross-entropy, nats";
}
