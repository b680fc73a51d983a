using MultiTaskKit.Charts;
using MultiTaskKit.Evaluation;

namespace MultiTaskKit.Training;

/// <summary>
/// The run folder's standalone HTML charts, drawn by the Charts folder (Plotly.NET): <c>charts/training.html</c> with
/// the loss curves, validation metrics, task weights, gradient cosines and conflict heat map, and a confusion matrix per
/// classification task. A chart whose rows the history lacks (no gradient cosines for a single task) is left out and
/// named on the page.
/// </summary>
public static class RunCharts
{
    public const string Folder = "charts";
    public const string PageFile = "training.html";

    /// <summary>The default writer the trainer and the CLI use; set to null to skip charts.</summary>
    public static Action<string, RunHistory, MetricsReport>? Writer { get; set; } = Write;

    public static void Write(string runDir, RunHistory history, MetricsReport test)
    {
        var points = history.Rows.Select(r => new HistoryPoint(r.Step, r.Epoch, r.Kind, r.Task, r.Metric, r.Value)).ToList();
        var blocks = new List<ChartPage.Block>();
        void Add(Func<KitChart> chart, string what)
        {
            try { blocks.Add(ChartPage.Block.Of(chart())); }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException) { blocks.Add(ChartPage.Block.Text($"{what}: not drawn ({e.Message})")); }
        }
        Add(() => MtlCharts.LossCurves(points), "loss curves");
        Add(() => MtlCharts.MetricCurves(points), "validation metrics");
        Add(() => MtlCharts.TaskWeights(points), "task weights");
        Add(() => MtlCharts.GradientCosine(points), "gradient cosines");
        Add(() => MtlCharts.ConflictHeatmap(points), "gradient conflict heat map");
        foreach (var t in test.Tasks)
            if (t.Metrics is ClassificationMetrics c)
            {
                int n = c.ConfusionMatrix.Length;
                var counts = new int[n, n];
                for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) counts[i, j] = (int)c.ConfusionMatrix[i][j];
                Add(() => MtlCharts.ConfusionMatrix(c.LabelNames, counts, $"{t.Task}: confusion matrix on {t.Split} (n = {t.Count})"), $"{t.Task} confusion matrix");
            }
        Directory.CreateDirectory(Path.Combine(runDir, Folder));
        ChartPage.Write(Path.Combine(runDir, Folder, PageFile), "Training run", blocks);
    }
}
