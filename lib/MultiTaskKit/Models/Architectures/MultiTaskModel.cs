using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>
/// The first architectures: one trunk cut between layers by a <see cref="SharingPlan"/> (hard sharing, split at
/// layer k, isolated), plus one head per task. The shared part runs once per batch and each task continues from its
/// output with its own copies of the layers above the cut.
/// <para>Layout (also the checkpoint keys): <c>shared.stem</c>, <c>shared.layers.{i}</c>, <c>shared.pool</c> (hard plan),
/// and per task <c>tasks.{task}.stem</c> (isolated plan), <c>tasks.{task}.layers.{i}</c> (i = the trunk's own layer index),
/// <c>tasks.{task}.pool</c> and <c>tasks.{task}.head</c>; an attached strategy lives under <c>strategy.*</c>.</para>
/// <para>The first task reuses the trunk's own modules; the other tasks get clones, so every copy starts from the same
/// weights.</para>
/// </summary>
public sealed class MultiTaskModel : MultiTaskNetwork
{
    readonly nn.Module<TrunkInput, HiddenState>? stem;
    readonly List<nn.Module<HiddenState, HiddenState>> sharedLayers = new();
    readonly nn.Module<HiddenState, Tensor>? sharedPool;
    readonly Dictionary<string, TaskBranch> branches = new();
    readonly ModuleContainer sharedFolder = new("shared");
    readonly ModuleContainer taskFolder = new("tasks");

    readonly Dictionary<string, int> depths = new();
    readonly int layerCount, firstTaskLayer;

    public SharingPlan Plan { get; }
    public ISplittableTrunk Trunk { get; }

    /// <summary>The layer each task reads the trunk after (1..L; L, the top, unless configured): "each task at its own
    /// depth" (Søgaard &amp; Goldberg 2016; Hashimoto et al. 2017). A task whose depth is at or below the shared layers
    /// reads the shared state after that layer; a deeper one continues through its own copies up to its depth.</summary>
    public IReadOnlyDictionary<string, int> Depths => depths;

    /// <param name="trunk">Any splittable trunk (MLP, BERT).</param>
    /// <param name="heads">Task name to head, in task order. Names: non-empty, no '.', unique.</param>
    /// <param name="plan">What is shared.</param>
    /// <param name="taskDepths">Per task, the layer (1..L) whose output it reads; absent tasks read the top layer.</param>
    public MultiTaskModel(ISplittableTrunk trunk, IEnumerable<KeyValuePair<string, TaskHead>> heads, SharingPlan plan,
        IReadOnlyDictionary<string, int>? taskDepths = null) : base("multitask_model", heads)
    {
        Trunk = trunk ?? throw new ArgumentNullException(nameof(trunk));
        Plan = plan ?? throw new ArgumentNullException(nameof(plan));

        layerCount = trunk.Layers.Count;
        foreach (var t in Tasks)
        {
            int d = taskDepths?.GetValueOrDefault(t) is { } given and not 0 ? given : layerCount;
            if (d < 1 || d > layerCount)
                throw new ArgumentException($"task '{t}': depth must be in [1, {layerCount}] (the trunk's layers), found {d}", nameof(taskDepths));
            depths[t] = d;
        }
        foreach (var t in taskDepths?.Keys ?? [])
            if (!depths.ContainsKey(t)) throw new ArgumentException($"taskDepths: unknown task '{t}'; the model's tasks are {string.Join(", ", Tasks)}", nameof(taskDepths));
        firstTaskLayer = plan.Kind switch
        {
            SharingKind.Hard => layerCount,
            SharingKind.Isolated => 0,
            _ => plan.SharedLayers <= layerCount
                ? plan.SharedLayers
                : throw new ArgumentException($"plan {plan}: the trunk has only {layerCount} layers", nameof(plan)),
        };

        if (plan.Kind != SharingKind.Isolated)
        {
            stem = sharedFolder.Add("stem", trunk.Stem);
            var layers = new ModuleContainer("layers");
            for (int i = 0; i < firstTaskLayer; i++) sharedLayers.Add(layers.Add(i.ToString(), trunk.Layers[i]));
            sharedFolder.Add("layers", layers);
            if (plan.Kind == SharingKind.Hard) sharedPool = sharedFolder.Add("pool", trunk.Pool);
        }

        for (int t = 0; t < Tasks.Count; t++)
        {
            bool original = t == 0;
            var branch = new TaskBranch(Tasks[t], Head(Tasks[t]));
            if (plan.Kind == SharingKind.Isolated) branch.SetStem(original ? trunk.Stem : trunk.CloneStem());
            for (int i = firstTaskLayer; i < depths[Tasks[t]]; i++) branch.AddLayer(i, original ? trunk.Layers[i] : trunk.CloneLayer(i));
            if (plan.Kind != SharingKind.Hard) branch.SetPool(original ? trunk.Pool : trunk.ClonePool());
            branch.Seal();
            branches[Tasks[t]] = taskFolder.Add(Tasks[t], branch);
        }

        register_module("shared", sharedFolder);
        register_module("tasks", taskFolder);
    }

    /// <summary><c>hard</c>, <c>split@k</c> or <c>isolated</c>.</summary>
    public override string Architecture => Plan.ToString();

    /// <summary>Hard and split sharing: the state at the cut. Isolated: none.</summary>
    public override bool HasSharedRepresentation => Plan.Kind != SharingKind.Isolated;

    protected override MultiTaskOutput ForwardTasks(IReadOnlyList<string> present, IReadOnlyDictionary<string, TrunkInput> inputs, bool representationGradients)
    {
        var predictions = new Dictionary<string, Tensor>();
        if (Plan.Kind == SharingKind.Isolated)
        {
            foreach (var t in present) predictions[t] = branches[t].Run(branches[t].RunStem(inputs[t]), null);
            return new MultiTaskOutput(predictions, null);
        }

        var groups = present.GroupBy(t => inputs[t], ReferenceEqualityComparer.Instance).ToList();
        if (representationGradients && groups.Count > 1)
            throw new InvalidOperationException(
                $"rep-grad: needs every task to read the same batch, but tasks got {groups.Count} different batches " +
                $"({string.Join("; ", groups.Select(g => string.Join(", ", g)))}); use parameter gradients for per-task batches");
        if (representationGradients && present.FirstOrDefault(t => depths[t] < firstTaskLayer) is { } low)
            throw new InvalidOperationException(
                $"rep-grad: task '{low}' reads layer {depths[low]}, below the shared representation after layer {firstTaskLayer}; use parameter gradients");
        // Every task reading the top, pooled: the shared part (pool included under hard sharing) runs once as it always has.
        bool plain = present.All(t => depths[t] == layerCount && !Head(t).ReadsTokens);

        SharedRepresentation? representation = null;
        foreach (var group in groups)
        {
            var input = (TrunkInput)group.Key!;
            var states = plain ? null : RunSharedStates(input, group.Select(t => Math.Min(depths[t], firstTaskLayer)).ToHashSet());
            var shared = plain ? RunShared(input) : states!.GetValueOrDefault(firstTaskLayer);
            Dictionary<string, Tensor>? leaves = representationGradients ? new() : null;
            foreach (var t in group)
            {
                var start = plain || depths[t] >= firstTaskLayer ? shared! : states![depths[t]];
                if (TasksStoppedAtTrunk.Contains(t)) start = Detach(start);
                else if (leaves is not null)
                {
                    var leaf = start.Hidden.detach().requires_grad_(true);
                    leaves[t] = leaf;
                    start = start with { Hidden = leaf };
                }
                predictions[t] = branches[t].Run(start, plain ? null : sharedPool);
            }
            if (leaves is not null) representation = new SharedRepresentation(shared!.Hidden, leaves);
        }
        return new MultiTaskOutput(predictions, representation);
    }

    /// <summary>The stem and shared layers, keeping the state after each layer count in <paramref name="levels"/>
    /// (0: the stem's output), unpooled.</summary>
    Dictionary<int, HiddenState> RunSharedStates(TrunkInput input, IReadOnlySet<int> levels)
    {
        var result = new Dictionary<int, HiddenState>();
        var state = stem!.call(input);
        if (levels.Contains(0)) result[0] = state;
        int top = levels.Max();
        for (int i = 0; i < top; i++)
        {
            state = sharedLayers[i].call(state);
            if (levels.Contains(i + 1)) result[i + 1] = state;
        }
        return result;
    }

    static HiddenState Detach(HiddenState s) => s with { Hidden = s.Hidden.detach() };

    /// <summary>The shared part: stem, shared layers and, under hard sharing, the pool (then Hidden is [batch, features]).</summary>
    public HiddenState RunShared(TrunkInput input)
    {
        if (stem is null) throw new InvalidOperationException("the isolated plan has no shared part");
        var state = stem.call(input);
        foreach (var layer in sharedLayers) state = layer.call(state);
        return sharedPool is null ? state : new HiddenState(sharedPool.call(state));
    }

    /// <summary>Parameters of the shared part (empty under the isolated plan).</summary>
    public override IEnumerable<TorchSharp.Modules.Parameter> SharedParameters() => sharedFolder.parameters();

    /// <summary>Parameters that belong to <paramref name="task"/> alone: its own layers, pool and head.</summary>
    public override IEnumerable<TorchSharp.Modules.Parameter> TaskParameters(string task) => Branch(task).parameters();

    TaskBranch Branch(string task) => branches.TryGetValue(task, out var b)
        ? b
        : throw new ArgumentException($"unknown task '{task}'; the model's tasks are {string.Join(", ", Tasks)}", nameof(task));

    /// <summary>One task's own modules: optional stem (isolated plan), upper layers, pool, head.</summary>
    /// <remarks>Its field names are part of the checkpoint format: TorchSharp also registers a module's fields by name
    /// when the module is added to a parent, so checkpoints carry <c>tasks.{task}.layerFolder.*</c> and
    /// <c>tasks.{task}.&lt;Head&gt;k__BackingField.*</c> as aliases of <c>layers.*</c> and <c>head.*</c>. Renaming a
    /// field here would stop existing checkpoints from loading.</remarks>
    sealed class TaskBranch : nn.Module
    {
        readonly ModuleContainer layerFolder = new("layers");
        readonly List<nn.Module<HiddenState, HiddenState>> layers = new();
        nn.Module<TrunkInput, HiddenState>? stem;
        nn.Module<HiddenState, Tensor>? pool;
        public TaskHead Head { get; }

        public TaskBranch(string task, TaskHead head) : base(task) { Head = head; }

        public void SetStem(nn.Module<TrunkInput, HiddenState> s) { stem = s; register_module("stem", s); }
        public void AddLayer(int index, nn.Module<HiddenState, HiddenState> layer) => layers.Add(layerFolder.Add(index.ToString(), layer));
        public void SetPool(nn.Module<HiddenState, Tensor> p) { pool = p; register_module("pool", p); }

        public void Seal()
        {
            register_module("layers", layerFolder);
            register_module("head", Head);
        }

        public HiddenState RunStem(TrunkInput input) => stem!.call(input);

        /// <param name="state">Where the branch starts.</param>
        /// <param name="sharedPool">The shared pool (hard sharing) when the shared part left the state unpooled.</param>
        public Tensor Run(HiddenState state, nn.Module<HiddenState, Tensor>? sharedPool)
        {
            foreach (var layer in layers) state = layer.call(state);
            if (Head.ReadsTokens) return Head.call(state.Hidden);
            var p = pool ?? sharedPool;
            return Head.call(p is null ? state.Hidden : p.call(state));
        }
    }
}
