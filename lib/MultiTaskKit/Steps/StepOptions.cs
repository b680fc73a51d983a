using MultiTaskKit.Aggregation;
using MultiTaskKit.Weighting;

namespace MultiTaskKit.Steps;

/// <summary>What to do when a task's loss is NaN or ±Inf.</summary>
public enum NonFiniteLossPolicy
{
    /// <summary>Throw <see cref="NonFiniteLossException"/> naming the task and the step.</summary>
    Throw,
    /// <summary>Leave all gradients at zero and return diagnostics with <see cref="StepDiagnostics.Skipped"/> set; the
    /// caller must then not call <c>optimizer.step()</c> (Adam's momentum would still move the weights).</summary>
    SkipStep,
}

/// <summary>What to do when some of the model's tasks have no loss (no batch) this step.</summary>
public enum MissingTaskPolicy
{
    /// <summary>Train the present tasks; the absent ones are listed in <see cref="StepDiagnostics.MissingTasks"/> and
    /// their parameters get no gradient (their <c>.grad</c> stays zero).</summary>
    TrainPresent,
    /// <summary>Throw, naming the absent tasks.</summary>
    Throw,
}

/// <summary>Options of one <see cref="MultiTaskStep.Backward"/> call. Defaults: parameter gradients, no clipping, throw on
/// non-finite losses, train the tasks present.</summary>
public sealed record StepOptions
{
    /// <summary>0-based optimisation step (named in errors; given to methods in <see cref="StepContext"/>).</summary>
    public long Step { get; init; }

    /// <summary>0-based epoch (given to methods).</summary>
    public int Epoch { get; init; }

    /// <summary>The caller's loss history, for DWA, GradNorm and FAMO. The engine reads it and never writes it.</summary>
    public LossHistory? History { get; init; }

    public GradientMode Gradients { get; init; } = GradientMode.Parameters;

    /// <summary>The forward pass's shared representation, required in <see cref="GradientMode.Representation"/>.</summary>
    public Models.SharedRepresentation? Representation { get; init; }

    /// <summary>Clip the final gradient of all model parameters (shared and task-specific, not strategy state) to this
    /// global L2 norm; null = no clipping.</summary>
    public double? MaxGradNorm { get; init; }

    /// <summary>Clip each task's shared gradient row to this L2 norm before aggregation (per-task clipping). Needs the
    /// per-task gradients, so it turns a weighting-only step into one backward per task.</summary>
    public double? MaxTaskGradNorm { get; init; }

    /// <summary>Take per-task gradients even for weighting-only methods without an aggregator, so that the gradient
    /// diagnostics (norms, cosines, conflicts) are available. Costs one backward per task instead of one in total.</summary>
    public bool TaskGradientDiagnostics { get; init; }

    /// <summary>Add this step's gradients to the <c>.grad</c> already present (gradient accumulation) instead of
    /// replacing them. Global clipping then applies to this step's contribution only; clip the sum yourself with
    /// <see cref="MultiTaskStep.ClipGradNorm"/> before <c>optimizer.step()</c>.</summary>
    public bool AccumulateGradients { get; init; }

    public NonFiniteLossPolicy OnNonFiniteLoss { get; init; } = NonFiniteLossPolicy.Throw;

    public MissingTaskPolicy OnMissingTask { get; init; } = MissingTaskPolicy.TrainPresent;
}

/// <summary>A task's loss was NaN or infinite.</summary>
/// <summary>A finite loss whose gradient is not finite (NaN or ±∞), e.g. a square root at 0; names the task it reached.</summary>
public sealed class NonFiniteGradientException(string task, long step, string where)
    : Exception($"step {step}: the gradient of task '{task}' is not finite ({where}) although its loss is; look for a square root, log or division at 0 in the loss, or set StepOptions.OnNonFiniteLoss = SkipStep")
{
    public string Task { get; } = task;
    public long Step { get; } = step;
}

public sealed class NonFiniteLossException : Exception
{
    public NonFiniteLossException(string task, long step, double value)
        : base($"step {step}: the loss of task '{task}' is {value}; lower the learning rate, clip gradients " +
               "(StepOptions.MaxGradNorm), check the targets, or set StepOptions.OnNonFiniteLoss = SkipStep")
    {
        Task = task; Step = step; Value = value;
    }

    public string Task { get; }
    public long Step { get; }
    public double Value { get; }
}
