using System.Text.Json.Nodes;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Sweeps;

/// <summary>
/// One cell of a sweep: its stable index (the scheduler's array index), a readable id made of its key values, the
/// configuration keys it sets (dotted paths such as <c>optimizer.lr</c> → value), free labels that say what the cell
/// stands for (a comparison's <c>role</c>, <c>task</c>, <c>variant</c>), its whole run configuration, and its run folder
/// relative to the sweep folder.
/// </summary>
public sealed record SweepCell(int Index, string Id, IReadOnlyDictionary<string, JsonNode?> Keys, IReadOnlyDictionary<string, string> Labels, RunConfig Config, string RunDir)
{
    /// <summary>The label <paramref name="name"/>, or null.</summary>
    public string? Label(string name) => Labels.TryGetValue(name, out var v) ? v : null;

    /// <summary>The cell's run folder under <paramref name="sweepDir"/>.</summary>
    public string RunDirIn(string sweepDir) => Path.GetFullPath(Path.Combine(sweepDir, RunDir));

    /// <summary>The folder name of cell <paramref name="index"/>: <c>cells/0007</c>.</summary>
    public static string FolderOf(int index) => $"cells/{index:D4}";
}
