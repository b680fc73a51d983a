using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Benchmarks;

/// <summary>What the interleaved timing runs: a training step, or anything else timed as one.</summary>
public interface ITimedStep
{
    string Name { get; }
    IReadOnlyList<BatchShape> Tasks { get; }
    long TokensPerStep { get; }
    /// <summary>The matrix FLOPs the step is credited with (<see cref="StepFlops.Training"/>).</summary>
    double TrainingFlops { get; }
    void SetTraining(bool training);
    void Step();
}

/// <summary>
/// A multi-task training step to time: a model that returns the summed loss of one fixed batch per task, and AdamW.
/// Subclasses build the model; this class owns the step and the pieces the profiler times apart. The step reads no
/// value back to the host (no <c>.item()</c>), as a training loop that logs every N steps would not.
/// </summary>
public abstract class BenchStep : ITimedStep, IDisposable
{
    optim.Optimizer? optimizer;

    protected BenchStep(string name, TransformerShape shape, IReadOnlyList<BatchShape> tasks)
    {
        shape.Validate();
        if (tasks.Count == 0) throw new ArgumentException("BenchStep: expected at least one task batch, found none.", nameof(tasks));
        Name = name;
        Shape = shape;
        Tasks = tasks;
    }

    public string Name { get; }
    public TransformerShape Shape { get; }
    public IReadOnlyList<BatchShape> Tasks { get; }
    public long TokensPerStep => Tasks.Sum(t => t.TokenCount);
    public double TrainingFlops => StepFlops.Training(Shape, Tasks);

    /// <summary>Everything with parameters.</summary>
    public abstract nn.Module Model { get; }

    /// <summary>The forward pass of all tasks on their fixed batches: the summed loss, a scalar.</summary>
    public abstract Tensor Loss();

    protected optim.Optimizer Optimizer => optimizer ??= CreateOptimizer();

    /// <summary>AdamW at lr 5e-5, weight decay 0.01: TorchSharp's own here (the naive baseline); the kit's step uses the trainer's.</summary>
    protected virtual optim.Optimizer CreateOptimizer() => torch.optim.AdamW(Model.parameters(), lr: 5e-5, weight_decay: 0.01);

    /// <summary>Dropout on (training mode) or off (evaluation mode).</summary>
    public void SetTraining(bool training) => Model.train(training);

    /// <summary>One full step: forward, backward, AdamW. The kit's step runs the trainer's <see cref="Training.TrainingStep"/> instead.</summary>
    public virtual void Step()
    {
        using (NewDisposeScope())
        {
            Backward();
            Optimizer.step();
        }
        OnStepEnd();
    }

    /// <summary>After each full step, outside its dispose scope (nothing by default).</summary>
    protected virtual void OnStepEnd() { }

    /// <summary>Clears the gradients and fills them from one forward pass. The kit's step runs its step engine here.</summary>
    protected virtual void Backward()
    {
        Model.zero_grad(); // set to none: no pass over the gradient memory
        Loss().backward();
    }

    /// <summary>The forward pass alone, building the graph as training does.</summary>
    public void Forward()
    {
        using var scope = NewDisposeScope();
        Loss();
    }

    /// <summary>The forward pass without autograd, as inference runs.</summary>
    public void ForwardNoGrad()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Loss();
    }

    /// <summary>Forward and backward, no optimiser.</summary>
    public void ForwardBackward()
    {
        using var scope = NewDisposeScope();
        Backward();
    }

    /// <summary>The optimiser's step alone (on whatever gradients the last backward left).</summary>
    public void OptimizerStep()
    {
        using var scope = NewDisposeScope();
        Optimizer.step();
    }

    /// <summary>Random token ids in [1000, vocab) for the fixed batches (away from BERT's special ids).</summary>
    protected static Tensor RandomIds(BatchShape t, int vocab, Generator g) =>
        randint(Math.Min(1000, vocab / 2), vocab, new long[] { t.Batch, t.Tokens }, dtype: int64, device: TorchRuntime.DefaultDevice, generator: g);

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            optimizer?.Dispose();
            Model.Dispose();
        }
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }
}
