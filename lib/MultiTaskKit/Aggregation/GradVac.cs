using MultiTaskKit.Weighting;
using MultiTaskKit.Runtime;
using static TorchSharp.torch;

namespace MultiTaskKit.Aggregation;

/// <summary>Options of <see cref="GradVac"/>.</summary>
/// <param name="Beta">β: the rate of the exponential moving average of the observed cosine similarities that sets each pair's
/// target φ̂ᵢⱼ; default 0.5 (LibMTL's default).</param>
/// <param name="Seed">Seeds the random order over the other tasks, per step; default 0.</param>
/// <param name="Groups">Over which column groups the cosines, targets and corrections are taken (LibMTL's group_type);
/// default <see cref="GradVacGroups.WholeModel"/>.</param>
public sealed record GradVacOptions(double Beta = 0.5, long Seed = 0, GradVacGroups Groups = GradVacGroups.WholeModel);

/// <summary>The granularity of <see cref="GradVac"/> (LibMTL's <c>GradVac_group_type</c> 0, 1, 2).</summary>
public enum GradVacGroups
{
    /// <summary>One group: the whole shared gradient (type 0).</summary>
    WholeModel = 0,
    /// <summary>One group per module owning parameters, e.g. a linear layer's weight and bias together (type 1,
    /// LibMTL's leaf modules; here consecutive parameters with the same module name).</summary>
    PerLayer = 1,
    /// <summary>One group per parameter tensor (type 2).</summary>
    PerParameter = 2,
}

/// <summary>
/// GradVac (Gradient Vaccine): like PCGrad, but instead of only removing conflict it pulls each pair's cosine
/// similarity φᵢⱼ up to an adaptive target φ̂ᵢⱼ. For each task i and each other task j in random order: if φᵢⱼ &lt; φ̂ᵢⱼ,
/// gᵢ' ← gᵢ' + ‖gᵢ'‖(φ̂ᵢⱼ√(1−φᵢⱼ²) − φᵢⱼ√(1−φ̂ᵢⱼ²)) / (‖gⱼ‖√(1−φ̂ᵢⱼ²)) · gⱼ; then φ̂ᵢⱼ ← (1−β)φ̂ᵢⱼ + βφᵢⱼ.
/// The update is Σᵢ gᵢ'. Targets start at 0, so the first step behaves as PCGrad.
/// <para>Wang et al., "Gradient Vaccine: Investigating and Improving Multi-task Optimization in Massively Multilingual
/// Models", ICLR 2021 (https://openreview.net/forum?id=F1vEjWK-lH_), Algorithm 1, on the whole shared gradient or, as
/// the paper does for Transformers, per layer or per parameter (<see cref="GradVacGroups"/>): each group has its own
/// cosines, targets and corrections, with the same task order for all groups (as LibMTL).</para>
/// <para>The targets φ̂ are a registered buffer (<c>targets</c>): [T, T] for the whole model, [T, T, K] for K groups,
/// registered at the first step once K is known from the model's parameters (so a fresh grouped GradVac loads a
/// checkpoint after <see cref="SizeGroups"/>; targets start at 0, so moving the model to a device before the first step
/// loses nothing). They save and load with the model when the aggregator is attached. Grouped
/// GradVac needs parameter gradients (the engine passes <see cref="AggregationInput.Blocks"/>); on the shared
/// representation it falls back to the whole-model form. Hyperparameters (<see cref="GradVacOptions"/>): Beta = 0.5,
/// Seed = 0, Groups = WholeModel.</para>
/// </summary>
public sealed class GradVac : GramianAggregator
{
    // looked up by name at use: Module.to() re-registers moved buffers, leaving a cached field behind
    Tensor TargetBuffer => get_buffer("targets")!;

    public GradVacOptions Options { get; }
    public IReadOnlyList<string> AllTasks { get; }
    protected override IReadOnlyList<string>? KnownTasks => AllTasks;

    public GradVac(IReadOnlyList<string> tasks, GradVacOptions? options = null) : base("gradvac")
    {
        Options = options ?? new();
        if (Options.Beta is <= 0 or > 1 || double.IsNaN(Options.Beta)) throw new ArgumentOutOfRangeException(nameof(options), Options.Beta, "Beta: expected a value in (0, 1]");
        AllTasks = tasks.ToArray();
        // grouped targets are registered once the number of groups is known (SizeGroups, or the first step)
        if (Options.Groups == GradVacGroups.WholeModel)
            register_buffer("targets", zeros(new long[] { tasks.Count, tasks.Count }, dtype: ScalarType.Float64));
    }

    public override string Name => Options.Groups switch
    {
        GradVacGroups.PerLayer => "GradVac (per layer)",
        GradVacGroups.PerParameter => "GradVac (per parameter)",
        _ => "GradVac",
    };

    /// <summary>The column groups of <paramref name="blocks"/> for <see cref="GradVacOptions.Groups"/>: (offset, length)
    /// pairs covering the columns in order.</summary>
    public IReadOnlyList<(long Offset, long Length)> GroupsOf(IReadOnlyList<ParameterBlock> blocks)
    {
        var groups = new List<(long Offset, long Length)>();
        string? module = null;
        foreach (var b in blocks)
        {
            if (b.Length == 0) continue;
            if (Options.Groups == GradVacGroups.PerLayer && groups.Count > 0 && b.Module == module && groups[^1].Offset + groups[^1].Length == b.Offset)
                groups[^1] = (groups[^1].Offset, groups[^1].Length + b.Length);
            else groups.Add((b.Offset, b.Length));
            module = b.Module;
        }
        return groups;
    }

    /// <summary>Sizes the grouped targets for <paramref name="groups"/> groups (zeros), as the first step does; call it
    /// before loading a checkpoint of a grouped GradVac into a fresh one.</summary>
    public void SizeGroups(int groups)
    {
        if (Options.Groups == GradVacGroups.WholeModel) throw new InvalidOperationException("GradVac: the whole-model form has no groups to size");
        if (get_buffer("targets") is { } current)
        {
            if (current.shape[2] == groups) return;
            throw new InvalidOperationException($"GradVac: the targets are sized for {current.shape[2]} groups, the model's shared parameters make {groups}");
        }
        // registered during a step, inside the caller's dispose scope: the buffer must outlive it
        register_buffer("targets", zeros(new long[] { AllTasks.Count, AllTasks.Count, groups }, dtype: ScalarType.Float64).DetachFromDisposeScope());
    }

    public override AggregationResult Aggregate(Tensor taskGradients, AggregationInput input)
    {
        MethodGuards.CheckAggregation(Name, taskGradients, input.Tasks, input.Gramian, input.Losses, KnownTasks);
        if (Options.Groups == GradVacGroups.WholeModel || input.Blocks is null) return WholeModel(taskGradients, input);
        int t = input.Gramian.GetLength(0);
        if (taskGradients.dim() != 2 || taskGradients.shape[0] != t)
            throw new ArgumentException($"{Name}: expected a [{t}, P] gradient matrix, found shape [{string.Join(", ", taskGradients.shape)}]", nameof(taskGradients));
        var groups = GroupsOf(input.Blocks);
        if (groups.Sum(g => g.Length) != taskGradients.shape[1])
            throw new ArgumentException($"{Name}: the parameter blocks cover {groups.Sum(g => g.Length)} columns, the matrix has {taskGradients.shape[1]}", nameof(input));
        SizeGroups(groups.Count);
        var index = input.Tasks.Select(IndexOf).ToArray();
        int n = AllTasks.Count, k = groups.Count;
        var flat = TargetBuffer.cpu().data<double>().ToArray();
        using var scope = NewDisposeScope();
        var parts = new Tensor[k];
        for (int group = 0; group < k; group++)
        {
            var block = taskGradients.narrow(1, groups[group].Offset, groups[group].Length);
            var gramian = GradientMatrix.Gramian(block);
            var phiHat = new double[n, n];
            for (int a = 0; a < n; a++) for (int b = 0; b < n; b++) phiHat[a, b] = flat[(a * n + b) * k + group];
            var w = Adjusted(gramian, phiHat, index, input.Context.Step);
            for (int a = 0; a < n; a++) for (int b = 0; b < n; b++) flat[(a * n + b) * k + group] = phiHat[a, b];
            parts[group] = GradientMatrix.Combine(block, w);
        }
        var buffer = TargetBuffer;
        using (no_grad()) buffer.copy_(tensor(flat, new long[] { n, n, k }, dtype: ScalarType.Float64, device: buffer.device));
        return new AggregationResult(cat(parts, 0).MoveToOuterDisposeScope(), null);
    }

    AggregationResult WholeModel(Tensor taskGradients, AggregationInput input) => base.Aggregate(taskGradients, input);

    /// <summary>The current targets φ̂ [T, T] (a copy; for grouped GradVac, the first group's).</summary>
    public double[,] Targets
    {
        get
        {
            int n = AllTasks.Count;
            if (get_buffer("targets") is not { } buffer) return new double[n, n];
            long k = buffer.dim() == 3 ? buffer.shape[2] : 1;
            var flat = buffer.cpu().data<double>().ToArray();
            var r = new double[n, n];
            if (k > 0) for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) r[i, j] = flat[(i * n + j) * k];
            return r;
        }
    }

    public override double[] Weights(double[,] gramian, AggregationInput input)
    {
        if (Options.Groups != GradVacGroups.WholeModel) SizeGroups(1); // grouped GradVac on a representation: one group
        var index = input.Tasks.Select(name => IndexOf(name)).ToArray();
        int n = AllTasks.Count;
        var flat = TargetBuffer.cpu().data<double>().ToArray();
        var phiHat = new double[n, n];
        for (int a = 0; a < n; a++) for (int b = 0; b < n; b++) phiHat[a, b] = flat[a * n + b];
        var total = Adjusted(gramian, phiHat, index, input.Context.Step);
        for (int a = 0; a < n; a++) for (int b = 0; b < n; b++) flat[a * n + b] = phiHat[a, b];
        var buffer = TargetBuffer;
        using (no_grad()) buffer.copy_(tensor(flat, buffer.shape, dtype: ScalarType.Float64, device: buffer.device));
        return total;
    }

    /// <summary>Algorithm 1 on one group's Gramian: the summed coefficients, and <paramref name="phiHat"/> updated in place.</summary>
    double[] Adjusted(double[,] gramian, double[,] phiHat, int[] index, long step)
    {
        var norms = GradientMatrix.Norms(gramian);
        return SumOfAdjustedGradients(gramian, Options.Seed, step, (i, j, c, dot) =>
        {
            double normI = Math.Sqrt(Math.Max(SmallSolvers.Quadratic(gramian, c), 0));
            double phi = dot / (normI * norms[j] + 1e-8);
            ref double target = ref phiHat[index[i], index[j]];
            if (phi < target)
            {
                double s = Math.Sqrt(Math.Max(1 - target * target, 0));
                c[j] += normI * (target * Math.Sqrt(Math.Max(1 - phi * phi, 0)) - phi * s) / (norms[j] * s + 1e-8);
            }
            target = (1 - Options.Beta) * target + Options.Beta * phi;
        });
    }

    int IndexOf(string task)
    {
        for (int i = 0; i < AllTasks.Count; i++) if (AllTasks[i] == task) return i;
        throw new ArgumentException($"GradVac: unknown task '{task}'; built for {string.Join(", ", AllTasks)}");
    }

    public override string ToString() => Options.Groups == GradVacGroups.WholeModel
        ? $"GradVac(Beta={Format(Options.Beta)}, Seed={Options.Seed})"
        : $"GradVac(Beta={Format(Options.Beta)}, Seed={Options.Seed}, Groups={Options.Groups})";
}
