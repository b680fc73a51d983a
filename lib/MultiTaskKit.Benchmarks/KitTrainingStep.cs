using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Training;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;
using MultiTaskKit.Data;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;

namespace MultiTaskKit.Benchmarks;

/// <summary>
/// The kit's case-study step: the kit's <see cref="BertModel"/> (MiniLM-shaped, random weights: this measures time)
/// as a <see cref="BertTrunk"/> with mean pooling, in a <see cref="MultiTaskModel"/> split at layer k, a
/// classification head (cross-entropy) for task 0 and regression heads (MSE) for the others, each task reading its
/// own batch; one <see cref="TrainingStep"/>, the trainer's own, with the given weighting and aggregator and the quick
/// case study's optimizer settings (<see cref="CaseStudy.Preset"/>): <see cref="LeanAdamW"/> with a body and a head
/// group, the warm-up and decay schedule and global clipping. This is the code path <c>mtk casestudy</c> trains with;
/// only the sampled gradient diagnostics (one step in ten there) are off, so that every timed step costs the same.
/// </summary>
public sealed class KitTrainingStep : BenchStep
{
    readonly MultiTaskModel model;
    readonly Dictionary<string, TrunkInput> inputs = new();
    readonly Dictionary<string, Tensor> targets = new();
    readonly List<Tensor> owned = new();
    readonly ILossWeighting weighting;
    readonly IGradientAggregator? aggregator;
    readonly GradientMode mode;
    readonly TrainingStep step;
    readonly StepBatch batch;

    /// <summary>Steps per pretend epoch, for methods that weigh by epoch losses (DWA): short, so they run their full computation.</summary>
    public const int StepsPerEpoch = 2;

    public static readonly string[] TaskNames = ["imdb", "tweets", "task2", "task3", "task4", "task5", "task6", "task7"];

    /// <param name="shape">The transformer's shape (MiniLM by default).</param>
    /// <param name="tasks">One batch shape per task; task 0 is classification, the others regression.</param>
    /// <param name="seed">Seed of the weights and the random batches.</param>
    /// <param name="weighting">Null: equal weighting, the case study's default.</param>
    /// <param name="aggregator">Gradient aggregator; null sums the task gradients.</param>
    /// <param name="name">Name of the row in the bench table.</param>
    /// <param name="mode">Gradients with respect to the shared parameters or the shared representation.</param>
    /// <param name="sameBatch">All tasks read task 0's token ids (rep-grad requires it; the method comparison uses it for all).</param>
    /// <param name="kernels">The kit's kernel choices for the model and the optimizer (null: all on).</param>
    public KitTrainingStep(TransformerShape shape, IReadOnlyList<BatchShape> tasks, long seed = 0,
        Func<IReadOnlyList<string>, ILossWeighting>? weighting = null, IGradientAggregator? aggregator = null, string? name = null,
        GradientMode mode = GradientMode.Parameters, bool sameBatch = false, KernelOptions? kernels = null)
        : base(name ?? "kit BertTrunk + MultiTaskModel", shape, tasks)
    {
        if (tasks.Count > TaskNames.Length) throw new ArgumentException($"KitTrainingStep: at most {TaskNames.Length} tasks, found {tasks.Count}.", nameof(tasks));
        torch.manual_seed(seed);
        var config = new BertConfig
        {
            VocabSize = shape.Vocab, HiddenSize = shape.Hidden, NumAttentionHeads = shape.Heads, IntermediateSize = shape.Ffn,
            NumHiddenLayers = shape.Layers, MaxPositionEmbeddings = shape.MaxPositions,
            HiddenDropoutProb = shape.Dropout, AttentionProbsDropoutProb = shape.AttentionDropout ?? shape.Dropout,
            Kernels = kernels ?? KernelOptions.Default,
        };
        var trunk = new BertTrunk(new BertModel(config, addPoolingLayer: false), BertPooling.Mean);
        var names = TaskNames.Take(tasks.Count).ToArray();
        var heads = names.Select((n, i) => new KeyValuePair<string, TaskHead>(n,
            i == 0 ? new ClassificationHead(trunk.OutputSize, 2) : new RegressionHead(trunk.OutputSize, 1))).ToList();
        model = new MultiTaskModel(trunk, heads, SharingPlan.SplitAt(shape.Split));
        model.to(TorchRuntime.DefaultDevice);
        model.train();
        this.weighting = weighting?.Invoke(names) ?? new EqualWeighting(names);
        this.aggregator = aggregator;
        this.mode = mode;
        if (this.weighting is nn.Module) model.AttachStrategy(this.weighting);
        if (aggregator is nn.Module) model.AttachStrategy(aggregator, "aggregator");
        var settings = CaseStudy.Preset("quick").Optimizer;
        var (optimizer, rates) = Optimizers.Create(model, settings, (kernels ?? KernelOptions.Default).FusedAdamW);
        step = new TrainingStep(model, this.weighting, aggregator, optimizer, new TrainingStepOptions
        {
            Engine = new() { MaxGradNorm = settings.ClipNorm, Gradients = mode },
            Schedule = new LearningRateSchedule((long)Math.Round(settings.WarmupFraction * ScheduleSteps), ScheduleSteps),
            StepsPerEpoch = StepsPerEpoch,
        }, baseLearningRates: rates);
        // Rep-grad needs every task to read one batch: then all tasks share the first task's input (and the shared
        // layers run once per step instead of once per task).
        bool shared = sameBatch || mode == GradientMode.Representation;
        if (shared && tasks.Any(t => t != tasks[0]))
            throw new ArgumentException($"KitTrainingStep: rep-grad needs one batch shape for all tasks, found {string.Join(", ", tasks)}.", nameof(tasks));

        var g = new Generator((ulong)seed, TorchRuntime.DefaultDevice);
        for (int i = 0; i < names.Length; i++)
        {
            var ids = RandomIds(tasks[i], shape.Vocab, g);
            var mask = ones(new long[] { tasks[i].Batch, tasks[i].Tokens }, dtype: int64, device: TorchRuntime.DefaultDevice);
            var target = i == 0
                ? randint(0, 2, new long[] { tasks[i].Batch }, dtype: int64, device: TorchRuntime.DefaultDevice, generator: g)
                : randn(new long[] { tasks[i].Batch }, device: TorchRuntime.DefaultDevice, generator: g);
            owned.AddRange([ids, mask, target]);
            inputs[names[i]] = shared && i > 0 ? inputs[names[0]] : TrunkInput.FromTokens(ids, mask);
            targets[names[i]] = target;
        }
        batch = mode == GradientMode.Representation ? StepBatch.Shared(inputs[names[0]], targets) : StepBatch.PerTask(inputs, targets);
    }

    /// <summary>The schedule's length: the steps of a long bench run, so that the rate stays near its peak.</summary>
    public const long ScheduleSteps = 10_000;

    /// <summary>The trainer's step this bench row times.</summary>
    public TrainingStep TrainingStep => step;

    public MultiTaskModel MultiTask => model;
    public ILossWeighting Weighting => weighting;
    public IGradientAggregator? Aggregator => aggregator;
    public override nn.Module Model => model;

    /// <summary>Per-task losses of one forward pass.</summary>
    public Dictionary<string, Tensor> TaskLosses() => model.Losses(model.Forward(inputs), targets);

    public override Tensor Loss()
    {
        using var scope = NewDisposeScope();
        var losses = TaskLosses();
        return losses.Values.Aggregate((a, b) => a + b).MoveToOuterDisposeScope();
    }

    /// <summary>The trainer's whole step on the fixed batches: gradients, clipping, schedule, AdamW, zeroed gradients.</summary>
    public override void Step() => step.Run(_ => batch);

    /// <summary>The gradient half of the trainer's step (forward, losses, step engine), for the profiler.</summary>
    protected override void Backward() => step.Backward(batch);

    /// <summary>The trainer's optimizer (<see cref="LeanAdamW"/>, body and head groups).</summary>
    protected override optim.Optimizer CreateOptimizer() => step.Optimizer;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var t in owned) t.Dispose();
            // The base class disposes the optimizer its lazy Optimizer property returned, which is the step's; a step
            // that was only timed through TrainingStep.Run never read it, and its optimizer (holding the parameters,
            // their gradients and AdamW's state) stayed alive: 16 GB over the 28 steps of the methods section.
            _ = Optimizer;
        }
        base.Dispose(disposing);
    }
}
