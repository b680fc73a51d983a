using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Analysis;

namespace MultiTaskKit.Evaluation;

/// <summary>One task scored on one split, with where the figures come from and any caveat (<see cref="Note"/>).</summary>
public sealed record TaskEvaluation(string Task, string Dataset, string Split, IMetricResult Metrics, string? Note = null)
{
    public long Count => Metrics.Count;
}

/// <summary>
/// The metrics of every task of a run, as a long-format <see cref="DataFrame"/> (task, dataset, split, count, metric,
/// value) and as JSON with snake_case keys. <see cref="DeltaM"/> (in percent, see <see cref="Evaluation.DeltaM"/>) is set when single-task baselines ran.
/// </summary>
public sealed record MetricsReport(IReadOnlyList<TaskEvaluation> Tasks, double? DeltaM = null, string? Note = null)
{
    public TaskEvaluation this[string task] => Tasks.FirstOrDefault(t => t.Task == task)
        ?? throw new KeyNotFoundException($"task: expected one of {string.Join(", ", Tasks.Select(t => t.Task))}, found '{task}'.");

    public DataFrame ToDataFrame()
    {
        var rows = Tasks.SelectMany(t => t.Metrics.Values.Select(kv => (t, kv.Key, kv.Value))).ToList();
        if (DeltaM is { } dm) rows.Add((new TaskEvaluation("all", "", "", new Scalar(0), null), "delta_m", dm));
        return new DataFrame(
            new StringDataFrameColumn("task", rows.Select(r => r.t.Task)),
            new StringDataFrameColumn("dataset", rows.Select(r => r.t.Dataset)),
            new StringDataFrameColumn("split", rows.Select(r => r.t.Split)),
            new Int64DataFrameColumn("count", rows.Select(r => r.t.Count)),
            new StringDataFrameColumn("metric", rows.Select(r => r.Key)),
            new DoubleDataFrameColumn("value", rows.Select(r => r.Value)));
    }

    /// <summary>Per-task objects keyed by task, each with dataset, split, count, note and metrics; plus <c>delta_m</c>.</summary>
    public JsonObject ToJson()
    {
        var tasks = new JsonObject();
        foreach (var t in Tasks)
        {
            var metrics = new JsonObject();
            foreach (var (k, v) in t.Metrics.Values) metrics[k] = Number(v);
            var o = new JsonObject
            {
                ["dataset"] = t.Dataset,
                ["split"] = t.Split,
                ["count"] = t.Count,
                ["metrics"] = metrics,
            };
            if (t.Note != null) o["note"] = t.Note;
            if (t.Metrics.BuiltIn() is ClassificationMetrics c)
            {
                o["per_class"] = new JsonArray(c.PerClass.Select(p => (JsonNode)new JsonObject
                {
                    ["label"] = p.Label, ["precision"] = Number(p.Precision), ["recall"] = Number(p.Recall), ["f1"] = Number(p.F1), ["support"] = p.Support,
                }).ToArray());
                o["confusion_matrix"] = new JsonArray(c.ConfusionMatrix.Select(r => (JsonNode)new JsonArray(r.Select(x => (JsonNode)JsonValue.Create(x)).ToArray())).ToArray());
            }
            if (t.Metrics.BuiltIn() is RegressionMetrics r2) o["polarity_count"] = r2.PolarityCount;
            tasks[t.Task] = o;
        }
        var root = new JsonObject { ["tasks"] = tasks };
        if (DeltaM is { } dm) root["delta_m"] = Number(dm);
        if (Note != null) root["note"] = Note;
        return root;
    }

    public string ToJsonString() => ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>JSON has no NaN: undefined metrics are written as null.</summary>
    static JsonNode? Number(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    sealed record Scalar(long Count) : IMetricResult
    {
        public IReadOnlyDictionary<string, double> Values => new Dictionary<string, double>();
    }
}
