using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>
/// The shared representation z of one forward pass (attached to the trunk's graph) and, per task, the detached leaf
/// copy of z that the task's branch read. Per-task gradients with respect to the leaves cost one backward through
/// each task's own layers; the aggregated gradient then goes through the trunk once via <c>z.backward(d)</c>.
/// Tasks stopped at the trunk have no leaf.
/// </summary>
public sealed record SharedRepresentation(Tensor Shared, IReadOnlyDictionary<string, Tensor> TaskLeaves);
