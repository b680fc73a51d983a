using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>The kind of prediction a head makes; evaluation picks its metrics from it.</summary>
public enum HeadKind { Classification, Regression, MultiLabel, TokenClassification, Custom }

/// <summary>
/// A task head: maps the trunk's pooled vector [batch, features] to the task's prediction, and owns the task's loss.
/// </summary>
public abstract class TaskHead : nn.Module<Tensor, Tensor>
{
    protected TaskHead(string name) : base(name) { }

    public abstract HeadKind Kind { get; }

    /// <summary>Whether the head reads every token's vector ([batch, tokens, features]) rather than the pooled one:
    /// architectures then skip the pool for this task (<see cref="TokenClassificationHead"/>).</summary>
    public virtual bool ReadsTokens => false;

    /// <summary>The scalar training loss of <paramref name="prediction"/> (this head's output) against <paramref name="target"/>.</summary>
    public abstract Tensor Loss(Tensor prediction, Tensor target);
}
