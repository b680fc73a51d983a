using MultiTaskKit.Steps;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using MultiTaskKit.Optim;

namespace MultiTaskKit.Steps;

/// <summary>
/// One micro-batch of a <see cref="TrainingStep"/>: either each task's own input (<see cref="Inputs"/>) or one input
/// every task reads (<see cref="SharedInput"/>, which rep-grad needs), and a target per task.
/// </summary>
public sealed record StepBatch
{
    /// <summary>Each task's own input; tasks absent here have no batch this micro-step.</summary>
    public IReadOnlyDictionary<string, TrunkInput>? Inputs { get; init; }

    /// <summary>One input for every task of the model.</summary>
    public TrunkInput? SharedInput { get; init; }

    public required IReadOnlyDictionary<string, Tensor> Targets { get; init; }

    /// <summary>
    /// With a <see cref="SharedInput"/> whose rows are labelled for some tasks only: per task, the rows (int64 indices
    /// into the batch) that carry its label, in the order of its <see cref="Targets"/>. Each task's loss is then taken
    /// over those rows alone; a task absent here and from <see cref="Targets"/> has no loss this micro-step. Null: every
    /// row is labelled for every task in <see cref="Targets"/>.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor>? LabelledRows { get; init; }

    /// <summary>Tokens (or rows) the batch holds, summed into <see cref="TrainingStepResult.Tokens"/>.</summary>
    public long Tokens { get; init; }

    /// <summary>Disposed when the micro-step ends (the batch's own tensors and buffers), even when it throws.</summary>
    public IDisposable? Owner { get; init; }

    public static StepBatch PerTask(IReadOnlyDictionary<string, TrunkInput> inputs, IReadOnlyDictionary<string, Tensor> targets,
        long tokens = 0, IDisposable? owner = null) => new() { Inputs = inputs, Targets = targets, Tokens = tokens, Owner = owner };

    public static StepBatch Shared(TrunkInput input, IReadOnlyDictionary<string, Tensor> targets, long tokens = 0, IDisposable? owner = null) =>
        new() { SharedInput = input, Targets = targets, Tokens = tokens, Owner = owner };
}

/// <summary>Disposes what a micro-batch owns when the step is done with it.</summary>
internal sealed class DisposeAll(IEnumerable<IDisposable> items) : IDisposable
{
    public void Dispose() { foreach (var item in items) item.Dispose(); }
}

/// <summary>Options of a <see cref="TrainingStep"/>: what the step adds around the engine (accumulation, the schedule,
/// epochs, sampled diagnostics) and, in <see cref="Engine"/>, the engine's own options, written once. Defaults: one
/// micro-step, no clipping, constant learning rate, parameter gradients, no sampled gradient diagnostics, throw on a
/// non-finite loss.</summary>
public sealed record TrainingStepOptions
{
    /// <summary>The step engine's options (<see cref="MultiTaskStep.Backward"/>): gradient mode, global clipping
    /// (<see cref="StepOptions.MaxGradNorm"/>; with accumulation, applied once to the averaged gradient), per-task
    /// clipping, what to do with a non-finite loss or a missing task. The step fills in the per-call fields (step, epoch,
    /// history, representation, accumulation, diagnostics) itself.</summary>
    public StepOptions Engine { get; init; } = new();

    /// <summary>Micro-batches per optimizer step; their gradients are averaged.</summary>
    public int GradAccumulation { get; init; } = 1;

    /// <summary>Multiplies each parameter group's base learning rate before every step (null: constant rates).</summary>
    public LearningRateSchedule? Schedule { get; init; }

    /// <summary>A further multiplier read before every step (null: 1), for what changes with evaluations rather than
    /// with the step: reduce-on-plateau (<see cref="PlateauReducer"/>).</summary>
    public Func<double>? RateMultiplier { get; init; }

    /// <summary>Optimizer steps per epoch: closes an epoch of the <see cref="LossHistory"/> (DWA's period) and numbers
    /// the epochs the methods see.</summary>
    public long StepsPerEpoch { get; init; } = long.MaxValue;

    /// <summary>Take per-task gradients for their diagnostics every N optimizer steps when a micro-batch holds more than
    /// one task (0: never; 1: every step). See <see cref="StepOptions.TaskGradientDiagnostics"/>.</summary>
    public int TaskGradientDiagnosticsEvery { get; init; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Engine, nameof(Engine));
        if (GradAccumulation < 1) throw new ArgumentOutOfRangeException(nameof(GradAccumulation), GradAccumulation, "GradAccumulation: expected at least 1 micro-batch per step");
        if (StepsPerEpoch < 1) throw new ArgumentOutOfRangeException(nameof(StepsPerEpoch), StepsPerEpoch, "StepsPerEpoch: expected at least 1");
        if (TaskGradientDiagnosticsEvery < 0) throw new ArgumentOutOfRangeException(nameof(TaskGradientDiagnosticsEvery), TaskGradientDiagnosticsEvery, "TaskGradientDiagnosticsEvery: expected 0 (never) or a positive period");
        if (Engine.MaxGradNorm is { } m && !(m > 0)) throw new ArgumentOutOfRangeException(nameof(Engine), m, "Engine.MaxGradNorm: expected a positive norm");
    }
}

/// <summary>What one optimizer step did.</summary>
/// <param name="Step">0-based index of the step taken.</param>
/// <param name="Epoch">0-based epoch the step belongs to.</param>
/// <param name="MicroSteps">The step engine's diagnostics of each micro-batch, in order.</param>
/// <param name="Losses">Each task's raw loss, averaged over the micro-batches.</param>
/// <param name="LearningRateFactor">The schedule's multiplier (1 without a schedule).</param>
/// <param name="LearningRates">The learning rate each parameter group stepped with.</param>
/// <param name="Skipped">True when a micro-batch had a non-finite loss under <see cref="NonFiniteLossPolicy.SkipStep"/>:
/// the optimizer did not step (Adam's momentum would still have moved the weights).</param>
/// <param name="EpochEnded">True when this step closed an epoch.</param>
/// <param name="Tokens">Tokens (or rows) of all micro-batches.</param>
public sealed record TrainingStepResult(long Step, int Epoch, IReadOnlyList<StepDiagnostics> MicroSteps,
    IReadOnlyDictionary<string, double> Losses, double LearningRateFactor, IReadOnlyList<double> LearningRates,
    bool Skipped, bool EpochEnded, long Tokens)
{
    /// <summary>The last micro-batch's diagnostics (weights, gradient norms, cosines).</summary>
    public StepDiagnostics Last => MicroSteps[^1];
}

/// <summary>
/// The kit's one training step, used by the trainer, the bench, the synthetic problems and the tutorials:
/// <list type="number">
/// <item>for each of <see cref="TrainingStepOptions.GradAccumulation"/> micro-batches, in its own dispose scope: the
/// forward pass, the per-task losses and the step engine (<see cref="MultiTaskStep.Backward"/>: weighting, aggregator,
/// per-task clipping), adding to the gradients of the earlier micro-batches; the loss history records each;</item>
/// <item>the gradients averaged over the micro-batches and clipped to a global norm;</item>
/// <item>each parameter group's learning rate set from its base rate and the schedule;</item>
/// <item><c>optimizer.step()</c> unless a micro-batch was skipped, then <c>zero_grad()</c>;</item>
/// <item>the epoch closed in the loss history when the step ends one.</item>
/// </list>
/// The step counter (<see cref="Step"/>) numbers the steps for the methods (their seeds and epochs); set it when resuming.
/// </summary>
public sealed class TrainingStep
{
    readonly MultiTaskNetwork model;
    readonly ILossWeighting weighting;
    readonly IGradientAggregator? aggregator;
    readonly OptimizerHelper optimizer;
    readonly double[] baseRates;

    /// <param name="model">The model; attach learnable strategies to it first so that the optimizer holds their state.</param>
    /// <param name="weighting">The loss weighting.</param>
    /// <param name="aggregator">The gradient aggregator; null sums the task gradients.</param>
    /// <param name="optimizer">The optimizer over the model's parameter groups.</param>
    /// <param name="options">Accumulation, clipping, schedule and the engine's options.</param>
    /// <param name="history">The loss history the methods read (DWA, GradNorm, FAMO); null starts an empty one.</param>
    /// <param name="baseLearningRates">Each parameter group's rate before the schedule; null reads the optimizer's groups now
    /// (so build the step before loading optimizer state whose rates a schedule already scaled).</param>
    public TrainingStep(MultiTaskNetwork model, ILossWeighting weighting, IGradientAggregator? aggregator, OptimizerHelper optimizer,
        TrainingStepOptions? options = null, LossHistory? history = null, IReadOnlyList<double>? baseLearningRates = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(weighting);
        ArgumentNullException.ThrowIfNull(optimizer);
        Options = options ?? new TrainingStepOptions();
        Options.Validate();
        this.model = model;
        this.weighting = weighting;
        this.aggregator = aggregator;
        this.optimizer = optimizer;
        History = history ?? new LossHistory();
        baseRates = (baseLearningRates ?? optimizer.ParamGroups.Select(g => g.LearningRate)).ToArray();
        int groups = optimizer.ParamGroups.Count();
        if (baseRates.Length != groups)
            throw new ArgumentException($"baseLearningRates: expected one rate per parameter group ({groups}), found {baseRates.Length}", nameof(baseLearningRates));
    }

    public TrainingStepOptions Options { get; }

    public MultiTaskNetwork Model => model;

    public OptimizerHelper Optimizer => optimizer;

    /// <summary>The loss history the methods read; the step records every micro-batch and closes every epoch.</summary>
    public LossHistory History { get; }

    /// <summary>Optimizer steps taken so far: the 0-based index of the next step.</summary>
    public long Step { get; set; }

    /// <summary>The epoch of the next step.</summary>
    public int Epoch => (int)(Step / Options.StepsPerEpoch);

    /// <summary>The rates the schedule scales, one per parameter group.</summary>
    public IReadOnlyList<double> BaseLearningRates => baseRates;

    /// <summary>
    /// Takes one optimizer step. <paramref name="nextBatch"/> is called once per micro-batch, inside that micro-batch's
    /// dispose scope, with the running micro-batch index (<c>Step · GradAccumulation + micro</c>), so a caller that seeds
    /// per micro-batch or draws batches by index stays deterministic.
    /// </summary>
    public TrainingStepResult Run(Func<long, StepBatch> nextBatch)
    {
        ArgumentNullException.ThrowIfNull(nextBatch);
        int accumulation = Options.GradAccumulation;
        long step = Step;
        int epoch = Epoch;
        var losses = new Dictionary<string, double>();
        var micro = new List<StepDiagnostics>(accumulation);
        long tokens = 0;
        for (int m = 0; m < accumulation; m++)
        {
            using var scope = NewDisposeScope();
            var batch = nextBatch(step * accumulation + m);
            try
            {
                var diagnostics = Backward(batch, accumulate: m > 0);
                micro.Add(diagnostics);
                foreach (var (t, l) in diagnostics.Losses) losses[t] = losses.GetValueOrDefault(t) + l / accumulation;
                tokens += batch.Tokens;
            }
            finally { batch.Owner?.Dispose(); }
        }
        if (accumulation > 1) AverageAndClip(accumulation);
        var (factor, rates) = SetLearningRates(step);
        bool skipped = micro.Any(d => d.Skipped);
        using (NewDisposeScope())
        {
            if (!skipped) optimizer.step();
            optimizer.zero_grad();
        }
        Step = step + 1;
        bool epochEnded = Step % Options.StepsPerEpoch == 0;
        if (epochEnded) History.EndEpoch();
        return new TrainingStepResult(step, epoch, micro, losses, factor, rates, skipped, epochEnded, tokens);
    }

    /// <summary>
    /// The gradient half of a step for one micro-batch, in the caller's dispose scope: forward, per-task losses and the
    /// step engine; the loss history records the result. With <paramref name="accumulate"/> the gradients add to those
    /// already present. <see cref="Run"/> calls it; profilers call it alone.
    /// </summary>
    public StepDiagnostics Backward(StepBatch batch, bool accumulate = false)
    {
        ArgumentNullException.ThrowIfNull(batch);
        bool repGrad = Options.Engine.Gradients == GradientMode.Representation;
        var output = batch.SharedInput is { } shared
            ? model.Forward(shared, representationGradients: repGrad)
            : model.Forward(batch.Inputs ?? throw new ArgumentException("batch: expected Inputs or SharedInput, found neither", nameof(batch)), repGrad);
        var taskLosses = batch.LabelledRows is { } rows ? model.Losses(output, batch.Targets, rows) : model.Losses(output, batch.Targets);
        int every = Options.TaskGradientDiagnosticsEvery;
        var diagnostics = MultiTaskStep.Backward(model, taskLosses, weighting, aggregator, Options.Engine with
        {
            Step = Step, Epoch = Epoch, History = History,
            Representation = repGrad ? output.Representation : null,
            // With accumulation the sum is clipped once, after averaging; a single micro-batch clips in the engine.
            MaxGradNorm = Options.GradAccumulation == 1 ? Options.Engine.MaxGradNorm : null,
            AccumulateGradients = accumulate,
            TaskGradientDiagnostics = Options.Engine.TaskGradientDiagnostics || (every > 0 && taskLosses.Count > 1 && Step % every == 0),
        });
        History.Record(diagnostics);
        return diagnostics;
    }

    void AverageAndClip(int accumulation)
    {
        using (no_grad())
        using (var micro = ((double)accumulation).ToScalar())
            foreach (var p in model.parameters())
            {
                using var grad = p.grad;
                grad?.div_(micro);
            }
        if (Options.Engine.MaxGradNorm is { } clip) MultiTaskStep.ClipGradNorm(model, clip);
    }

    (double Factor, double[] Rates) SetLearningRates(long step)
    {
        double factor = (Options.Schedule?.Factor(step) ?? 1.0) * (Options.RateMultiplier?.Invoke() ?? 1.0);
        var rates = new double[baseRates.Length];
        int g = 0;
        foreach (var group in optimizer.ParamGroups)
        {
            rates[g] = baseRates[g] * factor;
            group.LearningRate = rates[g];
            g++;
        }
        return (factor, rates);
    }
}
