using MultiTaskKit.Aggregation;
using MultiTaskKit.Weighting;

namespace MultiTaskKit.Aggregation;

/// <summary>A ready-to-use method: a loss weighting, an optional aggregator, and the gradient mode it runs in.</summary>
public sealed record MethodSpec(string Name, ILossWeighting Weighting, IGradientAggregator? Aggregator, GradientMode Mode)
{
    public override string ToString() => Aggregator is null ? Weighting.ToString()! : $"{Weighting} + {Aggregator}";
}

/// <summary>
/// Every method of the kit by its command-line name, with the papers' default hyperparameters (for configuration files,
/// <c>mtk bench methods</c> and comparisons). A typed table, not reflection: an unknown name lists the known ones.
/// </summary>
public static class MethodCatalog
{
    static readonly (string Name, Func<IReadOnlyList<string>, MethodSpec> Create)[] Entries =
    {
        ("ew", t => new("ew", new EqualWeighting(t), null, GradientMode.Parameters)),
        ("uw", t => new("uw", new UncertaintyWeighting(t), null, GradientMode.Parameters)),
        ("dwa", t => new("dwa", new DWA(t), null, GradientMode.Parameters)),
        ("rlw", t => new("rlw", new RLW(t), null, GradientMode.Parameters)),
        ("famo", t => new("famo", new FAMO(t), null, GradientMode.Parameters)),
        ("gradnorm", t => new("gradnorm", new GradNorm(t), null, GradientMode.Parameters)),
        ("db-mtl", t => new("db-mtl", new DBMTL(t), null, GradientMode.Parameters)),
        ("gls", t => new("gls", new GLS(t), null, GradientMode.Parameters)),
        ("stch", t => new("stch", new STCH(t), null, GradientMode.Parameters)),
        ("imtl-l", t => new("imtl-l", new IMTLL(t), null, GradientMode.Parameters)),
        ("excess-mtl", t => new("excess-mtl", new ExcessMTL(t), null, GradientMode.Parameters)),
        ("mgda", t => new("mgda", new EqualWeighting(t), new MGDA(), GradientMode.Parameters)),
        ("mgda-ub", t => new("mgda-ub", new EqualWeighting(t), new MGDA(), GradientMode.Representation)),
        ("pcgrad", t => new("pcgrad", new EqualWeighting(t), new PCGrad(), GradientMode.Parameters)),
        ("cagrad", t => new("cagrad", new EqualWeighting(t), new CAGrad(), GradientMode.Parameters)),
        ("gradvac", t => new("gradvac", new EqualWeighting(t), new GradVac(t), GradientMode.Parameters)),
        ("gradvac-layer", t => new("gradvac-layer", new EqualWeighting(t), new GradVac(t, new GradVacOptions(Groups: GradVacGroups.PerLayer)), GradientMode.Parameters)),
        ("gradvac-param", t => new("gradvac-param", new EqualWeighting(t), new GradVac(t, new GradVacOptions(Groups: GradVacGroups.PerParameter)), GradientMode.Parameters)),
        // full IMTL (Liu et al. 2021; LibMTL's IMTL): the loss scales of IMTL-L, then IMTL-G on the scaled losses' gradients
        ("imtl", t => new("imtl", new IMTLL(t), new IMTL(), GradientMode.Parameters)),
        ("imtl-g", t => new("imtl-g", new EqualWeighting(t), new IMTL(), GradientMode.Parameters)),
        ("nash-mtl", t => new("nash-mtl", new EqualWeighting(t), new NashMTL(t.Count), GradientMode.Parameters)),
        ("aligned-mtl", t => new("aligned-mtl", new EqualWeighting(t), new AlignedMTL(), GradientMode.Parameters)),
        ("upgrad", t => new("upgrad", new EqualWeighting(t), new UPGrad(), GradientMode.Parameters)),
        ("dualproj", t => new("dualproj", new EqualWeighting(t), new DualProj(), GradientMode.Parameters)),
        ("config", t => new("config", new EqualWeighting(t), new ConFIG(), GradientMode.Parameters)),
        ("fairgrad", t => new("fairgrad", new EqualWeighting(t), new FairGrad(), GradientMode.Parameters)),
        ("moco", t => new("moco", new EqualWeighting(t), new MoCo(t), GradientMode.Parameters)),
        ("graddrop", t => new("graddrop", new EqualWeighting(t), new GradDrop(), GradientMode.Parameters)),
        ("krum", t => new("krum", new EqualWeighting(t), new Krum(), GradientMode.Parameters)),
        ("trimmed-mean", t => new("trimmed-mean", new EqualWeighting(t), new TrimmedMean(), GradientMode.Parameters)),
    };

    /// <summary>Known names, weighting-only methods first. Fixed weights are built directly with <see cref="FixedWeighting"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = Entries.Select(e => e.Name).ToArray();

    /// <summary>Methods defined only from a number of tasks up: the robust aggregators need a majority to out-vote an
    /// outlier (Krum: f + 3 with f = 0; TrimmedMean: 2·trim + 1 with trim = 1).</summary>
    static readonly Dictionary<string, int> MinimumTasks = new(StringComparer.OrdinalIgnoreCase) { ["krum"] = 3, ["trimmed-mean"] = 3 };

    /// <summary>The fewest tasks method <paramref name="name"/> accepts (1 for most).</summary>
    public static int MinTasks(string name) => MinimumTasks.TryGetValue(name.Trim(), out var n) ? n : 1;

    /// <summary>The known names that accept <paramref name="taskCount"/> tasks, in <see cref="Names"/> order (what a
    /// line-up of "every method" on a given problem runs).</summary>
    public static IReadOnlyList<string> NamesFor(int taskCount) => Names.Where(n => MinTasks(n) <= taskCount).ToArray();

    /// <summary>Builds the method <paramref name="name"/> (case-insensitive) for <paramref name="tasks"/>.</summary>
    public static MethodSpec Create(string name, IReadOnlyList<string> tasks)
    {
        var entry = Entries.FirstOrDefault(e => string.Equals(e.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase));
        if (entry.Create is null)
            throw new ArgumentException($"unknown method '{name}'; known methods: {string.Join(", ", Names)} (fixed weights: FixedWeighting)", nameof(name));
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.GroupBy(t => t, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"method '{entry.Name}': task '{twice.Key}' appears twice in the task names ({string.Join(", ", tasks)}); each task needs a name of its own", nameof(tasks));
        if (tasks.Count < MinTasks(entry.Name))
            throw new ArgumentException($"method '{entry.Name}' needs at least {MinTasks(entry.Name)} tasks, found {tasks.Count} ({string.Join(", ", tasks)})", nameof(tasks));
        return entry.Create(tasks);
    }
}
