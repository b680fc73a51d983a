using MultiTaskKit.Weighting;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Steps;

/// <summary>
/// What one step did, read from the gradient matrix the methods already build (no extra pass). In a weighting-only step
/// without an aggregator (one backward in total) the per-task gradients never exist, so <see cref="SharedGradientNorms"/>,
/// <see cref="Cosines"/> and <see cref="ConflictingPairs"/> are null; set <see cref="StepOptions.TaskGradientDiagnostics"/>
/// to get them at the cost of one backward per task.
/// </summary>
public sealed record StepDiagnostics
{
    public long Step { get; init; }

    /// <summary>Tasks that had a loss this step, in model order (the order of <see cref="Cosines"/>).</summary>
    public IReadOnlyList<string> Tasks { get; init; } = Array.Empty<string>();

    /// <summary>Model tasks that had no loss this step.</summary>
    public IReadOnlyList<string> MissingTasks { get; init; } = Array.Empty<string>();

    /// <summary>Raw (untransformed, unweighted) loss per present task.</summary>
    public IReadOnlyDictionary<string, double> Losses { get; init; } = new Dictionary<string, double>();

    /// <summary>The loss weights the weighting method gave (the multipliers of the transformed losses).</summary>
    public IReadOnlyDictionary<string, double> Weights { get; init; } = new Dictionary<string, double>();

    /// <summary>The aggregator's combination weights, when its update is Σ wᵢ·gᵢ; null without an aggregator.</summary>
    public IReadOnlyDictionary<string, double>? AggregationWeights { get; init; }

    /// <summary>L2 norm of each task's (weighted) gradient on the shared parameters or representation, before per-task clipping.</summary>
    public IReadOnlyDictionary<string, double>? SharedGradientNorms { get; init; }

    /// <summary>Pairwise cosine similarity of the task gradients, [T, T] in <see cref="Tasks"/> order.</summary>
    public double[,]? Cosines { get; init; }

    /// <summary>Pairs of tasks whose gradients have a negative dot product.</summary>
    public int? ConflictingPairs { get; init; }

    /// <summary>Tasks whose gradient row was scaled down by <see cref="StepOptions.MaxTaskGradNorm"/>.</summary>
    public IReadOnlyList<string> ClippedTasks { get; init; } = Array.Empty<string>();

    /// <summary>Global L2 norm of the model parameters' gradient before clipping; null when global clipping is off.</summary>
    public double? GradientNorm { get; init; }

    /// <summary>Backward passes this step took (1 for weighting-only; T, or T + 1 in rep-grad mode, for gradient methods).</summary>
    public int BackwardPasses { get; init; }

    public GradientMode Mode { get; init; }

    /// <summary>True when the step was skipped (non-finite loss with <see cref="NonFiniteLossPolicy.SkipStep"/>); do not step the optimiser.</summary>
    public bool Skipped { get; init; }

    public string? SkipReason { get; init; }

    /// <summary>cos(gₐ, g_b) by task names; null when unavailable.</summary>
    public double? Cosine(string a, string b)
    {
        if (Cosines is null) return null;
        int i = IndexOf(a), j = IndexOf(b);
        return Cosines[i, j];
    }

    int IndexOf(string task)
    {
        for (int i = 0; i < Tasks.Count; i++) if (Tasks[i] == task) return i;
        throw new ArgumentException($"task '{task}' was not in this step (tasks: {string.Join(", ", Tasks)})", nameof(task));
    }
}

/// <summary>Feeds the step engine's diagnostics to a <see cref="LossHistory"/> (which, in the weighting layer, knows nothing of the engine).</summary>
public static class LossHistoryExtensions
{
    /// <summary>Records the losses of a step the engine did not skip.</summary>
    public static void Record(this LossHistory history, StepDiagnostics diagnostics)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (!diagnostics.Skipped) history.Record(diagnostics.Losses);
    }
}
