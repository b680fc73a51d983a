using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>
/// Fixed weights, the article's L = Σᵢ wᵢ·Lᵢ with user-chosen, constant wᵢ ≥ 0 (linear scalarisation).
/// One backward per step.
/// </summary>
public sealed class FixedWeighting : WeightingMethod
{
    readonly double[] weights;

    /// <param name="tasks">The model's tasks.</param>
    /// <param name="weights">Task name to weight; every task needs one, finite and ≥ 0, not all zero.</param>
    public FixedWeighting(IReadOnlyList<string> tasks, IReadOnlyDictionary<string, double> weights) : base("fixed_weighting", tasks)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var unknown = weights.Keys.Where(k => !tasks.Contains(k)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"weights: unknown task(s) {string.Join(", ", unknown)}; expected one weight for each of {string.Join(", ", tasks)}", nameof(weights));
        var missing = tasks.Where(t => !weights.ContainsKey(t)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"weights: expected {tasks.Count} weights (one per task: {string.Join(", ", tasks)}), found {weights.Count}; missing {string.Join(", ", missing)}", nameof(weights));
        this.weights = tasks.Select(t => weights[t]).ToArray();
        Validate(this.weights, tasks);
    }

    /// <param name="tasks">The model's tasks.</param>
    /// <param name="weights">One weight per task, in task order.</param>
    public FixedWeighting(IReadOnlyList<string> tasks, IReadOnlyList<double> weights) : base("fixed_weighting", tasks)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Count != tasks.Count)
            throw new ArgumentException($"weights: expected {tasks.Count} weights (one per task: {string.Join(", ", tasks)}), found {weights.Count}", nameof(weights));
        this.weights = weights.ToArray();
        Validate(this.weights, tasks);
    }

    static void Validate(double[] w, IReadOnlyList<string> tasks)
    {
        for (int i = 0; i < w.Length; i++)
            if (!double.IsFinite(w[i]) || w[i] < 0)
                throw new ArgumentException($"weights: expected a finite weight ≥ 0 for task '{tasks[i]}', found {w[i]}", "weights");
        if (w.All(x => x == 0)) throw new ArgumentException("weights: all weights are 0, so nothing would train", "weights");
    }

    public IReadOnlyList<double> Weights => weights;

    public override string Name => "Fixed";

    protected override WeightingResult Compute(WeightingInput input)
    {
        var w = input.Tasks.Select(t => weights[IndexOf(t)]).ToArray();
        return new(tensor(w, dtype: input.Losses.dtype, device: input.Losses.device));
    }

    public override string ToString() => $"Fixed({string.Join(", ", AllTasks.Select((t, i) => $"{t}={Format(weights[i])}"))})";
}
