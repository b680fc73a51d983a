using static TorchSharp.torch;

namespace MultiTaskKit.Weighting;

/// <summary>
/// A loss-level method: maps this step's task losses (and, for some methods, the per-task gradient matrix) to
/// non-negative task weights. The step engine (<see cref="Steps.MultiTaskStep"/>) then backpropagates Σ wᵢ·ℓᵢ, where ℓᵢ is
/// <see cref="TransformLosses"/> of the raw loss (identity for most methods, log for DB-MTL and FAMO).
/// <para>State a method needs from outside (step index, earlier losses) arrives in <see cref="WeightingInput.Context"/>;
/// learnable state is a registered parameter of the method, which is an <c>nn.Module</c>, attached to the model with
/// <see cref="Models.MultiTaskNetwork.AttachStrategy"/>.</para>
/// </summary>
public interface ILossWeighting
{
    /// <summary>The method's short name, as in its paper.</summary>
    string Name { get; }

    /// <summary>True when <see cref="Weigh"/> reads the per-task gradient matrix (GradNorm, DB-MTL). The step engine then
    /// takes one backward per task instead of one in total.</summary>
    bool NeedsTaskGradients { get; }

    /// <summary>Applied to the stacked raw losses [T] of <paramref name="tasks"/> (the present tasks, model order) before
    /// weighting. Must keep the graph.</summary>
    Tensor TransformLosses(Tensor losses, IReadOnlyList<string> tasks) => losses;

    /// <summary>The weights of the present tasks, in the order of <see cref="WeightingInput.Tasks"/>.</summary>
    WeightingResult Weigh(WeightingInput input);
}

/// <summary>What a weighting sees in one step.</summary>
/// <param name="Tasks">The tasks that have a loss this step, in model order.</param>
/// <param name="Losses">Their transformed losses [T], attached to the graph.</param>
/// <param name="RawLosses">The untransformed loss values, on the host.</param>
/// <param name="Context">Step index, epoch and the caller's loss history.</param>
/// <param name="TaskGradients">Only for methods with <see cref="ILossWeighting.NeedsTaskGradients"/>: [T, P], row i the
/// gradient of ℓᵢ (unweighted) w.r.t. the shared parameters or representation, on the device.</param>
public sealed record WeightingInput(IReadOnlyList<string> Tasks, Tensor Losses, IReadOnlyList<double> RawLosses, StepContext Context, Tensor? TaskGradients = null);

/// <summary>A weighting's answer.</summary>
/// <param name="Weights">[T] non-negative weights. May be attached to the method's learnable state (uncertainty weighting):
/// the engine backpropagates through them.</param>
/// <param name="ExtraLoss">A scalar the engine backpropagates as well (uncertainty weighting's log-variance regulariser,
/// GradNorm's gradient loss on its weights), or null.</param>
/// <param name="TaskGradients">Replacement rows for the gradient matrix (DB-MTL's moving average), or null to keep them.</param>
/// <param name="ScaleTaskParameters">Whether the task-specific parameters' gradients are scaled by the weights too
/// (false for DB-MTL, whose weights balance only the shared gradient).</param>
public sealed record WeightingResult(Tensor Weights, Tensor? ExtraLoss = null, Tensor? TaskGradients = null, bool ScaleTaskParameters = true);

/// <summary>The step's position, given explicitly by the caller (methods never read trainer state).</summary>
/// <param name="Step">0-based optimisation step.</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="History">Losses of earlier steps and epochs, owned and recorded by the caller; needed by DWA, GradNorm, FAMO.</param>
public sealed record StepContext(long Step = 0, int Epoch = 0, LossHistory? History = null);
