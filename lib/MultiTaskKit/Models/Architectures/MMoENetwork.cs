using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>Settings of <see cref="MMoENetwork"/>.</summary>
/// <param name="Experts">K, the number of experts (at least 1). Each is a copy of the trunk's upper layers, so the cost
/// of the upper part is K times a single trunk's.</param>
/// <param name="SharedLayers">k, the lower layers in the shared bottom (with the stem); the experts copy layers [k, L).
/// Capped at L − 1 so that an expert has at least one layer.</param>
public sealed record MMoEOptions(int Experts = 3, int SharedLayers = 2)
{
    internal void Validate()
    {
        if (Experts < 1) throw new ArgumentOutOfRangeException(nameof(Experts), Experts, "expected at least 1 expert");
        if (SharedLayers < 0) throw new ArgumentOutOfRangeException(nameof(SharedLayers), SharedLayers, "expected 0 or more shared layers");
    }
}

/// <summary>
/// Multi-gate Mixture-of-Experts (Ma, Zhao, Yi, Chen, Hong and Chi, "Modeling Task Relationships in Multi-task Learning
/// with Multi-gate Mixture-of-Experts", KDD 2018, https://doi.org/10.1145/3219819.3220007): K experts shared by all
/// tasks, and for each task a gate gᵗ(x) = softmax(Wᵗx) that mixes the experts' outputs, fᵗ(x) = Σₖ gᵗₖ(x)·eₖ(x),
/// before the task's tower (here its pool and head). Because each task has its own gate, tasks that conflict can lean on
/// different experts while related tasks share them (paper eq. 5–6).
/// <para>On a splittable trunk. The stem and the lower k layers form a shared bottom that runs once per batch; each expert
/// is a copy of the upper layers [k, L), run on the bottom's state. Experts are copies of pretrained layers rather than
/// small new feed-forward networks over the sequence because a fresh FFN expert starts from random weights and would
/// throw away what the upper layers of a pretrained BERT know (the case study fine-tunes MiniLM from few examples); copies
/// also work unchanged on the MLP trunk, and with K = 1 the network is exactly split@k. The price is compute: K runs of
/// the upper layers per batch. The experts start identical; the gates start random (PyTorch's default Linear
/// initialisation), so the tasks' gradients reach the experts in different proportions and the copies drift apart
/// (with dropout on, each copy also draws its own masks).</para>
/// <para>The gate reads the input as the experts see it: the masked mean over tokens of the bottom's state (the state
/// itself on the MLP trunk). Experts' outputs are token states; a task mixes them row by row with its gate's weights,
/// then pools (its own copy of the trunk's pool) and applies its head.</para>
/// <para>Partition: shared = the bottom and every expert; task t = its gate, pool and head (reached by t's loss alone,
/// so <see cref="MultiTaskNetwork.TaskParametersAreExclusive"/> holds). Rep-grad works on the stacked expert outputs
/// [K, batch, …] (as LibMTL's MMoE does) together with the gate's input, flattened into one vector z: each task reads a
/// detached copy of both, so every gradient into shared parameters passes through z and rep-grad with equal weights
/// gives the same update as the plain backward.
/// <see cref="MultiTaskNetwork.StopGradientIntoTrunk"/> makes a task read the experts and the gate's input detached.</para>
/// <para><see cref="LearnedMixing"/> reports, per task, the gate weights averaged over the rows of the last forward pass
/// (<c>gates</c>, [T, K]): input-dependent weights have no single value, and the mean is what "gate usage" means.</para>
/// <para>Layout (also the checkpoint keys): <c>shared.stem</c>, <c>shared.layers.{i}</c> (i &lt; k),
/// <c>shared.experts.{e}.layers.{i}</c> (i ≥ k, the trunk's index), and per task <c>tasks.{task}.gate.linear</c>,
/// <c>tasks.{task}.pool</c>, <c>tasks.{task}.head</c>.</para>
/// </summary>
public sealed class MMoENetwork : MultiTaskNetwork
{
    readonly ModuleContainer sharedFolder = new("shared");
    readonly ModuleContainer taskFolder = new("tasks");
    readonly nn.Module<TrunkInput, HiddenState> stem;
    readonly List<nn.Module<HiddenState, HiddenState>> bottom = new();
    readonly List<ExpertStack> experts = new();
    readonly Dictionary<string, TaskTower> towers = new();
    readonly double[][] lastGateMeans;

    public MMoEOptions Options { get; }
    public ISplittableTrunk Trunk { get; }

    /// <summary>k after capping at L − 1: the layers in the shared bottom.</summary>
    public int BottomLayers { get; }

    /// <param name="trunk">Any splittable trunk (MLP, BERT) with at least one layer; its modules become the bottom and the first expert.</param>
    /// <param name="heads">Task name to head, in task order.</param>
    /// <param name="options">Experts and bottom depth (null: defaults).</param>
    public MMoENetwork(ISplittableTrunk trunk, IEnumerable<KeyValuePair<string, TaskHead>> heads, MMoEOptions? options = null)
        : base("mmoe_network", heads)
    {
        Trunk = trunk ?? throw new ArgumentNullException(nameof(trunk));
        Options = options ?? new MMoEOptions();
        Options.Validate();
        int layers = trunk.Layers.Count;
        if (layers < 1) throw new ArgumentException("mmoe: the trunk has no layers to make experts of; expected at least 1", nameof(trunk));
        BottomLayers = Math.Min(Options.SharedLayers, layers - 1);
        var device = trunk.Layers[0].parameters().FirstOrDefault()?.device;

        stem = sharedFolder.Add("stem", trunk.Stem);
        var bottomFolder = new ModuleContainer("layers");
        for (int i = 0; i < BottomLayers; i++) bottom.Add(bottomFolder.Add(i.ToString(), trunk.Layers[i]));
        sharedFolder.Add("layers", bottomFolder);
        var expertFolder = new ModuleContainer("experts");
        for (int e = 0; e < Options.Experts; e++)
            experts.Add(expertFolder.Add(e.ToString(), new ExpertStack(trunk, BottomLayers, layers - BottomLayers, original: e == 0)));
        sharedFolder.Add("experts", expertFolder);

        for (int t = 0; t < Tasks.Count; t++)
        {
            var tower = new TaskTower(Tasks[t], new SoftmaxGate(trunk.OutputSize, Options.Experts, device), t == 0 ? trunk.Pool : trunk.ClonePool(), Head(Tasks[t]));
            towers[Tasks[t]] = taskFolder.Add(Tasks[t], tower);
        }
        lastGateMeans = Tasks.Select(_ => Enumerable.Repeat(double.NaN, Options.Experts).ToArray()).ToArray();

        register_module("shared", sharedFolder);
        register_module("tasks", taskFolder);
    }

    public override string Architecture => "mmoe";

    /// <summary>True: the stacked expert outputs, which every task's gate mixes.</summary>
    public override bool HasSharedRepresentation => true;

    /// <summary>The bottom (stem, layers [0, k)) and every expert.</summary>
    public override IEnumerable<Parameter> SharedParameters() => sharedFolder.parameters();

    /// <summary>The task's gate, pool and head.</summary>
    public override IEnumerable<Parameter> TaskParameters(string task) => Tower(task).parameters();

    /// <summary>The gates.</summary>
    public override IEnumerable<Parameter> MixingParameters() => towers.Values.SelectMany(t => t.Gate.parameters());

    /// <summary><c>gates</c>: [T, K], row t = task t's gate weights averaged over the rows of the last forward pass in
    /// which it had a batch (NaN before its first).</summary>
    public override IReadOnlyList<(string Name, Tensor Weights)> LearnedMixing() =>
        [("gates", tensor(lastGateMeans.SelectMany(r => r).ToArray(), new long[] { Tasks.Count, Options.Experts }))];

    public override (IReadOnlyList<string> Rows, IReadOnlyList<string> Columns)? MixingLabels(string unit) =>
        (Tasks, Enumerable.Range(0, Options.Experts).Select(e => $"expert {e}").ToArray());

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
            foreach (var layer in bottom) state = layer.call(state);
            var outputs = stack(experts.Select(e => e.call(state).Hidden).ToArray());   // [K, batch, ...]
            var summary = MeanOverTokens(state);
            Dictionary<string, Tensor>? leaves = representationGradients ? new() : null;
            // rep-grad: z = [expert outputs, gate input], flattened into one vector, so that every path from a task into
            // the shared parameters passes through z and the per-task gradients with respect to z are exact
            var z = leaves is null ? null : cat([outputs.reshape(-1), summary.reshape(-1)]);
            foreach (var t in group)
            {
                bool stopped = TasksStoppedAtTrunk.Contains(t);
                var source = outputs;
                var gateInput = summary;
                if (stopped) { source = outputs.detach(); gateInput = summary.detach(); }
                else if (z is not null)
                {
                    var leaf = z.detach().requires_grad_(true);
                    leaves![t] = leaf;
                    source = leaf.narrow(0, 0, outputs.numel()).view(outputs.shape);
                    gateInput = leaf.narrow(0, outputs.numel(), summary.numel()).view(summary.shape);
                }
                var tower = towers[t];
                var weights = tower.Gate.call(gateInput);                               // [batch, K]
                Record(t, weights);
                predictions[t] = tower.Head.call(tower.Pool.call(state with { Hidden = MixRows(source, weights) }));
            }
            if (z is not null) representation = new SharedRepresentation(z, leaves!);
        }
        return new MultiTaskOutput(predictions, representation);
    }

    void Record(string task, Tensor weights)
    {
        using var mean = weights.detach().mean(new long[] { 0 }).to_type(ScalarType.Float64).cpu();
        lastGateMeans[Tasks.ToList().IndexOf(task)] = mean.data<double>().ToArray();
    }

    TaskTower Tower(string task) => towers.TryGetValue(task, out var tower)
        ? tower
        : throw new ArgumentException($"unknown task '{task}'; the model's tasks are {string.Join(", ", Tasks)}", nameof(task));

    /// <summary>One task's gate, pool and head. Field names equal the registered names.</summary>
    sealed class TaskTower : nn.Module
    {
        readonly SoftmaxGate gate;
        readonly nn.Module<HiddenState, Tensor> pool;
        readonly TaskHead head;

        public TaskTower(string task, SoftmaxGate gate, nn.Module<HiddenState, Tensor> pool, TaskHead head) : base(task)
        {
            this.gate = gate; this.pool = pool; this.head = head;
            register_module("gate", gate);
            register_module("pool", pool);
            register_module("head", head);
        }

        public SoftmaxGate Gate => gate;
        public nn.Module<HiddenState, Tensor> Pool => pool;
        public TaskHead Head => head;
    }
}
