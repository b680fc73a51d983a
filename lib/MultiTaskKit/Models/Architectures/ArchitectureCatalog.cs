using MultiTaskKit.Models;

namespace MultiTaskKit.Models;

/// <summary>
/// The architectures a run configuration can name in <c>sharing.plan</c>, each built from a splittable trunk, the task
/// heads and the <see cref="SharingConfig"/>. A new architecture is a <see cref="MultiTaskNetwork"/> subclass plus one
/// entry here (and, if it has settings, their keys in <see cref="SharingConfig"/>); nothing else in the trainer changes.
/// </summary>
public static class ArchitectureCatalog
{
    /// <summary>Builds a network from the trunk (whose modules it takes over), the heads in task order, and the settings.</summary>
    public delegate MultiTaskNetwork Builder(ISplittableTrunk trunk, IReadOnlyList<KeyValuePair<string, TaskHead>> heads, SharingConfig sharing);

    static readonly (string Name, string Description, Builder Build)[] Entries =
    [
        (SharingPlanKind.Hard, "the whole trunk shared; each task owns its head",
            (trunk, heads, _) => new MultiTaskModel(trunk, heads, SharingPlan.Hard)),
        (SharingPlanKind.Split, "the lower shared_layers layers shared; each task owns copies of the rest",
            (trunk, heads, s) => new MultiTaskModel(trunk, heads, s.SharedLayers <= trunk.Layers.Count
                ? SharingPlan.SplitAt(s.SharedLayers)
                : throw new InvalidDataException($"sharing.shared_layers must be at most the trunk's {trunk.Layers.Count} layers, found {s.SharedLayers}."))),
        (SharingPlanKind.Isolated, "nothing shared; each task owns a copy of the trunk",
            (trunk, heads, _) => new MultiTaskModel(trunk, heads, SharingPlan.Isolated)),
        (SharingPlanKind.CrossStitch, "one trunk copy per task, mixed after every layer by learned α (Misra et al. 2016)",
            (trunk, heads, s) => new CrossStitchNetwork(trunk, heads, new CrossStitchOptions(s.CrossStitchSelfWeight ?? new CrossStitchOptions().SelfWeight))),
        (SharingPlanKind.MMoE, "a shared bottom of shared_layers layers, experts copies of the rest, a softmax gate per task (Ma et al. 2018)",
            (trunk, heads, s) => new MMoENetwork(trunk, heads, new MMoEOptions(s.Experts ?? new MMoEOptions().Experts, s.SharedLayers))),
        (SharingPlanKind.Cgc, "a shared bottom, then shared and per-task experts mixed by per-task gates (Tang et al. 2020)",
            (trunk, heads, s) => new PLENetwork(trunk, heads, Ple(s, levels: 1))),
        (SharingPlanKind.Ple, "CGC's extraction layers stacked ple_levels deep, with a shared gate between them (Tang et al. 2020)",
            (trunk, heads, s) => new PLENetwork(trunk, heads, Ple(s, s.PleLevels ?? new PLEOptions().Levels))),
        (SharingPlanKind.TaskAttention, "the whole trunk shared; each task attends over every layer's states (after Liu et al. 2019)",
            (trunk, heads, _) => new TaskAttentionNetwork(trunk, heads)),
    ];

    static PLEOptions Ple(SharingConfig s, int levels)
    {
        var d = new PLEOptions();
        return new PLEOptions(levels, s.SharedExperts ?? d.SharedExperts, s.TaskExperts ?? d.TaskExperts, s.SharedLayers);
    }

    /// <summary>The names, in the order they are listed.</summary>
    public static IReadOnlyList<string> Names { get; } = Entries.Select(e => e.Name).ToArray();

    /// <summary>Whether <paramref name="name"/> (any case) is an architecture.</summary>
    public static bool Contains(string? name) => name is not null && Entries.Any(e => e.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>One line per architecture: name and what it shares.</summary>
    public static IReadOnlyList<(string Name, string Description)> Describe() => Entries.Select(e => (e.Name, e.Description)).ToArray();

    /// <summary>Builds the architecture <paramref name="sharing"/> names.</summary>
    public static MultiTaskNetwork Build(SharingConfig sharing, ISplittableTrunk trunk, IReadOnlyList<KeyValuePair<string, TaskHead>> heads)
    {
        ArgumentNullException.ThrowIfNull(sharing);
        var entry = Entries.FirstOrDefault(e => e.Name.Equals(sharing.Plan, StringComparison.OrdinalIgnoreCase));
        if (entry.Build is null)
            throw new ArgumentException($"sharing.plan: expected one of {string.Join(", ", Names)}, found '{sharing.Plan}'", nameof(sharing));
        return entry.Build(trunk, heads, sharing);
    }
}
