using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>Settings of <see cref="CrossStitchNetwork"/>.</summary>
/// <param name="SelfWeight">Initial diagonal of every α: how much of its own column a task keeps. The rest,
/// (1 − SelfWeight)/(T − 1), comes from each other task, so every row of α starts summing to 1 and the network starts
/// close to T separate trunks that already exchange a little. Misra et al. found initialisations that favour the own
/// task (their 0.9/0.1) train better than uniform ones.</param>
public sealed record CrossStitchOptions(double SelfWeight = 0.9)
{
    internal void Validate()
    {
        if (SelfWeight is < 0 or > 1 || double.IsNaN(SelfWeight))
            throw new ArgumentOutOfRangeException(nameof(SelfWeight), SelfWeight, "expected the initial diagonal of α in [0, 1]");
    }
}

/// <summary>
/// Cross-stitch networks (Misra, Shrivastava, Gupta and Hebert, "Cross-stitch Networks for Multi-task Learning",
/// CVPR 2016, https://arxiv.org/abs/1604.03539): one copy of the trunk per task (a column), and after the stem and after
/// every layer a cross-stitch unit that replaces each task's activation by a learned linear combination of all tasks'
/// activations at that depth: x̃ᵢ = Σⱼ αᵢⱼ xⱼ (paper eq. 1, one α per unit, applied to the whole activation rather than
/// per channel). Each column then continues from its mixed state; the top state goes through the column's pool and the
/// task's head. α starts near the identity (<see cref="CrossStitchOptions.SelfWeight"/>, 0.9 by default).
/// <para>Works on any <see cref="ISplittableTrunk"/> (stem, layers, pool): the first task keeps the trunk's own modules,
/// the others get clones, so every column starts from the same weights.</para>
/// <para>Inputs. Every column runs on every batch, because mixing needs all tasks' activations for the same rows: a
/// batch read by one task still runs T columns (cost ≈ T × the trunk), and tasks given the same <see cref="TrunkInput"/>
/// object share one run.</para>
/// <para>What is shared. Every task's loss reaches every column through α, so no trunk weight belongs to one task's
/// loss alone. The kit's partition: the shared parameters are the α matrices (the per-task gradient matrix that
/// gradient methods such as PCGrad or MGDA aggregate is over α); each task's parameters are its column and head, which
/// get the weighted sum of all tasks' gradients (<see cref="TaskParametersAreExclusive"/> is false). There is no single
/// shared representation, so rep-grad (MGDA-UB) is refused. <see cref="MultiTaskNetwork.StopGradientIntoTrunk"/> makes a
/// task read the other columns and its α row detached, so its loss trains only its own column and head.</para>
/// <para>Layout (also the checkpoint keys): <c>shared.stitch.stem.alpha</c> and <c>shared.stitch.layers.{i}.alpha</c>
/// ([T, T], row = the task that reads, column = the task read from, in task order), and per task
/// <c>tasks.{task}.stem</c>, <c>tasks.{task}.layers.{i}</c>, <c>tasks.{task}.pool</c>, <c>tasks.{task}.head</c> (the
/// isolated plan's names, so a column can be compared with a single-task trunk key by key).</para>
/// </summary>
public sealed class CrossStitchNetwork : MultiTaskNetwork
{
    readonly ModuleContainer sharedFolder = new("shared");
    readonly ModuleContainer taskFolder = new("tasks");
    readonly CrossStitchUnit stemUnit;
    readonly List<CrossStitchUnit> layerUnits = new();
    readonly List<TaskColumn> columns = new();
    readonly Dictionary<string, int> index;

    public CrossStitchOptions Options { get; }
    public ISplittableTrunk Trunk { get; }

    /// <param name="trunk">Any splittable trunk (MLP, BERT); its modules become the first task's column.</param>
    /// <param name="heads">Task name to head, in task order.</param>
    /// <param name="options">The initial α (null: defaults).</param>
    public CrossStitchNetwork(ISplittableTrunk trunk, IEnumerable<KeyValuePair<string, TaskHead>> heads, CrossStitchOptions? options = null)
        : base("cross_stitch_network", heads)
    {
        Trunk = trunk ?? throw new ArgumentNullException(nameof(trunk));
        Options = options ?? new CrossStitchOptions();
        Options.Validate();
        int t = Tasks.Count;
        index = Tasks.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => x.i);
        var device = trunk.Layers.Count > 0 ? trunk.Layers[0].parameters().FirstOrDefault()?.device : trunk.Stem.parameters().FirstOrDefault()?.device;

        var stitch = new ModuleContainer("stitch");
        stemUnit = stitch.Add("stem", new CrossStitchUnit(t, Options.SelfWeight, device));
        var unitLayers = new ModuleContainer("layers");
        for (int i = 0; i < trunk.Layers.Count; i++) layerUnits.Add(unitLayers.Add(i.ToString(), new CrossStitchUnit(t, Options.SelfWeight, device)));
        stitch.Add("layers", unitLayers);
        sharedFolder.Add("stitch", stitch);

        for (int k = 0; k < t; k++)
        {
            bool original = k == 0;
            var layers = Enumerable.Range(0, trunk.Layers.Count).Select(i => original ? trunk.Layers[i] : trunk.CloneLayer(i)).ToList();
            var column = new TaskColumn(Tasks[k], original ? trunk.Stem : trunk.CloneStem(), layers, original ? trunk.Pool : trunk.ClonePool(), Head(Tasks[k]));
            columns.Add(taskFolder.Add(Tasks[k], column));
        }

        register_module("shared", sharedFolder);
        register_module("tasks", taskFolder);
    }

    public override string Architecture => "cross_stitch";

    /// <summary>False: each task reads its own mixed column.</summary>
    public override bool HasSharedRepresentation => false;

    /// <summary>False: through α, every task's loss reaches every column.</summary>
    public override bool TaskParametersAreExclusive => false;

    /// <summary>The α matrices, bottom first (one after the stem, one after each layer).</summary>
    public override IEnumerable<Parameter> SharedParameters() => sharedFolder.parameters();

    /// <summary>Every α (the shared parameters): kept out of weight decay, which would pull α towards 0 rather than towards the identity.</summary>
    public override IEnumerable<Parameter> MixingParameters() => sharedFolder.parameters();

    /// <summary>The task's column (stem, layers, pool) and head.</summary>
    public override IEnumerable<Parameter> TaskParameters(string task) => Column(task).parameters();

    /// <summary>α after the stem (<c>stitch.stem</c>) and after each layer (<c>stitch.layers.{i}</c>), detached.</summary>
    public override IReadOnlyList<(string Name, Tensor Weights)> LearnedMixing() =>
        new[] { ("stitch.stem", stemUnit.Alpha.detach()) }
            .Concat(layerUnits.Select((u, i) => ($"stitch.layers.{i}", u.Alpha.detach()))).ToList();

    protected override MultiTaskOutput ForwardTasks(IReadOnlyList<string> present, IReadOnlyDictionary<string, TrunkInput> inputs, bool representationGradients)
    {
        var stopped = Tasks.Select(TasksStoppedAtTrunk.Contains).ToArray();
        var predictions = new Dictionary<string, Tensor>();
        foreach (var group in present.GroupBy(t => inputs[t], ReferenceEqualityComparer.Instance))
        {
            var input = (TrunkInput)group.Key!;
            var states = stemUnit.Mix(columns.Select(c => c.Stem.call(input)).ToArray(), stopped);
            for (int i = 0; i < layerUnits.Count; i++)
            {
                var next = new HiddenState[states.Length];
                for (int k = 0; k < states.Length; k++) next[k] = columns[k].Layers[i].call(states[k]);
                states = layerUnits[i].Mix(next, stopped);
            }
            foreach (var t in group)
            {
                var column = columns[index[t]];
                predictions[t] = column.Head.call(column.Pool.call(states[index[t]]));
            }
        }
        return new MultiTaskOutput(predictions, null);
    }

    TaskColumn Column(string task) => index.TryGetValue(task, out var k)
        ? columns[k]
        : throw new ArgumentException($"unknown task '{task}'; the model's tasks are {string.Join(", ", Tasks)}", nameof(task));

    /// <summary>One learned [T, T] α. Field names equal the registered names (TorchSharp registers fields by name too).</summary>
    sealed class CrossStitchUnit : nn.Module
    {
        readonly Parameter alpha;

        public CrossStitchUnit(int tasks, double selfWeight, Device? device) : base("cross_stitch_unit")
        {
            double self = tasks > 1 ? selfWeight : 1.0;
            double other = tasks > 1 ? (1 - selfWeight) / (tasks - 1) : 0;
            var values = new float[tasks * tasks];
            for (int i = 0; i < tasks; i++)
                for (int j = 0; j < tasks; j++) values[i * tasks + j] = (float)(i == j ? self : other);
            using var init = tensor(values, new long[] { tasks, tasks });
            alpha = new Parameter(init.to(device ?? CPU).clone());
            register_parameter("alpha", alpha);
        }

        public Parameter Alpha => alpha;

        /// <summary>x̃ᵢ = Σⱼ αᵢⱼ xⱼ over the tasks' states (same shape each). A stopped task's row reads α and the other
        /// columns detached, so its loss reaches only its own column.</summary>
        public HiddenState[] Mix(HiddenState[] states, bool[] stopped)
        {
            int t = states.Length;
            var x = stack(states.Select(s => s.Hidden).ToArray());          // [T, batch, ...]
            var flat = x.reshape(t, -1);                                     // [T, N]
            var mixed = alpha.to_type(flat.dtype).matmul(flat);             // [T, N]
            if (stopped.Any(s => s))
            {
                var rows = mixed.unbind(0);
                var frozen = alpha.detach().to_type(flat.dtype);
                var detachedFlat = flat.detach();
                for (int i = 0; i < t; i++)
                {
                    if (!stopped[i]) continue;
                    // αᵢᵢ·xᵢ keeps the path into column i; the other columns and α enter as constants
                    rows[i] = frozen[i].matmul(detachedFlat) + frozen[i, i] * (flat[i] - detachedFlat[i]);
                }
                mixed = stack(rows);
            }
            var result = mixed.reshape(x.shape).unbind(0);
            return states.Select((s, i) => s with { Hidden = result[i] }).ToArray();
        }
    }

    /// <summary>One task's copy of the trunk and its head. Field names equal the registered names.</summary>
    sealed class TaskColumn : nn.Module
    {
        readonly nn.Module<TrunkInput, HiddenState> stem;
        readonly ModuleContainer layers = new("layers");
        readonly nn.Module<HiddenState, Tensor> pool;
        readonly TaskHead head;
        readonly List<nn.Module<HiddenState, HiddenState>> layerList = new();

        public TaskColumn(string task, nn.Module<TrunkInput, HiddenState> stem, IReadOnlyList<nn.Module<HiddenState, HiddenState>> layers,
            nn.Module<HiddenState, Tensor> pool, TaskHead head) : base(task)
        {
            this.stem = stem;
            for (int i = 0; i < layers.Count; i++) layerList.Add(this.layers.Add(i.ToString(), layers[i]));
            this.pool = pool;
            this.head = head;
            register_module("stem", stem);
            register_module("layers", this.layers);
            register_module("pool", pool);
            register_module("head", head);
        }

        public nn.Module<TrunkInput, HiddenState> Stem => stem;
        public IReadOnlyList<nn.Module<HiddenState, HiddenState>> Layers => layerList;
        public nn.Module<HiddenState, Tensor> Pool => pool;
        public TaskHead Head => head;
    }
}
