namespace MultiTaskKit.Comparison;

/// <summary>
/// One multi-task configuration a comparison trains: a sharing plan (<c>split</c> with the base's shared layers,
/// <c>split@k</c>, or any architecture name) and a method (<c>method.weighting</c>, or <c>weighting+aggregation</c> such
/// as <c>uw+pcgrad</c>). Its <see cref="Name"/> labels tables and charts (<c>split@2/ew</c>).
/// </summary>
public sealed record CompareVariant(string Name, string Plan, int? SharedLayers, string? Weighting, string? Aggregation)
{
    /// <summary>Every plan × method pair, in the order given; an empty list keeps the base's plan or method.</summary>
    public static IReadOnlyList<CompareVariant> Cross(IReadOnlyList<string> plans, IReadOnlyList<string> methods, string basePlan, int baseSharedLayers, string baseWeighting, string? baseAggregation)
    {
        var planList = plans.Count > 0 ? plans : [basePlan == "split" ? $"split@{baseSharedLayers}" : basePlan];
        var methodList = methods.Count > 0 ? methods : [baseAggregation is { Length: > 0 } a && a != "none" ? $"{baseWeighting}+{a}" : baseWeighting];
        var result = new List<CompareVariant>();
        foreach (var p in planList)
        {
            var (plan, layers) = ParsePlan(p, baseSharedLayers);
            foreach (var m in methodList)
            {
                var plus = m.IndexOf('+');
                var (w, agg) = plus < 0 ? (m, (string?)null) : (m[..plus], m[(plus + 1)..]);
                if (w.Length == 0 || agg is { Length: 0 }) throw new ArgumentException($"--methods: expected a weighting or weighting+aggregation (e.g. ew, uw, uw+pcgrad), found '{m}'.");
                var planName = plan == "split" ? $"split@{layers}" : plan;
                var name = planList.Count > 1 && methodList.Count > 1 ? $"{planName}/{m}" : methodList.Count > 1 ? m : planName;
                result.Add(new CompareVariant(name, plan, plan == "split" ? layers : null, w, agg));
            }
        }
        var dup = result.GroupBy(v => v.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new ArgumentException($"--plans/--methods: the variant '{dup.Key}' is listed twice.");
        return result;
    }

    static (string Plan, int Layers) ParsePlan(string text, int baseLayers)
    {
        var t = text.Trim().ToLowerInvariant();
        var at = t.IndexOf('@');
        if (at < 0) return (t, baseLayers);
        if (t[..at] != "split" || !int.TryParse(t[(at + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var k))
            throw new ArgumentException($"--plans: expected an architecture name or split@k (k shared layers), found '{text}'.");
        return ("split", k);
    }
}
