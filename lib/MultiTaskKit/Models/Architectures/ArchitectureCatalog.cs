using MultiTaskKit.Models;

namespace MultiTaskKit.Models;

/// <summary>
/// The architectures a run configuration can name in <c>sharing.plan</c>, each built from a splittable trunk, the task
/// heads and the <see cref="SharingConfig"/>. A new architecture is a <see cref="MultiTaskNetwork"/> subclass plus one
/// entry here (and, if it has settings, their keys in <see cref="SharingConfig"/>); nothing else in the trainer changes.
/// </summary>
public static class ArchitectureCatalog
{
    /// <summary>Builds a network from the trunk (whose modules it takes over), the heads in task order, the settings and
    /// each task's depth (absent: the top layer).</summary>
    public delegate MultiTaskNetwork Builder(ISplittableTrunk trunk, IReadOnlyList<KeyValuePair<string, TaskHead>> heads, SharingConfig sharing,
        IReadOnlyDictionary<string, int> depths);

    /// <summary>Why the soft-sharing architectures refuse token tasks and per-task depth.</summary>
    const string SoftSharingReason = "it mixes whole layers or experts across tasks and pools each row before the heads, so a task can neither stop at its own layer nor keep its tokens";

    static readonly (string Name, string Description, bool TokensAndDepth, Builder Build)[] Entries =
    [
        (SharingPlanKind.Hard, "the whole trunk shared; each task owns its head", true,
            (trunk, heads, _, d) => new MultiTaskModel(trunk, heads, SharingPlan.Hard, d)),
        (SharingPlanKind.Split, "the lower shared_layers layers shared; each task owns copies of the rest", true,
            (trunk, heads, s, d) => new MultiTaskModel(trunk, heads, s.SharedLayers <= trunk.Layers.Count
                ? SharingPlan.SplitAt(s.SharedLayers)
                : throw new InvalidDataException($"sharing.shared_layers must be at most the trunk's {trunk.Layers.Count} layers, found {s.SharedLayers}."), d)),
        (SharingPlanKind.Isolated, "nothing shared; each task owns a copy of the trunk", true,
            (trunk, heads, _, d) => new MultiTaskModel(trunk, heads, SharingPlan.Isolated, d)),
        (SharingPlanKind.CrossStitch, "one trunk copy per task, mixed after every layer by learned α (Misra et al. 2016)", false,
            (trunk, heads, s, _) => new CrossStitchNetwork(trunk, heads, new CrossStitchOptions(s.CrossStitchSelfWeight ?? new CrossStitchOptions().SelfWeight))),
        (SharingPlanKind.MMoE, "a shared bottom of shared_layers layers, experts copies of the rest, a softmax gate per task (Ma et al. 2018)", false,
            (trunk, heads, s, _) => new MMoENetwork(trunk, heads, new MMoEOptions(s.Experts ?? new MMoEOptions().Experts, s.SharedLayers))),
        (SharingPlanKind.Cgc, "a shared bottom, then shared and per-task experts mixed by per-task gates (Tang et al. 2020)", false,
            (trunk, heads, s, _) => new PLENetwork(trunk, heads, Ple(s, levels: 1))),
        (SharingPlanKind.Ple, "CGC's extraction layers stacked ple_levels deep, with a shared gate between them (Tang et al. 2020)", false,
            (trunk, heads, s, _) => new PLENetwork(trunk, heads, Ple(s, s.PleLevels ?? new PLEOptions().Levels))),
        (SharingPlanKind.TaskAttention, "the whole trunk shared; each task attends over every layer's states (after Liu et al. 2019)", false,
            (trunk, heads, _, _) => new TaskAttentionNetwork(trunk, heads)),
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

    /// <summary>Whether architecture <paramref name="name"/> takes token tasks and per-task depth (hard, split, isolated).</summary>
    public static bool SupportsTokensAndDepth(string name) => Entries.Any(e => e.TokensAndDepth && e.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Builds the architecture <paramref name="sharing"/> names; <paramref name="depths"/> gives tasks that
    /// read a lower layer than the top (hard, split and isolated only).</summary>
    public static MultiTaskNetwork Build(SharingConfig sharing, ISplittableTrunk trunk, IReadOnlyList<KeyValuePair<string, TaskHead>> heads,
        IReadOnlyDictionary<string, int>? depths = null)
    {
        ArgumentNullException.ThrowIfNull(sharing);
        var entry = Entries.FirstOrDefault(e => e.Name.Equals(sharing.Plan, StringComparison.OrdinalIgnoreCase));
        if (entry.Build is null)
            throw new ArgumentException($"sharing.plan: expected one of {string.Join(", ", Names)}, found '{sharing.Plan}'", nameof(sharing));
        depths ??= new Dictionary<string, int>();
        if (!entry.TokensAndDepth)
        {
            if (heads.FirstOrDefault(h => h.Value.ReadsTokens) is { Key: { } tokenTask })
                throw new InvalidDataException($"sharing.plan '{entry.Name}' does not support token tasks (task '{tokenTask}'): {SoftSharingReason}; use hard, split or isolated.");
            if (depths.Keys.FirstOrDefault() is { } deep)
                throw new InvalidDataException($"sharing.plan '{entry.Name}' does not support a per-task depth (task '{deep}'): {SoftSharingReason}; use hard, split or isolated.");
        }
        return entry.Build(trunk, heads, sharing, depths);
    }
}
