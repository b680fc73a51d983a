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
/// The run folder's standalone HTML charts page, <c>charts/training.html</c>: the charts of
/// <see cref="RunChartsWriter"/> (loss curves, validation metrics, task weights, gradient cosines and conflicts, a confusion
/// matrix per classification task); charts whose rows the history lacks are left out. Hosts that want the page pass
/// <see cref="Write"/> as the trainer's <see cref="Trainer.WriteCharts"/> (the trainer itself draws nothing).
/// </summary>
public static class RunCharts
{
    public const string Folder = "charts";
    public const string PageFile = "training.html";

    /// <summary>Writes <c>charts/training.html</c>: every chart of <see cref="RunChartsWriter.Charts(RunHistory, MetricsReport?)"/>, plotly.js embedded once.</summary>
    public static string Write(string runDir, RunHistory history, MetricsReport test)
    {
        var folder = IO.AtomicFile.CreateFolder(Path.Combine(runDir, Folder));
        return ChartPage.Write(Path.Combine(folder, PageFile), $"Run {Path.GetFileName(Path.GetFullPath(runDir))}", RunChartsWriter.Charts(history, test));
    }
}
