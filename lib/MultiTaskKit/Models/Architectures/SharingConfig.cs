namespace MultiTaskKit.Models;

/// <summary>The architecture names <see cref="ArchitectureCatalog"/> knows out of the box (<c>sharing.plan</c>).</summary>
public static class SharingPlanKind
{
    /// <summary>The whole trunk shared; each task owns its head.</summary>
    public const string Hard = "hard";
    /// <summary>The lower <see cref="SharingConfig.SharedLayers"/> layers shared, the rest per task.</summary>
    public const string Split = "split";
    /// <summary>Nothing shared (single-task baselines).</summary>
    public const string Isolated = "isolated";
    /// <summary>One trunk copy per task, mixed after every layer by learned α (<see cref="CrossStitchNetwork"/>).</summary>
    public const string CrossStitch = "cross_stitch";
    /// <summary>A shared bottom, K expert copies of the upper layers and a softmax gate per task (<see cref="MMoENetwork"/>).</summary>
    public const string MMoE = "mmoe";
    /// <summary>Shared and per-task experts with per-task gates, one extraction layer (<see cref="PLENetwork"/>).</summary>
    public const string Cgc = "cgc";
    /// <summary>CGC's extraction layers stacked (<see cref="PLENetwork"/>).</summary>
    public const string Ple = "ple";
    /// <summary>The whole trunk shared; each task attends over every layer's states (<see cref="TaskAttentionNetwork"/>).</summary>
    public const string TaskAttention = "task_attention";
}

/// <summary>
/// The architecture: <c>plan</c> names one in <see cref="ArchitectureCatalog"/> (<c>hard</c>, <c>split</c>,
/// <c>isolated</c>, <c>cross_stitch</c>, <c>mmoe</c>, <c>cgc</c>, <c>ple</c>, <c>task_attention</c>); the other keys are
/// that architecture's settings.
/// </summary>
public sealed record SharingConfig
{
    public string Plan { get; init; } = SharingPlanKind.Split;
    /// <summary>For <c>split</c>: how many lower layers are shared (at most the trunk's depth).</summary>
    public int SharedLayers { get; init; } = 2;
    /// <summary>For <c>cross_stitch</c>: the initial diagonal of every α (null: 0.9; see <see cref="CrossStitchOptions"/>).</summary>
    public double? CrossStitchSelfWeight { get; init; }
    /// <summary>For <c>mmoe</c>: the number of experts (null: 3). <c>shared_layers</c> is the bottom's depth (capped at L − 1).</summary>
    public int? Experts { get; init; }
    /// <summary>For <c>ple</c>: extraction layers (null: 2; capped at the layers above the bottom). <c>cgc</c> is one.</summary>
    public int? PleLevels { get; init; }
    /// <summary>For <c>cgc</c> and <c>ple</c>: shared experts per level (null: 1).</summary>
    public int? SharedExperts { get; init; }
    /// <summary>For <c>cgc</c> and <c>ple</c>: experts per task per level (null: 1).</summary>
    public int? TaskExperts { get; init; }

    internal void Validate(string source)
    {
        if (!ArchitectureCatalog.Contains(Plan))
            throw new InvalidDataException($"{source}: sharing.plan must be one of {string.Join(", ", ArchitectureCatalog.Names)}, found '{Plan}'.");
        if (SharedLayers < 0)
            throw new InvalidDataException($"{source}: sharing.shared_layers must be at least 0, found {SharedLayers}.");
        if (CrossStitchSelfWeight is { } w && !(w >= 0 && w <= 1))
            throw new InvalidDataException($"{source}: sharing.cross_stitch_self_weight must be in [0, 1], found {w}.");
        if (Experts is < 1) throw new InvalidDataException($"{source}: sharing.experts must be at least 1, found {Experts}.");
        if (PleLevels is < 1) throw new InvalidDataException($"{source}: sharing.ple_levels must be at least 1, found {PleLevels}.");
        if (SharedExperts is < 1) throw new InvalidDataException($"{source}: sharing.shared_experts must be at least 1, found {SharedExperts}.");
        if (TaskExperts is < 1) throw new InvalidDataException($"{source}: sharing.task_experts must be at least 1, found {TaskExperts}.");
    }
}
