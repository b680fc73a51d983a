namespace MultiTaskKit.Models;

/// <summary>What a sharing plan shares.</summary>
public enum SharingKind
{
    /// <summary>Stem, every layer and the pool are shared; each task owns only its head.</summary>
    Hard,
    /// <summary>Stem and layers [0, k) are shared; each task owns copies of layers [k, L) and of the pool.</summary>
    Split,
    /// <summary>Nothing is shared: each task owns a full copy of the trunk (single-task baselines).</summary>
    Isolated,
}

/// <summary>
/// How a <see cref="MultiTaskModel"/> cuts an <see cref="ISplittableTrunk"/>. Task-specific copies are initialised
/// from the same weights, so every plan starts from the same function.
/// </summary>
public sealed record SharingPlan
{
    SharingPlan(SharingKind kind, int sharedLayers) { Kind = kind; SharedLayers = sharedLayers; }

    public SharingKind Kind { get; }

    /// <summary>For <see cref="SharingKind.Split"/>: the k lower layers that are shared.</summary>
    public int SharedLayers { get; }

    /// <summary>All trunk layers (and the pool) shared.</summary>
    public static SharingPlan Hard { get; } = new(SharingKind.Hard, -1);

    /// <summary>Nothing shared; each task has its own trunk.</summary>
    public static SharingPlan Isolated { get; } = new(SharingKind.Isolated, 0);

    /// <summary>Stem and the lower <paramref name="k"/> layers shared, the rest and the pool per task (the article uses k = 2).</summary>
    public static SharingPlan SplitAt(int k) => k >= 0
        ? new(SharingKind.Split, k)
        : throw new ArgumentOutOfRangeException(nameof(k), k, "expected the number of shared layers, 0 or more");

    public override string ToString() => Kind switch
    {
        SharingKind.Hard => "hard",
        SharingKind.Isolated => "isolated",
        _ => $"split@{SharedLayers}",
    };

    /// <summary>Parses "hard", "isolated" or "split@K" (as written by <see cref="ToString"/>).</summary>
    public static SharingPlan Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "hard") return Hard;
        if (t == "isolated") return Isolated;
        if (t.StartsWith("split@") && int.TryParse(t[6..], out var k)) return SplitAt(k);
        throw new FormatException($"sharing plan: expected 'hard', 'isolated' or 'split@K', found '{text}'");
    }
}
