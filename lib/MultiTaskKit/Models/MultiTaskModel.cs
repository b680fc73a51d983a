using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>
/// A shared trunk plus one head per task, cut by a <see cref="SharingPlan"/>. It answers <c>{task: prediction}</c>
/// and says which parameters are shared and which belong to each task.
/// <para>Layout (also the checkpoint keys): <c>shared.stem</c>, <c>shared.layers.{i}</c>, <c>shared.pool</c> (hard plan),
/// and per task <c>tasks.{task}.stem</c> (isolated plan), <c>tasks.{task}.layers.{i}</c> (i = the trunk's own layer index),
/// <c>tasks.{task}.pool</c> and <c>tasks.{task}.head</c>; an attached strategy lives under <c>strategy.*</c>.</para>
/// <para>The first task reuses the trunk's own modules; the other tasks get clones, so every copy starts from the same
/// weights.</para>
/// </summary>
public sealed class MultiTaskModel : nn.Module<TrunkInput, MultiTaskOutput>
{
    readonly string[] tasks;
    readonly nn.Module<TrunkInput, HiddenState>? stem;
    readonly List<nn.Module<HiddenState, HiddenState>> sharedLayers = new();
    readonly nn.Module<HiddenState, Tensor>? sharedPool;
    readonly Dictionary<string, TaskBranch> branches = new();
    readonly ModuleContainer sharedFolder = new("shared");
    readonly ModuleContainer taskFolder = new("tasks");
    readonly ModuleContainer strategyFolder = new("strategy");
    readonly HashSet<string> stopGradient = new();

    /// <summary>Task names, in the order given at construction (the row order of gradient matrices and weights).</summary>
    public IReadOnlyList<string> Tasks => tasks;
    public SharingPlan Plan { get; }
    public ISplittableTrunk Trunk { get; }

    /// <param name="trunk">Any splittable trunk (MLP, BERT).</param>
    /// <param name="heads">Task name to head, in task order. Names: non-empty, no '.', unique.</param>
    /// <param name="plan">What is shared.</param>
    public MultiTaskModel(ISplittableTrunk trunk, IEnumerable<KeyValuePair<string, TaskHead>> heads, SharingPlan plan) : base("multitask_model")
    {
        TorchRuntime.EnsureInitialized();
        Trunk = trunk ?? throw new ArgumentNullException(nameof(trunk));
        Plan = plan ?? throw new ArgumentNullException(nameof(plan));
        var headList = heads?.ToList() ?? throw new ArgumentNullException(nameof(heads));
        if (headList.Count == 0) throw new ArgumentException("heads: expected at least one task, found none", nameof(heads));
        foreach (var (name, head) in headList)
        {
            if (string.IsNullOrWhiteSpace(name) || name.Contains('.'))
                throw new ArgumentException($"heads: task names must be non-empty and contain no '.', found '{name}'", nameof(heads));
            if (head is null) throw new ArgumentException($"heads: task '{name}' has no head", nameof(heads));
        }
        var duplicate = headList.GroupBy(h => h.Key).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"heads: task '{duplicate.Key}' appears {duplicate.Count()} times", nameof(heads));
        tasks = headList.Select(h => h.Key).ToArray();

        int layerCount = trunk.Layers.Count;
        int firstTaskLayer = plan.Kind switch
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

        for (int t = 0; t < tasks.Length; t++)
        {
            bool original = t == 0;
            var branch = new TaskBranch(tasks[t], headList[t].Value);
            if (plan.Kind == SharingKind.Isolated) branch.SetStem(original ? trunk.Stem : trunk.CloneStem());
            for (int i = firstTaskLayer; i < layerCount; i++) branch.AddLayer(i, original ? trunk.Layers[i] : trunk.CloneLayer(i));
            if (plan.Kind != SharingKind.Hard) branch.SetPool(original ? trunk.Pool : trunk.ClonePool());
            branch.Seal();
            branches[tasks[t]] = taskFolder.Add(tasks[t], branch);
        }

        register_module("shared", sharedFolder);
        register_module("tasks", taskFolder);
        register_module("strategy", strategyFolder);
    }

    /// <summary>The head of <paramref name="task"/>.</summary>
    public TaskHead Head(string task) => Branch(task).Head;

    /// <summary>Every task reads the same batch: the shared part runs once and each task continues from its output.</summary>
    public override MultiTaskOutput forward(TrunkInput input) => Forward(input, representationGradients: false);

    /// <summary>As <see cref="forward(TrunkInput)"/>; with <paramref name="representationGradients"/> the output also holds
    /// the shared representation, each task continuing from its own detached copy, so that the step engine can take
    /// per-task gradients with respect to the representation ("rep-grad", LibMTL).</summary>
    public MultiTaskOutput Forward(TrunkInput input, bool representationGradients = false) =>
        Forward(tasks.ToDictionary(t => t, _ => input), representationGradients);

    /// <summary>
    /// Each task reads its own batch (tasks absent from <paramref name="inputs"/> have no batch this step and no prediction).
    /// Tasks given the same <see cref="TrunkInput"/> object share one run of the shared part; different batches run it once each.
    /// </summary>
    public MultiTaskOutput Forward(IReadOnlyDictionary<string, TrunkInput> inputs, bool representationGradients = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (var name in inputs.Keys)
            if (!branches.ContainsKey(name))
                throw new ArgumentException($"inputs: unknown task '{name}'; the model's tasks are {string.Join(", ", tasks)}", nameof(inputs));
        var present = tasks.Where(inputs.ContainsKey).ToArray();
        if (present.Length == 0) throw new ArgumentException("inputs: expected a batch for at least one task, found none", nameof(inputs));

        var predictions = new Dictionary<string, Tensor>();
        if (Plan.Kind == SharingKind.Isolated)
        {
            if (representationGradients)
                throw new InvalidOperationException("rep-grad: the isolated plan shares nothing, so there is no shared representation");
            foreach (var t in present) predictions[t] = branches[t].Run(branches[t].RunStem(inputs[t]));
            return new MultiTaskOutput(predictions, null);
        }

        var groups = present.GroupBy(t => inputs[t], ReferenceEqualityComparer.Instance).ToList();
        if (representationGradients && groups.Count > 1)
            throw new InvalidOperationException(
                $"rep-grad: needs every task to read the same batch, but tasks got {groups.Count} different batches " +
                $"({string.Join("; ", groups.Select(g => string.Join(", ", g)))}); use parameter gradients for per-task batches");

        SharedRepresentation? representation = null;
        foreach (var group in groups)
        {
            var shared = RunShared((TrunkInput)group.Key!);
            Dictionary<string, Tensor>? leaves = representationGradients ? new() : null;
            foreach (var t in group)
            {
                var start = shared;
                if (stopGradient.Contains(t)) start = Detach(shared);
                else if (leaves is not null)
                {
                    var leaf = shared.Hidden.detach().requires_grad_(true);
                    leaves[t] = leaf;
                    start = shared with { Hidden = leaf };
                }
                predictions[t] = branches[t].Run(start);
            }
            if (leaves is not null) representation = new SharedRepresentation(shared.Hidden, leaves);
        }
        return new MultiTaskOutput(predictions, representation);
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

    /// <summary>Per-task losses of the tasks present in <paramref name="output"/>; every such task needs a target.</summary>
    public Dictionary<string, Tensor> Losses(IReadOnlyDictionary<string, Tensor> output, IReadOnlyDictionary<string, Tensor> targets)
    {
        var losses = new Dictionary<string, Tensor>();
        foreach (var t in tasks)
        {
            if (!output.TryGetValue(t, out var prediction)) continue;
            if (!targets.TryGetValue(t, out var target))
                throw new ArgumentException($"targets: task '{t}' has a prediction but no target (targets given: {string.Join(", ", targets.Keys)})", nameof(targets));
            losses[t] = Branch(t).Head.Loss(prediction, target);
        }
        return losses;
    }

    /// <summary>Parameters of the shared part (empty under the isolated plan).</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> SharedParameters() => sharedFolder.parameters();

    /// <summary>Parameters that belong to <paramref name="task"/> alone: its own layers, pool and head.</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> TaskParameters(string task) => Branch(task).parameters();

    /// <summary>Learnable state of an attached weighting/aggregation strategy (e.g. uncertainty log-variances).</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> StrategyParameters() => strategyFolder.parameters();

    /// <summary>Shared and task parameters, without strategy state: what gradient clipping acts on.</summary>
    public IEnumerable<TorchSharp.Modules.Parameter> ModelParameters() => SharedParameters().Concat(tasks.SelectMany(TaskParameters));

    /// <summary>
    /// Registers a strategy's modules (a learnable weighting, a stateful aggregator) under <c>strategy.{name}</c>, so their
    /// state saves, loads and moves with the model. Objects that are not modules are ignored. Call once per strategy.
    /// </summary>
    public void AttachStrategy(object? strategy, string name = "weighting")
    {
        if (strategy is not nn.Module module) return;
        if (strategyFolder.Children.Any(c => c.Name == name))
            throw new InvalidOperationException($"a strategy is already attached as '{name}'");
        var first = parameters().FirstOrDefault();
        if (first is not null) module.to(first.device);
        strategyFolder.Add(name, module);
    }

    /// <summary>Task isolation: when on, <paramref name="task"/>'s gradient stops at the shared representation
    /// (its branch reads a detached copy), so the task trains only its own layers and head.</summary>
    public void StopGradientIntoTrunk(string task, bool stop = true)
    {
        Branch(task);
        if (stop) stopGradient.Add(task); else stopGradient.Remove(task);
    }

    /// <summary>Tasks whose gradient does not reach the shared part.</summary>
    public IReadOnlyCollection<string> TasksStoppedAtTrunk => stopGradient;

    /// <summary>Freezes (or unfreezes) every shared parameter for all tasks.</summary>
    public void FreezeShared(bool frozen = true)
    {
        foreach (var p in SharedParameters()) p.requires_grad = !frozen;
    }

    TaskBranch Branch(string task) => branches.TryGetValue(task, out var b)
        ? b
        : throw new ArgumentException($"unknown task '{task}'; the model's tasks are {string.Join(", ", tasks)}", nameof(task));

    /// <summary>One task's own modules: optional stem (isolated plan), upper layers, pool, head.</summary>
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

        public Tensor Run(HiddenState state)
        {
            foreach (var layer in layers) state = layer.call(state);
            return Head.call(pool is null ? state.Hidden : pool.call(state));
        }
    }
}

/// <summary>Predictions keyed by task (only tasks that had a batch), plus the shared representation when asked for.</summary>
public sealed class MultiTaskOutput : IReadOnlyDictionary<string, Tensor>
{
    readonly IReadOnlyDictionary<string, Tensor> predictions;

    public MultiTaskOutput(IReadOnlyDictionary<string, Tensor> predictions, SharedRepresentation? representation)
    {
        this.predictions = predictions;
        Representation = representation;
    }

    /// <summary>Set by <see cref="MultiTaskModel.Forward(TrunkInput, bool)"/> with representation gradients on.</summary>
    public SharedRepresentation? Representation { get; }

    public Tensor this[string key] => predictions.TryGetValue(key, out var v)
        ? v
        : throw new KeyNotFoundException($"no prediction for task '{key}' (predictions: {string.Join(", ", predictions.Keys)})");
    public IEnumerable<string> Keys => predictions.Keys;
    public IEnumerable<Tensor> Values => predictions.Values;
    public int Count => predictions.Count;
    public bool ContainsKey(string key) => predictions.ContainsKey(key);
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Tensor value) => predictions.TryGetValue(key, out value);
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => predictions.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// The shared representation z of one forward pass (attached to the trunk's graph) and, per task, the detached leaf
/// copy of z that the task's branch read. Per-task gradients with respect to the leaves cost one backward through
/// each task's own layers; the aggregated gradient then goes through the trunk once via <c>z.backward(d)</c>.
/// Tasks stopped at the trunk have no leaf.
/// </summary>
public sealed record SharedRepresentation(Tensor Shared, IReadOnlyDictionary<string, Tensor> TaskLeaves);
