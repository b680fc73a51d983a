using MultiTaskKit.Evaluation;

namespace MultiTaskKit.Training;

/// <summary>
/// CHARTS HOOK. The run folder's standalone HTML charts (loss curves, task weights, gradient cosines, metrics) are drawn by
/// the Charts folder (Plotly.NET), which is not part of this branch yet. When it lands, set <see cref="Writer"/> to its
/// entry point (or call it here); until then no chart files are written and the trainer says so in its log.
/// </summary>
public static class RunCharts
{
    /// <summary>Called with (run folder, history, test report) at the end of a run; null means no charts.</summary>
    public static Action<string, RunHistory, MetricsReport>? Writer { get; set; }
}
