using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.IO;

namespace MultiTaskKit.Sweeps;

/// <summary>
/// What a sweep folder holds now: every cell's state and, for finished cells, each task's test metrics and the run's
/// training time; what has not finished is named by index and id. Read from the run folders alone
/// (<see cref="SweepStatus"/>), so it runs on the shared folder after a scheduler's job, or while one still runs.
/// </summary>
public sealed record SweepReport(SweepPlan Plan, IReadOnlyList<CellStatus> Cells)
{
    public const string JsonFile = "report.json";

    public static SweepReport Build(string sweepDir, SweepPlan plan) => new(plan, SweepStatus.Read(sweepDir, plan));

    public IReadOnlyList<CellStatus> Finished => Cells.Where(c => c.State == CellState.Finished).ToList();
    public IReadOnlyList<CellStatus> Unfinished => Cells.Where(c => c.State != CellState.Finished).ToList();

    static string State(CellState s) => s switch
    {
        CellState.NotStarted => "not started",
        CellState.Running => "running",
        CellState.Interrupted => "interrupted (resumes from its checkpoint)",
        _ => "finished",
    };

    /// <summary>A task's headline test metric of a finished cell: accuracy, else Pearson, else the first reported.</summary>
    public static (string Metric, double Value)? Headline(CellStatus cell, string task)
    {
        if (cell.Metrics?["tasks"]?[task]?["metrics"] is not JsonObject m || m.Count == 0) return null;
        var name = new[] { "accuracy", "entity_f1", "pearson" }.FirstOrDefault(m.ContainsKey) ?? m.First().Key;
        return m[name] is JsonValue v && v.TryGetValue<double>(out var x) ? (name, x) : null;
    }

    public string ToText()
    {
        var w = new StringBuilder();
        w.AppendLine($"sweep ({Plan.Kind}): {Cells.Count} cells, {Finished.Count} finished, {Unfinished.Count} not finished");
        foreach (var c in Cells)
        {
            var line = $"  {c.Cell.Index,4}  {c.Cell.Id}: {State(c.State)}";
            if (c.State == CellState.Finished)
            {
                var parts = c.Cell.Config.Tasks.Select(t => Headline(c, t.Name) is { } h ? $"{t.Name} {h.Metric} {h.Value.ToString("F4", CultureInfo.InvariantCulture)}" : $"{t.Name} n/a");
                var seconds = c.Metrics?["run"]?["train_seconds"] is JsonValue s && s.TryGetValue<double>(out var x) ? $", {x.ToString("F0", CultureInfo.InvariantCulture)} s training" : "";
                line += $" ({string.Join("; ", parts)}{seconds})";
            }
            w.AppendLine(line);
        }
        if (Unfinished.Count > 0) w.AppendLine($"not finished: {string.Join(", ", Unfinished.Select(c => c.Cell.Index))}");
        return w.ToString();
    }

    public JsonObject ToJson() => new()
    {
        ["kind"] = Plan.Kind,
        ["cell_count"] = Cells.Count,
        ["finished"] = Finished.Count,
        ["cells"] = new JsonArray(Cells.Select(c => (JsonNode)new JsonObject
        {
            ["index"] = c.Cell.Index,
            ["id"] = c.Cell.Id,
            ["state"] = State(c.State),
            ["test"] = c.Metrics?["tasks"]?.DeepClone(),
            ["train_seconds"] = c.Metrics?["run"]?["train_seconds"]?.DeepClone(),
        }).ToArray()),
        ["not_finished"] = new JsonArray(Unfinished.Select(c => (JsonNode)JsonValue.Create(c.Cell.Index)).ToArray()),
    };

    public void Save(string sweepDir) =>
        AtomicFile.WriteAllText(Path.Combine(sweepDir, JsonFile), ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
}
