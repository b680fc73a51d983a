using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>
/// Task attention over layers, an adaptation to transformers of the Multi-Task Attention Network (Liu, Johns and Davison,
/// "End-to-End Multi-Task Learning with Attention", CVPR 2019, https://arxiv.org/abs/1803.10704). MTAN keeps one shared
/// network and gives each task small attention modules that select, at every shared layer, the features that task
/// needs. Here the whole trunk (stem and every layer) is shared and runs once per batch; each task then attends over
/// the states of every shared layer, h₀ (the stem) … h_L, token by token:
/// aₗ = softmax over l of (qₜ · hₗ / √d + bₜ,ₗ), and the task's state is Σₗ aₗ hₗ, which its own pool and head read.
/// qₜ (a query, [d]) and bₜ (a bias per layer, [L + 1]) are the task's attention parameters; both start at zero, so each
/// task starts from the plain average of all layers (as ELMo's scalar mix) and learns, per token, which depths to read
/// (a sentiment task might lean on upper layers, a lexical one on lower ones). This is the transformer analogue of MTAN's
/// per-layer feature selection: attention over depth rather than a sigmoid mask over convolution channels, because a
/// transformer's layers share one width and the question a task asks of them is which depth to read.
/// <para>Partition: shared = the stem and every layer; task t = its query, layer bias, pool and head (reached by t's loss
/// alone). Rep-grad works on the stacked layer states [L + 1, batch, …]: each task attends over a detached copy.
/// <see cref="MultiTaskNetwork.StopGradientIntoTrunk"/> makes a task read the states detached.</para>
/// <para><see cref="LearnedMixing"/> reports <c>layers</c> ([T, L + 1]): each task's attention per layer, averaged over
/// the real tokens of the last forward pass.</para>
/// <para>Layout (also the checkpoint keys): <c>shared.stem</c>, <c>shared.layers.{i}</c>, and per task
/// <c>tasks.{task}.attention.query</c>, <c>tasks.{task}.attention.layer_bias</c>, <c>tasks.{task}.pool</c>,
/// <c>tasks.{task}.head</c>.</para>
/// </summary>
public sealed class TaskAttentionNetwork : MultiTaskNetwork
{
    readonly ModuleContainer sharedFolder = new("shared");
    readonly ModuleContainer taskFolder = new("tasks");
    readonly nn.Module<TrunkInput, HiddenState> stem;
    readonly List<nn.Module<HiddenState, HiddenState>> layers = new();
    readonly Dictionary<string, TaskReader> readers = new();
    readonly double[][] lastAttention;

    public ISplittableTrunk Trunk { get; }

    /// <param name="trunk">Any splittable trunk (MLP, BERT); its modules become the shared trunk, its pool the first task's.</param>
    /// <param name="heads">Task name to head, in task order.</param>
    public TaskAttentionNetwork(ISplittableTrunk trunk, IEnumerable<KeyValuePair<string, TaskHead>> heads)
        : base("task_attention_network", heads)
    {
        Trunk = trunk ?? throw new ArgumentNullException(nameof(trunk));
        var device = trunk.Stem.parameters().FirstOrDefault()?.device;
        stem = sharedFolder.Add("stem", trunk.Stem);
        var layerFolder = new ModuleContainer("layers");
        for (int i = 0; i < trunk.Layers.Count; i++) layers.Add(layerFolder.Add(i.ToString(), trunk.Layers[i]));
        sharedFolder.Add("layers", layerFolder);
        for (int t = 0; t < Tasks.Count; t++)
        {
            var reader = new TaskReader(Tasks[t], new LayerAttention(trunk.OutputSize, trunk.Layers.Count + 1, device),
                t == 0 ? trunk.Pool : trunk.ClonePool(), Head(Tasks[t]));
            readers[Tasks[t]] = taskFolder.Add(Tasks[t], reader);
        }
        lastAttention = Tasks.Select(_ => Enumerable.Repeat(double.NaN, trunk.Layers.Count + 1).ToArray()).ToArray();
        register_module("shared", sharedFolder);
        register_module("tasks", taskFolder);
    }

    public override string Architecture => "task_attention";

    /// <summary>True: the stacked states of every layer, which every task attends over.</summary>
    public override bool HasSharedRepresentation => true;

    /// <summary>The stem and every layer.</summary>
    public override IEnumerable<Parameter> SharedParameters() => sharedFolder.parameters();

    /// <summary>The task's attention, pool and head.</summary>
    public override IEnumerable<Parameter> TaskParameters(string task) => Reader(task).parameters();

    /// <summary>Every task's query and layer bias.</summary>
    public override IEnumerable<Parameter> MixingParameters() => readers.Values.SelectMany(r => r.Attention.parameters());

    /// <summary><c>layers</c>: [T, L + 1], row t = task t's attention per layer (column 0: the stem), averaged over the
    /// real tokens of the last forward pass in which it had a batch (NaN before its first).</summary>
    public override IReadOnlyList<(string Name, Tensor Weights)> LearnedMixing() =>
        [("layers", tensor(lastAttention.SelectMany(r => r).ToArray(), new long[] { Tasks.Count, layers.Count + 1 }))];

    public override (IReadOnlyList<string> Rows, IReadOnlyList<string> Columns)? MixingLabels(string unit) =>
        (Tasks, new[] { "stem" }.Concat(Enumerable.Range(0, layers.Count).Select(i => $"layer {i}")).ToArray());

    protected override MultiTaskOutput ForwardTasks(IReadOnlyList<string> present, IReadOnlyDictionary<string, TrunkInput> inputs, bool representationGradients)
    {
        var groups = present.GroupBy(t => inputs[t], ReferenceEqualityComparer.Instance).ToList();
        if (representationGradients && groups.Count > 1)
            throw new InvalidOperationException(
                $"rep-grad: needs every task to read the same batch, but tasks got {groups.Count} different batches; use parameter gradients for per-task batches");
        var predictions = new Dictionary<string, Tensor>();
        SharedRepresentation? representation = null;
        foreach (var group in groups)
        {
            var state = stem.call((TrunkInput)group.Key!);
            var states = new List<Tensor> { state.Hidden };
            foreach (var layer in layers) { state = layer.call(state); states.Add(state.Hidden); }
            var all = stack(states.ToArray());                                     // [L + 1, batch, ...]
            Dictionary<string, Tensor>? leaves = representationGradients ? new() : null;
            foreach (var t in group)
            {
                var source = all;
                if (TasksStoppedAtTrunk.Contains(t)) source = all.detach();
                else if (leaves is not null) { source = all.detach().requires_grad_(true); leaves[t] = source; }
                var reader = readers[t];
                var (mixed, weights) = reader.Attention.Attend(source);
                Record(t, weights, state.AttentionMask);
                predictions[t] = reader.Head.call(reader.Pool.call(state with { Hidden = mixed }));
            }
            if (leaves is not null) representation = new SharedRepresentation(all, leaves);
        }
        return new MultiTaskOutput(predictions, representation);
    }

    /// <summary>Mean attention per layer over real tokens (weights [L + 1, batch] or [L + 1, batch, tokens]).</summary>
    void Record(string task, Tensor weights, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        var w = weights.detach().to_type(ScalarType.Float64);
        Tensor mean;
        if (w.dim() == 3 && mask is not null)
        {
            var m = mask.to_type(ScalarType.Float64).unsqueeze(0);
            mean = (w * m).sum(new long[] { 1, 2 }) / m.sum().clamp_min(1.0);
        }
        else mean = w.reshape(w.shape[0], -1).mean(new long[] { 1 });
        lastAttention[Tasks.ToList().IndexOf(task)] = mean.cpu().data<double>().ToArray();
    }

    TaskReader Reader(string task) => readers.TryGetValue(task, out var r)
        ? r
        : throw new ArgumentException($"unknown task '{task}'; the model's tasks are {string.Join(", ", Tasks)}", nameof(task));

    /// <summary>A task's attention over depth: a query and a bias per layer. Field names equal the registered names.</summary>
    sealed class LayerAttention : nn.Module
    {
        readonly Parameter query;
        readonly Parameter layer_bias;
        readonly double scale;

        public LayerAttention(long width, int depth, Device? device) : base("layer_attention")
        {
            query = new Parameter(zeros(width, device: device ?? CPU));
            layer_bias = new Parameter(zeros(depth, device: device ?? CPU));
            scale = 1.0 / Math.Sqrt(width);
            register_parameter("query", query);
            register_parameter("layer_bias", layer_bias);
        }

        /// <summary>States [L + 1, batch, (tokens,) width] to (the mixed state [batch, (tokens,) width], the weights
        /// [L + 1, batch, (tokens)]). Scores and softmax in float32.</summary>
        public (Tensor Mixed, Tensor Weights) Attend(Tensor states)
        {
            var scores = states.to_type(ScalarType.Float32).matmul(query) * scale;   // [L + 1, batch, (tokens)]
            var bias = layer_bias.reshape(new long[] { -1 }.Concat(Enumerable.Repeat(1L, (int)scores.dim() - 1)).ToArray());
            var weights = nn.functional.softmax(scores + bias, 0);
            var mixed = (states * weights.to_type(states.dtype).unsqueeze(-1)).sum(dim: 0);
            return (mixed, weights);
        }
    }

    /// <summary>One task's attention, pool and head. Field names equal the registered names.</summary>
    sealed class TaskReader : nn.Module
    {
        readonly LayerAttention attention;
        readonly nn.Module<HiddenState, Tensor> pool;
        readonly TaskHead head;

        public TaskReader(string task, LayerAttention attention, nn.Module<HiddenState, Tensor> pool, TaskHead head) : base(task)
        {
            this.attention = attention; this.pool = pool; this.head = head;
            register_module("attention", attention);
            register_module("pool", pool);
            register_module("head", head);
        }

        public LayerAttention Attention => attention;
        public nn.Module<HiddenState, Tensor> Pool => pool;
        public TaskHead Head => head;
    }
}
