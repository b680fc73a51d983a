namespace MultiTaskKit.Charts;

/// <summary>One model or method in a comparison: its per-task metrics and, where baselines ran, Δm in percent (+2 = 2 % better).</summary>
/// <param name="Name">e.g. "single-task", "hard sharing", "split at 2", "PCGrad".</param>
/// <param name="Metrics">Metric label → value, e.g. "imdb accuracy" → 0.91. Every result should have the same keys.</param>
/// <param name="DeltaM">Δm in percent against the single-task baselines (<see cref="Evaluation.DeltaM"/>); null when not computed.</param>
public sealed record MethodResult(string Name, IReadOnlyDictionary<string, double> Metrics, double? DeltaM = null);

/// <summary>
/// The kit's charts, built by Plotly.NET (in an isolated load context, see <see cref="PlotlyHost"/>). Every chart has a
/// title and axis titles with units; display it in a notebook, or save it with <see cref="KitChart.SaveHtml"/> / <see cref="KitChart.SavePng"/>.
/// </summary>
public static class MtlCharts
{
    /// <summary>Most points drawn per line; longer histories are averaged in equal step windows (keeps pages small).</summary>
    public const int MaxPointsPerLine = 400;

    /// <summary>
    /// Training and validation loss per task against the step, one panel per task (the article's section 5.4 plots).
    /// Reads <c>train</c> and <c>eval</c> rows whose metric is <c>loss</c>.
    /// </summary>
    /// <param name="history">The run's history.</param>
    /// <param name="lossUnits">Task → what its loss is (e.g. "cross-entropy, nats", "MSE, rating²"); default "loss".</param>
    /// <param name="title">Chart title.</param>
    public static KitChart LossCurves(IEnumerable<HistoryPoint> history, IReadOnlyDictionary<string, string>? lossUnits = null, string title = "Training and validation loss per task")
    {
        var rows = history.Where(p => p.Metric == "loss" && p.Task.Length > 0 && !p.Task.Contains('|')).ToList();
        var tasks = Tasks(rows, "no 'loss' rows for any task");
        // Validation loss: eval rows named "loss", else (the trainer's regression tasks) the validation MSE, which is
        // the same quantity as an MSE task's training loss.
        var all = history as IReadOnlyList<HistoryPoint> ?? history.ToList();
        var panels = tasks.Select(t =>
        {
            var val = rows.Where(p => p.Task == t && p.Kind == HistoryPoint.Eval).ToList();
            if (val.Count == 0) val = all.Where(p => p.Task == t && p.Kind == HistoryPoint.Eval && p.Metric == "mse").ToList();
            var train = Line("train (raw)", rows.Where(p => p.Task == t && p.Kind == HistoryPoint.Train));
            return new[] { train, Smoothed(train, "train"), Line("validation", val) }.Where(s => s.X.Length > 0).ToArray();
        }).ToArray();
        var units = tasks.Select(t => lossUnits != null && lossUnits.TryGetValue(t, out var u) ? u : "loss").ToArray();
        return Build(new ChartSpec
        {
            Kind = "grid-lines", Title = title, XTitle = "optimiser step", YTitle = "loss",
            Panels = panels, Faint = ["train (raw)"], PanelTitles = tasks.Select((t, i) => $"{t}: loss ({units[i]})").ToArray(),
            Width = 980, Height = 380 * ((tasks.Length + 1) / 2),
        });
    }

    /// <summary>Validation metrics per task against the step (every <c>eval</c> row except loss), one panel per task.</summary>
    public static KitChart MetricCurves(IEnumerable<HistoryPoint> history, string title = "Validation metrics per task")
    {
        var rows = history.Where(p => p.Kind == HistoryPoint.Eval && p.Metric != "loss" && p.Task.Length > 0 && !p.Task.Contains('|')).ToList();
        var tasks = Tasks(rows, "no 'eval' metric rows other than loss");
        var panels = tasks.Select(t => rows.Where(p => p.Task == t).GroupBy(p => p.Metric)
            .Select(g => Line(g.Key, g)).ToArray()).ToArray();
        return Build(new ChartSpec
        {
            Kind = "grid-lines", Title = title, XTitle = "optimiser step", YTitle = "metric value (unitless)",
            Panels = panels, PanelTitles = tasks.Select(t => $"{t}: validation metrics").ToArray(), Markers = true,
            Width = 980, Height = 380 * ((tasks.Length + 1) / 2),
        });
    }

    /// <summary>Task weights wᵢ against the step (<c>train</c> rows with metric <c>weight</c>).</summary>
    public static KitChart TaskWeights(IEnumerable<HistoryPoint> history, string title = "Task weights over training")
    {
        var rows = history.Where(p => p.Kind == HistoryPoint.Train && p.Metric == "weight").ToList();
        var tasks = Tasks(rows, "no 'weight' rows");
        return Build(new ChartSpec
        {
            Kind = "lines", Title = title, XTitle = "optimiser step", YTitle = "task weight wᵢ (unitless)",
            Panels = [tasks.Select(t => Line(t, rows.Where(p => p.Task == t))).ToArray()],
        });
    }

    /// <summary>
    /// The architecture's learned mixing over training (<c>mixing</c> rows, written by the trainer every
    /// <c>mixing_every</c> steps): one panel per mixing unit and reader, one line per source. MMoE and PLE: gate usage per
    /// task (the mean gate weight of each expert); cross-stitch: each row of α; task attention: attention per layer.
    /// </summary>
    public static KitChart LearnedMixing(IEnumerable<HistoryPoint> history, string title = "Learned mixing over training")
    {
        var rows = history.Where(p => p.Kind == "mixing" && p.Metric.Contains('/')).ToList();
        if (rows.Count == 0) throw new ArgumentException("history: no 'mixing' rows (the architecture mixes nothing, or mixing_every is 0).");
        static string Unit(HistoryPoint p) => p.Metric[..p.Metric.LastIndexOf('/')];
        static string Source(HistoryPoint p) => p.Metric[(p.Metric.LastIndexOf('/') + 1)..];
        var panels = rows.GroupBy(p => (Unit: Unit(p), p.Task)).ToList();
        return Build(new ChartSpec
        {
            Kind = "grid-lines", Title = title, XTitle = "optimiser step", YTitle = "mixing weight (unitless)",
            Panels = panels.Select(g => g.GroupBy(Source).Select(s => Line(s.Key, s)).ToArray()).ToArray(),
            PanelTitles = panels.Select(g => $"{g.Key.Unit}: {g.Key.Task} reads").ToArray(),
            Width = 980, Height = 380 * ((panels.Count + 1) / 2),
        });
    }

    /// <summary>
    /// Cosine similarity of each pair of task gradients on the shared parameters against the step (<c>train</c> rows
    /// with metric <c>grad_cosine</c> and task <c>a|b</c>). Below zero the tasks pull the shared weights apart.
    /// </summary>
    public static KitChart GradientCosine(IEnumerable<HistoryPoint> history, string title = "Task-gradient cosine similarity on the shared parameters")
    {
        var rows = history.Where(p => p.Metric == "grad_cosine" && p.Task.Contains('|')).ToList();
        var pairs = Tasks(rows, "no 'grad_cosine' rows for a task pair 'a|b'");
        return Build(new ChartSpec
        {
            Kind = "lines", Title = title, XTitle = "optimiser step", YTitle = "cos(gᵢ, gⱼ) (unitless, −1…1)",
            Panels = [pairs.Select(t => Line(t.Replace("|", " vs "), rows.Where(p => p.Task == t))).ToArray()],
        });
    }

    /// <summary>
    /// Heat map of gradient conflict: rows are task pairs, columns are windows of the steps that have task gradients, each cell the
    /// mean cosine in that window (red = conflict, blue = agreement).
    /// </summary>
    public static KitChart ConflictHeatmap(IEnumerable<HistoryPoint> history, int windows = 20, string title = "Gradient conflict over training (mean cosine per window)")
    {
        if (windows < 1) throw new ArgumentOutOfRangeException(nameof(windows), windows, "expected at least one window");
        var rows = history.Where(p => p.Metric == "grad_cosine" && p.Task.Contains('|')).ToList();
        var pairs = Tasks(rows, "no 'grad_cosine' rows for a task pair 'a|b'");
        // Windows are consecutive runs of the sampled steps (the trainer samples task gradients every N steps), so
        // none is empty; a window a pair has no sample in is left out, since JSON (and the chart) has no NaN.
        var steps = rows.Select(p => p.Step).Distinct().Order().ToArray();
        windows = Math.Min(windows, steps.Length);
        var rank = steps.Select((step, i) => (step, i)).ToDictionary(x => x.step, x => x.i);
        int Window(long step) => (int)((long)rank[step] * windows / steps.Length);
        var sums = pairs.Select(_ => new double[windows]).ToArray();
        var counts = pairs.Select(_ => new int[windows]).ToArray();
        for (int k = 0; k < pairs.Length; k++)
            foreach (var p in rows.Where(r => r.Task == pairs[k]))
            {
                int w = Window(p.Step);
                sums[k][w] += p.Value; counts[k][w]++;
            }
        var kept = Enumerable.Range(0, windows).Where(w => counts.All(c => c[w] > 0)).ToArray();
        var cells = pairs.Select((_, k) => kept.Select(w => sums[k][w] / counts[k][w]).ToArray()).ToArray();
        var labels = kept.Select(w =>
        {
            var inWindow = steps.Where(step => Window(step) == w).ToArray();
            return inWindow[0] == inWindow[^1] ? $"{inWindow[0]}" : $"{inWindow[0]}–{inWindow[^1]}";
        }).ToArray();
        return Build(new ChartSpec
        {
            Kind = "heatmap", Title = title, XTitle = "optimiser steps (window)", YTitle = "task pair", ZTitle = "mean cosine",
            RowLabels = pairs.Select(p => p.Replace("|", " vs ")).ToArray(), ColumnLabels = labels, Cells = cells, Diverging = true,
            Height = Math.Max(300, 120 + 60 * pairs.Length), Width = 980,
        });
    }

    /// <summary>A confusion matrix: rows are true labels, columns predicted labels, cells counts (or row fractions).</summary>
    public static KitChart ConfusionMatrix(IReadOnlyList<string> labels, int[,] counts, string title = "Confusion matrix", bool normalizeRows = false)
    {
        int n = labels.Count;
        if (counts.GetLength(0) != n || counts.GetLength(1) != n)
            throw new ArgumentException($"confusion matrix: expected {n}×{n} counts for {n} labels, found {counts.GetLength(0)}×{counts.GetLength(1)}.", nameof(counts));
        var cells = new double[n][]; var text = new string[n][];
        for (int r = 0; r < n; r++)
        {
            double rowSum = Enumerable.Range(0, n).Sum(c => (double)counts[r, c]);
            cells[r] = new double[n]; text[r] = new string[n];
            for (int c = 0; c < n; c++)
            {
                cells[r][c] = normalizeRows ? (rowSum == 0 ? 0 : counts[r, c] / rowSum) : counts[r, c];
                text[r][c] = normalizeRows ? $"{cells[r][c]:P1} ({counts[r, c]})" : counts[r, c].ToString();
            }
        }
        return Build(new ChartSpec
        {
            Kind = "heatmap", Title = title, XTitle = "predicted label", YTitle = "true label",
            ZTitle = normalizeRows ? "fraction of true label" : "count (examples)",
            RowLabels = labels.ToArray(), ColumnLabels = labels.ToArray(), Cells = cells, CellText = text,
            Width = 200 + 90 * n, Height = 160 + 80 * n,
        });
    }

    /// <summary>Grouped bars: one group of bars per metric, one bar per model/method.</summary>
    public static KitChart Comparison(IEnumerable<MethodResult> results, string title = "Per-task test metrics", string yTitle = "metric value (unitless)")
    {
        var list = results.ToList();
        if (list.Count == 0) throw new ArgumentException("comparison: expected at least one result, found none", nameof(results));
        var keys = list.SelectMany(r => r.Metrics.Keys).Distinct().ToArray();
        return Build(new ChartSpec
        {
            Kind = "bars", Title = title, XTitle = "task metric", YTitle = yTitle, Categories = keys,
            Groups = list.Select(r => new BarGroup(r.Name, keys.Select(k => r.Metrics.TryGetValue(k, out var v) ? v : double.NaN).ToArray())).ToArray(),
            Width = Math.Max(700, 160 * keys.Length + 40 * list.Count),
        });
    }

    /// <summary>Δm per model/method, in percent (above zero: better than the single-task baselines on average).</summary>
    public static KitChart DeltaM(IEnumerable<MethodResult> results, string title = "Δm against single-task baselines")
    {
        var list = results.Where(r => r.DeltaM.HasValue).ToList();
        if (list.Count == 0) throw new ArgumentException("Δm chart: expected results with DeltaM set, found none", nameof(results));
        return Build(new ChartSpec
        {
            Kind = "bars", Title = title, XTitle = "model / method", YTitle = "Δm (%)",
            Categories = list.Select(r => r.Name).ToArray(), Groups = [new BarGroup("Δm", list.Select(r => r.DeltaM!.Value).ToArray())],
        });
    }

    /// <summary>A loss surface as contours with optimisation paths drawn over it (synthetic problems).</summary>
    public static KitChart LossSurface(double[] x, double[] y, double[,] z, IEnumerable<Series> paths, string xTitle, string yTitle, string zTitle = "loss", string title = "Loss surface")
    {
        if (z.GetLength(0) != y.Length || z.GetLength(1) != x.Length)
            throw new ArgumentException($"loss surface: expected z of shape [{y.Length}, {x.Length}] (rows = y, columns = x), found [{z.GetLength(0)}, {z.GetLength(1)}].", nameof(z));
        var rows = Enumerable.Range(0, y.Length).Select(r => Enumerable.Range(0, x.Length).Select(c => z[r, c]).ToArray()).ToArray();
        return Build(new ChartSpec
        {
            Kind = "surface", Title = title, XTitle = xTitle, YTitle = yTitle, ZTitle = zTitle,
            Surface = new SurfaceSpec(x, y, rows, paths.ToArray()), Width = 760, Height = 600,
        });
    }

    /// <summary>Any set of lines on one plot.</summary>
    public static KitChart Lines(string title, string xTitle, string yTitle, IEnumerable<Series> series, bool markers = false) =>
        Build(new ChartSpec { Kind = "lines", Title = title, XTitle = xTitle, YTitle = yTitle, Panels = [series.ToArray()], Markers = markers });

    /// <summary>Any grouped bars over categories.</summary>
    public static KitChart Bars(string title, string xTitle, string yTitle, IReadOnlyList<string> categories, IEnumerable<BarGroup> groups) =>
        Build(new ChartSpec { Kind = "bars", Title = title, XTitle = xTitle, YTitle = yTitle, Categories = categories.ToArray(), Groups = groups.ToArray() });

    /// <summary>Builds any spec (for charts this class has no helper for).</summary>
    public static KitChart Build(ChartSpec spec)
    {
        if (string.IsNullOrWhiteSpace(spec.XTitle) || string.IsNullOrWhiteSpace(spec.YTitle))
            throw new ArgumentException($"chart '{spec.Title}': every chart needs x and y axis titles with units, found x='{spec.XTitle}', y='{spec.YTitle}'.");
        return new KitChart(spec.Title, PlotlyHost.BuildFigure(spec));
    }

    static string[] Tasks(List<HistoryPoint> rows, string what)
    {
        if (rows.Count == 0) throw new ArgumentException($"history: {what}.");
        return rows.Select(p => p.Task).Distinct().ToArray();
    }

    /// <summary>A line from history rows, averaged into at most <see cref="MaxPointsPerLine"/> step windows.</summary>
    /// <summary>
    /// An exponential moving average of <paramref name="raw"/> (bias-corrected, so the first points are not pulled to
    /// zero), spanning about a twentieth of the curve: per-batch training losses are noisy, and the trend is what the
    /// reader compares with the validation curve.
    /// </summary>
    public static Series Smoothed(Series raw, string name)
    {
        double span = Math.Max(1, raw.Y.Length / 20.0), beta = 1 - 2 / (span + 1), avg = 0, norm = 0;
        var y = new double[raw.Y.Length];
        for (int i = 0; i < y.Length; i++)
        {
            avg = beta * avg + (1 - beta) * raw.Y[i];
            norm = beta * norm + (1 - beta);
            y[i] = avg / norm;
        }
        return new Series(name, raw.X, y);
    }

    static Series Line(string name, IEnumerable<HistoryPoint> rows)
    {
        var pts = rows.GroupBy(p => p.Step).Select(g => (Step: (double)g.Key, Value: g.Average(p => p.Value))).OrderBy(p => p.Step).ToArray();
        if (pts.Length > MaxPointsPerLine)
        {
            int per = (pts.Length + MaxPointsPerLine - 1) / MaxPointsPerLine;
            pts = pts.Chunk(per).Select(c => (c.Average(p => p.Step), c.Average(p => p.Value))).ToArray();
        }
        return new Series(name, pts.Select(p => p.Step).ToArray(), pts.Select(p => p.Value).ToArray());
    }
}
