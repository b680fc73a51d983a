using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>Settings of <see cref="PLENetwork"/>.</summary>
/// <param name="Levels">Extraction layers stacked above the bottom (1 = CGC). Capped at the number of upper layers,
/// which are cut into this many contiguous runs, one run per level.</param>
/// <param name="SharedExperts">Shared experts per level (mₛ in the paper), at least 1.</param>
/// <param name="TaskExperts">Experts per task per level (mₜ), at least 1.</param>
/// <param name="SharedLayers">k, the lower layers in the shared bottom (with the stem); capped at L − 1.</param>
public sealed record PLEOptions(int Levels = 2, int SharedExperts = 1, int TaskExperts = 1, int SharedLayers = 2)
{
    internal void Validate()
    {
        if (Levels < 1) throw new ArgumentOutOfRangeException(nameof(Levels), Levels, "expected at least 1 extraction layer");
        if (SharedExperts < 1) throw new ArgumentOutOfRangeException(nameof(SharedExperts), SharedExperts, "expected at least 1 shared expert");
        if (TaskExperts < 1) throw new ArgumentOutOfRangeException(nameof(TaskExperts), TaskExperts, "expected at least 1 expert per task");
        if (SharedLayers < 0) throw new ArgumentOutOfRangeException(nameof(SharedLayers), SharedLayers, "expected 0 or more shared layers");
    }
}

/// <summary>
/// Progressive Layered Extraction and its single-level form, Customized Gate Control (Tang, Liu, Zhao and Gong,
/// "Progressive Layered Extraction (PLE): A Novel Multi-Task Learning (MTL) Model for Personalized Recommendations",
/// RecSys 2020, https://doi.org/10.1145/3383313.3412236). CGC (paper §4.2) separates experts into shared ones and
/// task-specific ones: task t's gate mixes only its own experts and the shared ones, gᵗ(x) = softmax(Wᵗx) over
/// [Eₜ, Eₛ]. PLE (§4.3) stacks such extraction layers: at each level every task keeps its own state, and a shared
/// state is carried too, whose gate mixes every expert of the level; the last level has no shared gate.
/// <para>On a splittable trunk. The stem and the lower k layers form a shared bottom that runs once per batch; the upper
/// layers [k, L) are cut into <see cref="PLEOptions.Levels"/> contiguous runs, and at level j every expert (shared or a
/// task's) is a copy of run j, so the experts are pretrained transformer (or MLP) layers, not fresh feed-forward networks
/// (why: see <see cref="MMoENetwork"/>). Task experts read their task's state, shared experts the shared state; gates
/// read the masked mean over tokens of the state they mix for (the state itself on the MLP trunk) and mix token states
/// row by row. After the last level each task pools (its own copy of the trunk's pool) and applies its head.
/// The trunk's own modules become the first shared expert of each level; every other expert is a clone.</para>
/// <para>Partition: shared = the bottom, the shared experts and the shared gates; task t = its experts, its gates, pool
/// and head. With one level (CGC) a task's parameters take gradient from its own loss only; with more, a task's experts
/// below the last level also feed the shared gate, so other tasks' losses reach them and
/// <see cref="MultiTaskNetwork.TaskParametersAreExclusive"/> is false. There is no single representation every task
/// reads (each reads its own experts), so rep-grad is refused. <see cref="MultiTaskNetwork.StopGradientIntoTrunk"/>
/// makes a task read the bottom and the shared experts detached.</para>
/// <para><see cref="LearnedMixing"/> reports, per level, the task gates' weights (<c>level.{j}.tasks</c>, [T, mₜ + mₛ])
/// and the shared gate's (<c>level.{j}.shared</c>, [1, T·mₜ + mₛ]), averaged over the rows of the last forward pass.</para>
/// <para>Layout (also the checkpoint keys): <c>shared.stem</c>, <c>shared.layers.{i}</c>,
/// <c>shared.levels.{j}.experts.{e}.layers.{i}</c>, <c>shared.levels.{j}.gate.linear</c> (levels below the last), and per
/// task <c>tasks.{task}.levels.{j}.experts.{e}.layers.{i}</c>, <c>tasks.{task}.levels.{j}.gate.linear</c>,
/// <c>tasks.{task}.pool</c>, <c>tasks.{task}.head</c>.</para>
/// </summary>
public sealed class PLENetwork : MultiTaskNetwork
{
    readonly ModuleContainer sharedFolder = new("shared");
    readonly ModuleContainer taskFolder = new("tasks");
    readonly nn.Module<TrunkInput, HiddenState> stem;
    readonly List<nn.Module<HiddenState, HiddenState>> bottom = new();
    readonly List<List<ExpertStack>> sharedExperts = new();
    readonly List<SoftmaxGate?> sharedGates = new();
    readonly Dictionary<string, TaskPart> parts = new();
    readonly List<double[][]> lastTaskGates = new();
    readonly List<double[]> lastSharedGates = new();

    public PLEOptions Options { get; }
    public ISplittableTrunk Trunk { get; }

    /// <summary>k after capping at L − 1.</summary>
    public int BottomLayers { get; }

    /// <summary>Extraction layers after capping at the number of upper layers.</summary>
    public int Levels { get; }

    /// <param name="trunk">Any splittable trunk (MLP, BERT) with at least one layer.</param>
    /// <param name="heads">Task name to head, in task order.</param>
    /// <param name="options">Levels, experts and bottom depth (null: defaults, PLE with two levels).</param>
    public PLENetwork(ISplittableTrunk trunk, IEnumerable<KeyValuePair<string, TaskHead>> heads, PLEOptions? options = null)
        : base("ple_network", heads)
    {
        Trunk = trunk ?? throw new ArgumentNullException(nameof(trunk));
        Options = options ?? new PLEOptions();
        Options.Validate();
        int layers = trunk.Layers.Count;
        if (layers < 1) throw new ArgumentException("ple: the trunk has no layers to make experts of; expected at least 1", nameof(trunk));
        BottomLayers = Math.Min(Options.SharedLayers, layers - 1);
        Levels = Math.Min(Options.Levels, layers - BottomLayers);
        var runs = ExpertStack.Partition(BottomLayers, layers, Levels);
        var device = trunk.Layers[0].parameters().FirstOrDefault()?.device;
        int t = Tasks.Count, ms = Options.SharedExperts, mt = Options.TaskExperts;

        stem = sharedFolder.Add("stem", trunk.Stem);
        var bottomFolder = new ModuleContainer("layers");
        for (int i = 0; i < BottomLayers; i++) bottom.Add(bottomFolder.Add(i.ToString(), trunk.Layers[i]));
        sharedFolder.Add("layers", bottomFolder);
        var levelFolder = new ModuleContainer("levels");
        for (int j = 0; j < Levels; j++)
        {
            var level = new ModuleContainer(j.ToString());
            var expertFolder = new ModuleContainer("experts");
            sharedExperts.Add(Enumerable.Range(0, ms)
                .Select(e => expertFolder.Add(e.ToString(), new ExpertStack(trunk, runs[j].First, runs[j].Count, original: e == 0))).ToList());
            level.Add("experts", expertFolder);
            SoftmaxGate? gate = j < Levels - 1 ? level.Add("gate", new SoftmaxGate(trunk.OutputSize, t * mt + ms, device)) : null;
            sharedGates.Add(gate);
            levelFolder.Add(j.ToString(), level);
            lastTaskGates.Add(Enumerable.Range(0, t).Select(_ => Enumerable.Repeat(double.NaN, mt + ms).ToArray()).ToArray());
            lastSharedGates.Add(Enumerable.Repeat(double.NaN, t * mt + ms).ToArray());
        }
        sharedFolder.Add("levels", levelFolder);

        for (int k = 0; k < t; k++)
        {
            var part = new TaskPart(Tasks[k], trunk, runs, mt, ms, device, k == 0 ? trunk.Pool : trunk.ClonePool(), Head(Tasks[k]));
            parts[Tasks[k]] = taskFolder.Add(Tasks[k], part);
        }

        register_module("shared", sharedFolder);
        register_module("tasks", taskFolder);
    }

    /// <summary><c>cgc</c> with one level, <c>ple</c> with more.</summary>
    public override string Architecture => Levels == 1 ? "cgc" : "ple";

    public override bool HasSharedRepresentation => false;

    /// <summary>One level: a task's experts serve only its own gate. More: lower task experts feed the shared gate too.</summary>
    public override bool TaskParametersAreExclusive => Levels == 1;

    /// <summary>The bottom, the shared experts and the shared gates.</summary>
    public override IEnumerable<Parameter> SharedParameters() => sharedFolder.parameters();

    /// <summary>The task's experts, gates, pool and head.</summary>
    public override IEnumerable<Parameter> TaskParameters(string task) => Part(task).parameters();

    /// <summary>The shared gates and every task's gates.</summary>
    public override IEnumerable<Parameter> MixingParameters() =>
        sharedGates.Where(g => g is not null).SelectMany(g => g!.parameters()).Concat(parts.Values.SelectMany(p => p.Gates.SelectMany(g => g.parameters())));

    public override IReadOnlyList<(string Name, Tensor Weights)> LearnedMixing()
    {
        int t = Tasks.Count, ms = Options.SharedExperts, mt = Options.TaskExperts;
        var list = new List<(string, Tensor)>();
        for (int j = 0; j < Levels; j++)
        {
            list.Add(($"level.{j}.tasks", tensor(lastTaskGates[j].SelectMany(r => r).ToArray(), new long[] { t, mt + ms })));
            if (j < Levels - 1) list.Add(($"level.{j}.shared", tensor(lastSharedGates[j], new long[] { 1, t * mt + ms })));
        }
        return list;
    }

    public override (IReadOnlyList<string> Rows, IReadOnlyList<string> Columns)? MixingLabels(string unit)
    {
        int ms = Options.SharedExperts, mt = Options.TaskExperts;
        var shared = Enumerable.Range(0, ms).Select(e => $"shared {e}");
        if (unit.EndsWith(".shared"))
            return (["shared"], Tasks.SelectMany(task => Enumerable.Range(0, mt).Select(e => $"{task} {e}")).Concat(shared).ToArray());
        return (Tasks, Enumerable.Range(0, mt).Select(e => $"own {e}").Concat(shared).ToArray());
    }

    protected override MultiTaskOutput ForwardTasks(IReadOnlyList<string> present, IReadOnlyDictionary<string, TrunkInput> inputs, bool representationGradients)
    {
        var predictions = new Dictionary<string, Tensor>();
        foreach (var group in present.GroupBy(t => inputs[t], ReferenceEqualityComparer.Instance))
        {
            var start = stem.call((TrunkInput)group.Key!);
            foreach (var layer in bottom) start = layer.call(start);
            var reading = group.ToHashSet();
            // every task's state is carried below the last level (the shared gate mixes every task's experts); at the last
            // level only the tasks that predict need their experts
            var taskStates = Tasks.ToDictionary(t => t, t => TasksStoppedAtTrunk.Contains(t) ? start with { Hidden = start.Hidden.detach() } : start);
            var sharedState = start;
            for (int j = 0; j < Levels; j++)
            {
                bool last = j == Levels - 1;
                var sharedOut = sharedExperts[j].Select(e => e.call(sharedState).Hidden).ToArray();
                var taskOut = new Dictionary<string, Tensor[]>();
                foreach (var t in Tasks)
                    if (!last || reading.Contains(t)) taskOut[t] = parts[t].Experts[j].Select(e => e.call(taskStates[t]).Hidden).ToArray();
                var next = new Dictionary<string, HiddenState>();
                foreach (var (t, own) in taskOut)
                {
                    var sharedForTask = TasksStoppedAtTrunk.Contains(t) ? sharedOut.Select(s => s.detach()).ToArray() : sharedOut;
                    var weights = parts[t].Gates[j].call(MeanOverTokens(taskStates[t]));
                    if (reading.Contains(t)) Record(lastTaskGates[j][Tasks.ToList().IndexOf(t)], weights);
                    next[t] = taskStates[t] with { Hidden = MixRows(stack(own.Concat(sharedForTask).ToArray()), weights) };
                }
                if (!last)
                {
                    var weights = sharedGates[j]!.call(MeanOverTokens(sharedState));
                    Record(lastSharedGates[j], weights);
                    sharedState = sharedState with { Hidden = MixRows(stack(Tasks.SelectMany(t => taskOut[t]).Concat(sharedOut).ToArray()), weights) };
                }
                foreach (var (t, s) in next) taskStates[t] = s;
            }
            foreach (var t in group)
                predictions[t] = parts[t].Head.call(parts[t].Pool.call(taskStates[t]));
        }
        return new MultiTaskOutput(predictions, null);
    }

    static void Record(double[] into, Tensor weights)
    {
        using var mean = weights.detach().mean(new long[] { 0 }).to_type(ScalarType.Float64).cpu();
        mean.data<double>().CopyTo(into);
    }

    TaskPart Part(string task) => parts.TryGetValue(task, out var part)
        ? part
        : throw new ArgumentException($"unknown task '{task}'; the model's tasks are {string.Join(", ", Tasks)}", nameof(task));

    /// <summary>One task's experts and gate per level, its pool and head. Field names equal the registered names.</summary>
    sealed class TaskPart : nn.Module
    {
        readonly ModuleContainer levels = new("levels");
        readonly nn.Module<HiddenState, Tensor> pool;
        readonly TaskHead head;
        readonly List<List<ExpertStack>> expertList = new();
        readonly List<SoftmaxGate> gateList = new();

        public TaskPart(string task, ISplittableTrunk trunk, (int First, int Count)[] runs, int taskExperts, int sharedExperts,
            Device? device, nn.Module<HiddenState, Tensor> pool, TaskHead head) : base(task)
        {
            for (int j = 0; j < runs.Length; j++)
            {
                var level = new ModuleContainer(j.ToString());
                var experts = new ModuleContainer("experts");
                expertList.Add(Enumerable.Range(0, taskExperts)
                    .Select(e => experts.Add(e.ToString(), new ExpertStack(trunk, runs[j].First, runs[j].Count, original: false))).ToList());
                level.Add("experts", experts);
                gateList.Add(level.Add("gate", new SoftmaxGate(trunk.OutputSize, taskExperts + sharedExperts, device)));
                levels.Add(j.ToString(), level);
            }
            this.pool = pool; this.head = head;
            register_module("levels", levels);
            register_module("pool", pool);
            register_module("head", head);
        }

        public IReadOnlyList<List<ExpertStack>> Experts => expertList;
        public IReadOnlyList<SoftmaxGate> Gates => gateList;
        public nn.Module<HiddenState, Tensor> Pool => pool;
        public TaskHead Head => head;
    }
}
