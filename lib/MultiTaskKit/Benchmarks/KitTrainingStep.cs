using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Benchmarks;

/// <summary>
/// The kit's case-study step: the kit's <see cref="BertModel"/> (MiniLM-shaped, random weights: this measures time)
/// as a <see cref="BertTrunk"/> with mean pooling, in a <see cref="MultiTaskModel"/> split at layer k, a
/// classification head (cross-entropy) for task 0 and regression heads (MSE) for the others, each task reading its
/// own batch; gradients from the step engine (<see cref="MultiTaskStep.Backward"/>) with the given weighting and
/// aggregator, then AdamW. This is the code path <c>mtk casestudy</c> trains with.
/// </summary>
public sealed class KitTrainingStep : BenchStep
{
    readonly MultiTaskModel model;
    readonly Dictionary<string, TrunkInput> inputs = new();
    readonly Dictionary<string, Tensor> targets = new();
    readonly List<Tensor> owned = new();
    readonly ILossWeighting weighting;
    readonly IGradientAggregator? aggregator;
    long stepIndex;

    public static readonly string[] TaskNames = ["imdb", "tweets", "task2", "task3", "task4", "task5", "task6", "task7"];

    /// <param name="weighting">Null: equal weighting, the case study's default.</param>
    public KitTrainingStep(TransformerShape shape, IReadOnlyList<TaskBatch> tasks, long seed = 0,
        Func<IReadOnlyList<string>, ILossWeighting>? weighting = null, IGradientAggregator? aggregator = null, string? name = null)
        : base(name ?? "kit BertTrunk + MultiTaskModel", shape, tasks)
    {
        if (tasks.Count > TaskNames.Length) throw new ArgumentException($"KitTrainingStep: at most {TaskNames.Length} tasks, found {tasks.Count}.", nameof(tasks));
        torch.manual_seed(seed);
        var config = new BertConfig
        {
            VocabSize = shape.Vocab, HiddenSize = shape.Hidden, NumAttentionHeads = shape.Heads, IntermediateSize = shape.Ffn,
            NumHiddenLayers = shape.Layers, MaxPositionEmbeddings = shape.MaxPositions,
            HiddenDropoutProb = shape.Dropout, AttentionProbsDropoutProb = shape.Dropout,
        };
        var trunk = new BertTrunk(new BertModel(config, addPoolingLayer: false), BertPooling.Mean);
        var names = TaskNames.Take(tasks.Count).ToArray();
        var heads = names.Select((n, i) => new KeyValuePair<string, TaskHead>(n,
            i == 0 ? new ClassificationHead(trunk.OutputSize, 2) : new RegressionHead(trunk.OutputSize, 1))).ToList();
        model = new MultiTaskModel(trunk, heads, SharingPlan.SplitAt(shape.Split));
        model.to(TorchRuntime.Device);
        model.train();
        this.weighting = weighting?.Invoke(names) ?? new EqualWeighting(names);
        this.aggregator = aggregator;
        if (this.weighting is nn.Module) model.AttachStrategy(this.weighting);

        var g = new Generator((ulong)seed, TorchRuntime.Device);
        for (int i = 0; i < names.Length; i++)
        {
            var ids = RandomIds(tasks[i], shape.Vocab, g);
            var mask = ones(new long[] { tasks[i].Batch, tasks[i].Tokens }, dtype: int64, device: TorchRuntime.Device);
            var target = i == 0
                ? randint(0, 2, new long[] { tasks[i].Batch }, dtype: int64, device: TorchRuntime.Device, generator: g)
                : randn(new long[] { tasks[i].Batch }, device: TorchRuntime.Device, generator: g);
            owned.AddRange([ids, mask, target]);
            inputs[names[i]] = TrunkInput.FromTokens(ids, mask);
            targets[names[i]] = target;
        }
    }

    public MultiTaskModel MultiTask => model;
    public override nn.Module Model => model;

    /// <summary>Per-task losses of one forward pass.</summary>
    public Dictionary<string, Tensor> TaskLosses() => model.Losses(model.Forward(inputs), targets);

    public override Tensor Loss()
    {
        using var scope = NewDisposeScope();
        var losses = TaskLosses();
        return losses.Values.Aggregate((a, b) => a + b).MoveToOuterDisposeScope();
    }

    protected override void Backward() =>
        MultiTaskStep.Backward(model, TaskLosses(), weighting, aggregator, new StepOptions { Step = stepIndex++ });

    protected override void Dispose(bool disposing)
    {
        if (disposing) foreach (var t in owned) t.Dispose();
        base.Dispose(disposing);
    }
}
