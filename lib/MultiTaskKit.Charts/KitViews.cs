using System.Reflection;
using MultiTaskKit.Models;

namespace MultiTaskKit.Charts;

/// <summary>Views of kit objects as tables: a model's parameters (shared versus per task, per layer) and a strategy's hyperparameters.</summary>
public static class KitViews
{
    /// <summary>
    /// One row per module (the parameter name without its last segment, e.g. <c>shared.layers.0</c>): who owns it
    /// (shared, a task, the strategy), how many parameters; then a total per owner.
    /// </summary>
    public static KitTable ModelSummary(MultiTaskNetwork model)
    {
        var owner = new Dictionary<TorchSharp.Modules.Parameter, string>(ReferenceEqualityComparer.Instance);
        foreach (var p in model.SharedParameters()) owner[p] = "shared";
        foreach (var t in model.Tasks) foreach (var p in model.TaskParameters(t)) owner[p] = $"task {t}";
        foreach (var p in model.StrategyParameters()) owner[p] = "strategy";
        var rows = model.named_parameters()
            .GroupBy(np => np.name.Contains('.') ? np.name[..np.name.LastIndexOf('.')] : np.name)
            .Select(g => (Module: g.Key, Owner: owner.TryGetValue(g.First().parameter, out var o) ? o : "other",
                          Count: g.Sum(np => np.parameter.numel()), Trainable: g.All(np => np.parameter.requires_grad)))
            .ToList();
        long total = rows.Sum(r => r.Count);
        var body = rows.Select(r => (IReadOnlyList<string>)[r.Module, r.Owner, r.Count.ToString("N0"), r.Trainable ? "yes" : "frozen"])
            .Concat(rows.GroupBy(r => r.Owner).Select(g => (IReadOnlyList<string>)[$"total ({g.Key})", g.Key, g.Sum(r => r.Count).ToString("N0"),
                $"{100.0 * g.Sum(r => r.Count) / Math.Max(1, total):0.#}% of all"]));
        return new KitTable($"Model: {model.Architecture}, tasks {string.Join(", ", model.Tasks)} — {total:N0} parameters",
            ["module", "owner", "parameters", "trainable"], body);
    }

    /// <summary>
    /// The architecture's learned mixing (<see cref="MultiTaskNetwork.LearnedMixing"/>): one row per mixing unit and
    /// reader, one column per source. Cross-stitch: row i of α says how much of each task's activation task i continues
    /// with (columns "from {task}"). Gates and layer attention name their sources (<see cref="MultiTaskNetwork.MixingLabels"/>:
    /// experts, layers); a unit without some source leaves its cell empty. Null when the architecture mixes nothing.
    /// </summary>
    public static KitTable? Mixing(MultiTaskNetwork model)
    {
        var mixing = model.LearnedMixing();
        if (mixing.Count == 0) return null;
        var sources = new List<string>();
        var units = new List<(string Name, IReadOnlyList<string> Rows, IReadOnlyList<string> Columns, double[] Values)>();
        foreach (var (name, weights) in mixing)
        {
            using var w = weights.detach().to_type(TorchSharp.torch.ScalarType.Float64).cpu();
            var values = w.data<double>().ToArray();
            int columns = (int)w.shape[^1], rows = values.Length / Math.Max(1, columns);
            var labels = model.MixingLabels(name);
            var rowNames = labels?.Rows ?? (rows == model.Tasks.Count ? model.Tasks : Enumerable.Range(0, rows).Select(r => r.ToString()).ToArray());
            var columnNames = labels?.Columns.ToArray() ?? (columns == model.Tasks.Count
                ? model.Tasks.Select(t => $"from {t}").ToArray() : Enumerable.Range(0, columns).Select(c => c.ToString()).ToArray());
            foreach (var c in columnNames) if (!sources.Contains(c)) sources.Add(c);
            units.Add((name, rowNames, columnNames, values));
        }
        var body = new List<IReadOnlyList<string>>();
        foreach (var (name, rowNames, columnNames, values) in units)
            for (int r = 0; r < rowNames.Count; r++)
                body.Add([name, rowNames[r], .. sources.Select(src =>
                {
                    int c = columnNames.ToList().IndexOf(src);
                    return c < 0 ? "" : KitTable.Num(values[r * columnNames.Count + c]);
                })]);
        return new KitTable($"Learned mixing: {model.Architecture}", ["unit", "task reads", .. sources], body);
    }

    /// <summary>A data frame (a dataset card, a metrics table) as a table: one row per frame row, numbers formatted as <see cref="KitTable.Num"/>.</summary>
    public static KitTable Table(Microsoft.Data.Analysis.DataFrame frame, string title)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var headers = frame.Columns.Select(c => c.Name).ToList();
        var rows = new List<IReadOnlyList<string>>();
        for (long r = 0; r < frame.Rows.Count; r++)
            rows.Add(frame.Columns.Select(c => c[r] switch
            {
                null => "",
                double d => KitTable.Num(d),
                float f => KitTable.Num(f),
                var v => v.ToString() ?? "",
            }).ToList());
        return new KitTable(title, headers, rows);
    }

    /// <summary>A metrics report: one row per task and metric, with the dataset, split and example count; Δm when set.</summary>
    public static KitTable Metrics(Evaluation.MetricsReport report, string title = "Metrics") =>
        new(title, ["task", "dataset", "split", "examples", "metric", "value"],
            report.Tasks.SelectMany(t => t.Metrics.Values.Select(kv => (IReadOnlyList<string>)[t.Task, t.Dataset, t.Split, t.Count.ToString(), kv.Key, KitTable.Num(kv.Value)])),
            report.DeltaM is { } dm ? $"Δm against the single-task baselines: {dm:+0.00;-0.00} %" : report.Note);

    /// <summary>A weighting or aggregation method: its name, its description (<c>ToString</c>) and its public settings.</summary>
    public static KitTable Strategy(object strategy)
    {
        var type = strategy.GetType();
        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "type", type.Name },
            new[] { "as configured", strategy.ToString() ?? "" },
        };
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
        {
            if (p.Name is "training" or "IsDisposed") continue;
            object? v;
            try { v = p.GetValue(strategy); } catch (TargetInvocationException) { continue; }
            var text = v switch
            {
                null => "null",
                string s => s,
                double d => KitTable.Num(d),
                System.Collections.IEnumerable e when v is not string => "[" + string.Join(", ", e.Cast<object?>().Take(12).Select(x => x is double dd ? KitTable.Num(dd) : x?.ToString())) + "]",
                _ when v.GetType().IsPrimitive || v is Enum || v.GetType().Name.EndsWith("Options") => v.ToString()!,
                _ => null,
            };
            if (text != null) rows.Add(new[] { p.Name, text });
        }
        return new KitTable($"Strategy {strategy}", ["setting", "value"], rows);
    }
}
