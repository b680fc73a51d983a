using System.Globalization;
using MultiTaskKit.Comparison;

namespace MultiTaskKit.Charts;

/// <summary>
/// The charts of a comparison (<see cref="ComparisonReport"/>): per task, the headline test metric (and Δm's other
/// metrics) of single-task and every variant with each seed as a point and the mean with its t interval; and Δm per
/// variant with each seed and its interval. <see cref="Write"/> puts them on <c>charts/comparison.html</c> in the
/// comparison's folder (plotly.js embedded, offline).
/// </summary>
public static class ComparisonCharts
{
    public const string PageFile = "comparison.html";

    /// <summary>Per task, one panel per metric (the headline first): categories single-task and the variants.</summary>
    public static KitChart TaskMetrics(ComparisonReport report, string title = "Test metrics per task over seeds")
    {
        var panels = new List<IntervalPanel>();
        foreach (var t in report.Tasks)
        {
            var metrics = new[] { t.Headline }.Concat(ComparisonReport.DeltaMMetrics.Where(m => m != t.Headline && t.Baseline.Any(s => s.Metric == m))).Where(m => m.Length > 0).Distinct();
            foreach (var m in metrics)
            {
                var rows = new List<(string Name, MetricSeries? Series)> { ("single-task", t.Baseline.FirstOrDefault(s => s.Metric == m)) };
                rows.AddRange(report.VariantNames.Select(v => (v, t.Variants.GetValueOrDefault(v)?.FirstOrDefault(s => s.Metric == m))));
                var present = rows.Where(r => r.Series is not null).ToList();
                if (present.Count == 0) continue;
                panels.Add(new IntervalPanel($"{t.Task}: {m}", present.Select(r => r.Name).ToArray(),
                    present.Select(r => r.Series!.PerSeed.OrderBy(kv => kv.Key).Select(kv => kv.Value).ToArray()).ToArray(),
                    present.Select(r => r.Series!.Summary.Mean).ToArray(), present.Select(r => Low(r.Series!.Summary)).ToArray(), present.Select(r => High(r.Series!.Summary)).ToArray()));
            }
        }
        if (panels.Count == 0) throw new ArgumentException("comparison chart: no finished single-task or variant run to draw", nameof(report));
        return MtlCharts.Build(new ChartSpec
        {
            Kind = "intervals", Title = $"{title} (points: seeds; diamond and bars: mean and {report.Options.Confidence * 100:0} % t interval)",
            XTitle = "configuration", YTitle = "test value (mse: target units²)", Intervals = panels.ToArray(),
            Width = 980, Height = 380 * ((panels.Count + 1) / 2),
        });
    }

    /// <summary>Δm per variant: each seed's Δm and the mean with its interval; 0 is single-task.</summary>
    public static KitChart DeltaM(ComparisonReport report, string title = "Δm against single-task over seeds")
    {
        var rows = report.DeltaM.Where(d => d.Summary is not null).ToList();
        if (rows.Count == 0) throw new ArgumentException("Δm chart: no variant has a finished seed with all its baselines", nameof(report));
        var panel = new IntervalPanel("Δm", rows.Select(r => r.Variant).ToArray(),
            rows.Select(r => r.PerSeed.OrderBy(kv => kv.Key).Select(kv => kv.Value).ToArray()).ToArray(),
            rows.Select(r => r.Summary!.Mean).ToArray(), rows.Select(r => Low(r.Summary!)).ToArray(), rows.Select(r => High(r.Summary!)).ToArray());
        return MtlCharts.Build(new ChartSpec
        {
            Kind = "intervals", Title = $"{title} (points: seeds; diamond and bars: mean and {report.Options.Confidence * 100:0} % t interval; 0 = single-task)",
            XTitle = "variant", YTitle = "Δm (%)", Intervals = [panel], Width = 980, Height = 420,
        });
    }

    // One seed has no interval: the bar collapses onto the mean (JSON, and so the chart spec, has no NaN).
    static double Low(SeedSummary s) => double.IsFinite(s.Low) ? s.Low : s.Mean;
    static double High(SeedSummary s) => double.IsFinite(s.High) ? s.High : s.Mean;

    /// <summary>Every chart the report supports.</summary>
    public static List<KitChart> Charts(ComparisonReport report)
    {
        var charts = new List<KitChart> { TaskMetrics(report) };
        if (report.DeltaM.Any(d => d.Summary is not null)) charts.Add(DeltaM(report));
        return charts;
    }

    /// <summary>Writes <c>charts/comparison.html</c> under <paramref name="folder"/>; returns its path.</summary>
    public static string Write(string folder, ComparisonReport report) =>
        ChartPage.Write(Path.Combine(folder, RunCharts.Folder, PageFile),
            $"Comparison {Path.GetFileName(Path.GetFullPath(folder))}: seeds {string.Join(", ", report.Seeds.Select(s => s.ToString(CultureInfo.InvariantCulture)))}", Charts(report));
}
