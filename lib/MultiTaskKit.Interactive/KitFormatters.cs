using Microsoft.DotNet.Interactive.Formatting;
using MultiTaskKit.Charts;

namespace MultiTaskKit.Interactive;

/// <summary>The kit's HTML formatters. Registered by <see cref="KitExtension"/>; callable directly in other hosts.</summary>
public static class KitFormatters
{
    static readonly object Gate = new();
    static bool registered;
    static bool plotlyEmitted;

    /// <summary>Registers the formatters once per process.</summary>
    public static void Register()
    {
        lock (Gate)
        {
            if (registered) return;
            registered = true;
        }
        Formatter.Register<KitChart>((chart, writer) => writer.Write(ChartHtml(chart)), HtmlFormatter.MimeType);
        Formatter.Register<KitTable>((table, writer) => writer.Write(table.ToHtml()), HtmlFormatter.MimeType);
        Formatter.Register<DatasetCardView>((card, writer) => writer.Write(card.ToHtml()), HtmlFormatter.MimeType);
        Formatter.Register<ProgressView>((view, writer) => writer.Write(view.ToHtml()), HtmlFormatter.MimeType);
        Formatter.Register<ModelDiagram>((diagram, writer) => writer.Write(diagram.ToHtml()), HtmlFormatter.MimeType);
        Formatter.Register<Evaluation.MetricsReport>((r, writer) => writer.Write(KitViews.Metrics(r).ToHtml()), HtmlFormatter.MimeType);
        Formatter.Register<Models.MultiTaskNetwork>((model, writer) =>
        {
            writer.Write(KitViews.ModelSummary(model).ToHtml());
            if (KitViews.Mixing(model) is { } mixing) writer.Write(mixing.ToHtml());
        }, HtmlFormatter.MimeType);
        Formatter.Register<Weighting.WeightingMethod>((w, writer) => writer.Write(KitViews.Strategy(w).ToHtml()), HtmlFormatter.MimeType);
        Formatter.Register<Aggregation.GramianAggregator>((a, writer) => writer.Write(KitViews.Strategy(a).ToHtml()), HtmlFormatter.MimeType);
        foreach (var t in new[] { typeof(KitChart), typeof(KitTable), typeof(DatasetCardView), typeof(ProgressView), typeof(ModelDiagram), typeof(Models.MultiTaskNetwork), typeof(Models.MultiTaskModel), typeof(Models.CrossStitchNetwork), typeof(Evaluation.MetricsReport),
                     typeof(Weighting.WeightingMethod), typeof(Aggregation.GramianAggregator) })
            Formatter.SetPreferredMimeTypesFor(t, HtmlFormatter.MimeType);
    }

    /// <summary>
    /// Starts a new page: the next chart carries plotly.js again. Hosts that run several notebooks in one process
    /// (mtk notebook run) call it per notebook.
    /// </summary>
    public static void NewPage()
    {
        lock (Gate) plotlyEmitted = false;
    }

    /// <summary>
    /// The chart's HTML for a notebook output. The first chart of the kernel session carries plotly.js (inline, so it
    /// renders offline); later charts draw with the page's <c>window.Plotly</c>, so plotly.js is in the notebook once.
    /// </summary>
    public static string ChartHtml(KitChart chart)
    {
        bool first;
        lock (Gate) { first = !plotlyEmitted; plotlyEmitted = true; }
        return first ? ChartPage.PlotlyScriptTag() + "\n" + chart.ToHtmlFragment() : chart.ToHtmlFragment();
    }
}
