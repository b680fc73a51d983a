using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>
/// The input checks every weighting and aggregation method gets, in one place (called by
/// <see cref="WeightingMethod.Weigh"/> and the aggregators' base, <c>GramianAggregator.Aggregate</c>): one row, loss and
/// name per task, names the method knows, no repeated names, at least one task, and finite gradients. A method
/// never sees what it cannot handle, and every method refuses the same inputs with the same message.
/// </summary>
internal static class MethodGuards
{
    /// <summary>Checks a weighting's input against the tasks it was built for.</summary>
    public static void CheckWeighting(string method, WeightingInput input, IReadOnlyList<string> known)
    {
        CheckNames(method, input.Tasks, known);
        int t = input.Tasks.Count;
        if (input.Losses.numel() != t || input.Losses.dim() > 1)
            throw new ArgumentException($"{method}: expected one loss per task ({t}: {string.Join(", ", input.Tasks)}), found losses of shape [{string.Join(", ", input.Losses.shape)}].", nameof(input));
        if (input.RawLosses.Count != t)
            throw new ArgumentException($"{method}: expected one raw loss per task ({t}), found {input.RawLosses.Count}.", nameof(input));
        if (input.TaskGradients is { } g) CheckMatrix(method, g, input.Tasks);
    }

    /// <summary>Checks an aggregator's matrix [T, P] against its task names, its Gramian G·Gᵀ and the losses.</summary>
    public static void CheckAggregation(string method, Tensor matrix, IReadOnlyList<string> tasks, double[,] gramian, IReadOnlyList<double> losses, IReadOnlyList<string>? known = null)
    {
        CheckNames(method, tasks, known);
        if (matrix.dim() != 2 || matrix.shape[0] != tasks.Count)
            throw new ArgumentException($"{method}: expected a gradient matrix [{tasks.Count}, P] (one row per task: {string.Join(", ", tasks)}), found shape [{string.Join(", ", matrix.shape)}].", nameof(matrix));
        int t = tasks.Count;
        if (gramian.GetLength(0) != t || gramian.GetLength(1) != t)
            throw new ArgumentException($"{method}: expected a [{t}, {t}] Gramian, found [{gramian.GetLength(0)}, {gramian.GetLength(1)}].", nameof(gramian));
        if (losses.Count != t)
            throw new ArgumentException($"{method}: expected one loss per task ({t}), found {losses.Count}.", nameof(losses));
        // A NaN or infinite entry in row i makes Gᵢ·Gᵢ non-finite: the Gramian's diagonal finds the task at no extra cost.
        for (int i = 0; i < t; i++)
            if (!double.IsFinite(gramian[i, i]))
                throw new ArgumentException($"{method}: the gradient of task '{tasks[i]}' is not finite (its squared norm is {gramian[i, i]}); expected finite gradients.", nameof(matrix));
    }

    /// <summary>Checks that a weighting returned one weight per task.</summary>
    public static void CheckWeights(string method, Tensor weights, IReadOnlyList<string> tasks)
    {
        if (weights.numel() != tasks.Count || weights.dim() > 1)
            throw new InvalidOperationException($"{method}: returned weights of shape [{string.Join(", ", weights.shape)}] for {tasks.Count} tasks ({string.Join(", ", tasks)}).");
    }

    static void CheckMatrix(string method, Tensor matrix, IReadOnlyList<string> tasks)
    {
        if (matrix.dim() != 2 || matrix.shape[0] != tasks.Count)
            throw new ArgumentException($"{method}: expected task gradients [{tasks.Count}, P] (one row per task: {string.Join(", ", tasks)}), found shape [{string.Join(", ", matrix.shape)}].", nameof(matrix));
        using var scope = NewDisposeScope();
        var finite = matrix.isfinite().all(1).cpu().data<bool>().ToArray();
        for (int i = 0; i < finite.Length; i++)
            if (!finite[i]) throw new ArgumentException($"{method}: the gradient of task '{tasks[i]}' has NaN or infinite entries; expected finite gradients.", nameof(matrix));
    }

    static void CheckNames(string method, IReadOnlyList<string> tasks, IReadOnlyList<string>? known)
    {
        if (tasks.Count == 0) throw new ArgumentException($"{method}: expected at least one task, found none.", nameof(tasks));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in tasks)
        {
            if (!seen.Add(name)) throw new ArgumentException($"{method}: task '{name}' appears twice; expected distinct task names.", nameof(tasks));
            if (known != null && !known.Contains(name))
                throw new ArgumentException($"{method}: unknown task '{name}'; the method was built for {string.Join(", ", known)}.", nameof(tasks));
        }
    }
}
