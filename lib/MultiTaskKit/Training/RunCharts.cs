using MultiTaskKit.Charts;
using MultiTaskKit.Evaluation;

namespace MultiTaskKit.Training;

/// <summary>
/// The run folder's standalone HTML charts page, <c>charts/training.html</c>: the charts of
/// <see cref="RunChartsWriter"/> (loss curves, validation metrics, task weights, gradient cosines and conflicts, a confusion
/// matrix per classification task); charts whose rows the history lacks are left out.
/// </summary>
public static class RunCharts
{
    public const string Folder = "charts";
    public const string PageFile = "training.html";

    /// <summary>The default writer the trainer and the CLI use; set to null to skip charts.</summary>
    public static Action<string, RunHistory, MetricsReport>? Writer { get; set; } = (dir, history, test) => Write(dir, history, test);

    /// <summary>Writes <c>charts/training.html</c>: every chart of <see cref="RunChartsWriter.Charts(RunHistory, MetricsReport?)"/>, plotly.js embedded once.</summary>
    public static string Write(string runDir, RunHistory history, MetricsReport test) =>
        ChartPage.Write(Path.Combine(runDir, Folder, PageFile), $"Run {Path.GetFileName(Path.GetFullPath(runDir))}", RunChartsWriter.Charts(history, test));
}
