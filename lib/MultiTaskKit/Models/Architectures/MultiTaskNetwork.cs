using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Models;

/// <summary>
/// The architecture axis: any network that maps <c>{task: input}</c> to <c>{task: prediction}</c> and partitions its
/// parameters into the shared ones and each task's own. Weighting, aggregation, the step engine, the trainer,
/// checkpoints and the model view work on this type, so an architecture is one subclass and needs nothing else.
/// <list type="bullet">
/// <item><see cref="MultiTaskModel"/>: one trunk cut between layers (hard sharing, split at layer k, isolated).</item>
/// <item><see cref="CrossStitchNetwork"/>: one trunk copy per task, mixed after each layer by learned α matrices.</item>
/// <item><see cref="MMoENetwork"/>: a shared bottom, K experts and one softmax gate per task.</item>
/// <item><see cref="PLENetwork"/>: shared and task-specific experts with per-task gates, in stacked extraction layers (CGC = one).</item>
/// <item><see cref="TaskAttentionNetwork"/>: one shared trunk; each task attends over the states of every layer.</item>
/// </list>
/// <para>What a subclass provides: <see cref="ForwardTasks"/>, the partition (<see cref="SharedParameters"/>,
/// <see cref="TaskParameters"/>), <see cref="Architecture"/> (its name as recorded in a run), and whether it has one
/// shared representation that every task reads (<see cref="HasSharedRepresentation"/>, which rep-grad needs) and
/// whether a task's parameters take gradient from that task's loss alone (<see cref="TaskParametersAreExclusive"/>).
/// Learned mixing that a reader should see (cross-stitch α, gate weights) is listed by <see cref="LearnedMixing"/>.</para>
/// <para>Contract: the shared parameters, the task parameters of every task and the strategy parameters are disjoint,
/// and together they are every parameter of the network. Heads are registered by the subclass (their checkpoint keys
/// are its layout); this base class registers only <c>strategy.*</c>, on the first <see cref="AttachStrategy"/>.</para>
/// </summary>
public abstract class MultiTaskNetwork : nn.Module<TrunkInput, MultiTaskOutput>
{
    readonly string[] tasks;
    readonly Dictionary<string, TaskHead> heads;
    readonly ModuleContainer strategyFolder = new("strategy");
    readonly HashSet<string> stopGradient = new();
    bool strategyRegistered;

    /// <param name="name">The module name.</param>
    /// <param name="heads">Task name to head, in task order. Names: non-empty, no '.', unique.</param>
    protected MultiTaskNetwork(string name, IEnumerable<KeyValuePair<string, TaskHead>> heads) : base(name)
    {
        var headList = heads?.ToList() ?? throw new ArgumentNullException(nameof(heads));
        if (headList.Count == 0) throw new ArgumentException("heads: expected at least one task, found none", nameof(heads));
        foreach (var (task, head) in headList)
        {
            if (string.IsNullOrWhiteSpace(task) || task.Contains('.'))
                throw new ArgumentException($"heads: task names must be non-empty and contain no '.', found '{task}'", nameof(heads));
            if (head is null) throw new ArgumentException($"heads: task '{task}' has no head", nameof(heads));
        }
        var duplicate = headList.GroupBy(h => h.Key).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"heads: task '{duplicate.Key}' appears {duplicate.Count()} times", nameof(heads));
        tasks = headList.Select(h => h.Key).ToArray();
        this.heads = headList.ToDictionary(h => h.Key, h => h.Value);
    }

    /// <summary>Task names, in the order given at construction (the row order of gradient matrices and weights).</summary>
    public IReadOnlyList<string> Tasks => tasks;

    /// <summary>The architecture as recorded in a run's <c>metrics.json</c> and shown by the model view: <c>hard</c>,
    /// <c>split@2</c>, <c>isolated</c>, <c>cross-stitch</c>.</summary>
    public abstract string Architecture { get; }

    /// <summary>
    /// True when one tensor z is computed once per batch and every task's branch reads z (hard and split sharing). Only
    /// then can the step engine take per-task gradients with respect to the representation (rep-grad, MGDA-UB). An
    /// architecture without it (isolated, cross-stitch: every task reads its own mixed state) throws when asked for it;
    /// its gradient methods work on the shared parameters instead.
    /// </summary>
    public abstract bool HasSharedRepresentation { get; }

    /// <summary>
    /// True when task t's parameters receive gradient from task t's loss alone (hard, split, isolated). False when
    /// other tasks' losses reach them too (cross-stitch: α mixes every task's column into every other). The step engine
    /// reads it to scale task parameters' gradients correctly when a weighting's weights are known only after the
    /// per-task backwards (GradNorm).
    /// </summary>
    public virtual bool TaskParametersAreExclusive => true;

    /// <summary>The head of <paramref name="task"/>.</summary>
    public TaskHead Head(string task) => heads.TryGetValue(task, out var h)
        ? h
        : throw new ArgumentException($"unknown task '{task}'; the model's tasks are {string.Join(", ", tasks)}", nameof(task));

    /// <summary>Every task reads the same batch.</summary>
    public override MultiTaskOutput forward(TrunkInput input) => Forward(input, representationGradients: false);

    /// <summary>As <see cref="forward(TrunkInput)"/>; with <paramref name="representationGradients"/> the output also holds
    /// the shared representation, each task continuing from its own detached copy, so that the step engine can take
    /// per-task gradients with respect to the representation ("rep-grad", LibMTL). Needs <see cref="HasSharedRepresentation"/>.</summary>
    public MultiTaskOutput Forward(TrunkInput input, bool representationGradients = false) =>
        Forward(tasks.ToDictionary(t => t, _ => input), representationGradients);

    /// <summary>
    /// Each task reads its own batch (tasks absent from <paramref name="inputs"/> have no batch this step and no prediction).
    /// Tasks given the same <see cref="TrunkInput"/> object share one run of whatever the architecture shares.
    /// </summary>
    public MultiTaskOutput Forward(IReadOnlyDictionary<string, TrunkInput> inputs, bool representationGradients = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (var name in inputs.Keys)
            if (!heads.ContainsKey(name))
                throw new ArgumentException($"inputs: unknown task '{name}'; the model's tasks are {string.Join(", ", tasks)}", nameof(inputs));
        var present = tasks.Where(inputs.ContainsKey).ToArray();
        if (present.Length == 0) throw new ArgumentException("inputs: expected a batch for at least one task, found none", nameof(inputs));
        if (representationGradients && !HasSharedRepresentation)
            throw new InvalidOperationException(
                $"rep-grad: the {Architecture} architecture has no single shared representation that every task reads; " +
                "use parameter gradients (e.g. mgda instead of mgda-ub)");
        return ForwardTasks(present, inputs, representationGradients);
    }

    /// <summary>The architecture's forward for the <paramref name="present"/> tasks (model order, at least one, all in
    /// <paramref name="inputs"/>). With <paramref name="representationGradients"/> (only asked of architectures with
    /// <see cref="HasSharedRepresentation"/>) the output carries a <see cref="SharedRepresentation"/>. Tasks in
    /// <see cref="TasksStoppedAtTrunk"/> must not send gradient into the shared parameters.</summary>
    protected abstract MultiTaskOutput ForwardTasks(IReadOnlyList<string> present, IReadOnlyDictionary<string, TrunkInput> inputs, bool representationGradients);

    /// <summary>Per-task losses of the tasks present in <paramref name="output"/>; every such task needs a target.</summary>
    public Dictionary<string, Tensor> Losses(IReadOnlyDictionary<string, Tensor> output, IReadOnlyDictionary<string, Tensor> targets)
    {
        var losses = new Dictionary<string, Tensor>();
        foreach (var t in tasks)
        {
            if (!output.TryGetValue(t, out var prediction)) continue;
            if (!targets.TryGetValue(t, out var target))
                throw new ArgumentException($"targets: task '{t}' has a prediction but no target (targets given: {string.Join(", ", targets.Keys)})", nameof(targets));
            losses[t] = TaskLoss(t, prediction, target);
        }
        return losses;
    }

    /// <summary>
    /// Per-task losses over the labelled rows of a shared-input batch: each task's prediction is cut to
    /// <paramref name="labelledRows"/>[task] (int64 row indices, in the order of its target) before its loss, so a row
    /// without the task's label adds nothing to its loss or gradient, and the loss averages over the labelled rows only.
    /// A task with no entry in <paramref name="targets"/> labels no row of the batch and has no loss.
    /// </summary>
    public Dictionary<string, Tensor> Losses(IReadOnlyDictionary<string, Tensor> output, IReadOnlyDictionary<string, Tensor> targets,
        IReadOnlyDictionary<string, Tensor> labelledRows)
    {
        ArgumentNullException.ThrowIfNull(labelledRows);
        var losses = new Dictionary<string, Tensor>();
        foreach (var t in tasks)
        {
            if (!output.TryGetValue(t, out var prediction) || !targets.TryGetValue(t, out var target)) continue;
            if (!labelledRows.TryGetValue(t, out var rows))
                throw new ArgumentException($"labelledRows: task '{t}' has a target but no labelled rows (rows given: {string.Join(", ", labelledRows.Keys)})", nameof(labelledRows));
            if (rows.numel() != target.shape[0])
                throw new ArgumentException($"labelledRows: task '{t}' lists {rows.numel()} rows for {target.shape[0]} targets", nameof(labelledRows));
            losses[t] = TaskLoss(t, prediction.index_select(0, rows), target);
        }
        return losses;
    }

    /// <summary>The head's loss, with a mismatch of rows or shape reported by task and shape rather than by libtorch.</summary>
    Tensor TaskLoss(string task, Tensor prediction, Tensor target)
    {
        static string Shape(Tensor x) => $"[{string.Join(", ", x.shape)}]";
        if (target.dim() == 0 || target.shape[0] != prediction.shape[0])
            throw new ArgumentException($"targets: task '{task}' has predictions of shape {Shape(prediction)}, so its target needs {prediction.shape[0]} rows ([{prediction.shape[0]}] or [{prediction.shape[0]}, …]), found shape {Shape(target)}", nameof(target));
        try { return Head(task).Loss(prediction, target); }
        catch (System.Runtime.InteropServices.ExternalException e)
        {
            throw new ArgumentException($"targets: task '{task}': its head's loss refused a target of shape {Shape(target)} and dtype {target.dtype} for predictions of shape {Shape(prediction)} ({e.Message.Split('\n')[0]})", nameof(target), e);
        }
    }

    /// <summary>The parameters every task's loss reaches and that gradient methods aggregate over (the columns of the
    /// per-task gradient matrix): the shared trunk part, or cross-stitch's α. Empty when nothing is shared.</summary>
    public abstract IEnumerable<TorchSharp.Modules.Parameter> SharedParameters();

    /// <summary>Parameters that belong to <paramref name="task"/>: its own layers, pool and head. Aggregation never
    /// touches them; they get the weighted sum of the task losses' gradients.</summary>
    public abstract IEnumerable<TorchSharp.Modules.Parameter> TaskParameters(string task);

    /// <summary>Learned mixing a reader should see, by name (cross-stitch: one T×T α per unit, row = the task that reads,
    /// column = the task it reads from). Empty for architectures that mix nothing.</summary>
    public virtual IReadOnlyList<(string Name, Tensor Weights)> LearnedMixing() => [];

    /// <summary>The parameters that decide how representations mix (cross-stitch α, gates, layer attention), a subset of
    /// the shared and task parameters. Optimizers exempt them from weight decay: decay pulls them towards 0, which for
    /// α is not the identity it starts from and for a gate is not "no preference" in general, so it would bias the mixing
    /// rather than regularise the network.</summary>
    public virtual IEnumerable<TorchSharp.Modules.Parameter> MixingParameters() => [];

    /// <summary>Labels of a <see cref="LearnedMixing"/> unit: one per row (who reads) and one per column (what is read).
    /// Null (the default) means both are the tasks, in task order (cross-stitch's α). Gates name their experts here.</summary>
    public virtual (IReadOnlyList<string> Rows, IReadOnlyList<string> Columns)? MixingLabels(string unit) => null;

    /// <summary>The mean over real tokens of a [batch, tokens, hidden] state (under its attention mask), or the state
    /// itself when it is [batch, hidden]: a parameter-free summary of a row that gates and attention can read.</summary>
    protected static Tensor MeanOverTokens(HiddenState state)
    {
        if (state.Hidden.dim() == 2) return state.Hidden;
        if (state.AttentionMask is null) return state.Hidden.mean(new long[] { 1 });
        var mask = state.AttentionMask.unsqueeze(-1).to_type(state.Hidden.dtype);
        return (state.Hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0);
    }

    /// <summary>Σₑ wₑ·xₑ per row: <paramref name="states"/> is [E, batch, ...], <paramref name="weights"/> [batch, E]
    /// (each row a distribution over the E sources, e.g. a softmax gate).</summary>
    protected static Tensor MixRows(Tensor states, Tensor weights)
    {
        var w = weights.to_type(states.dtype).t();                         // [E, batch]
        var shape = new long[states.dim()];
        shape[0] = w.shape[0]; shape[1] = w.shape[1];
        for (int i = 2; i < shape.Length; i++) shape[i] = 1;
        return (states * w.reshape(shape)).sum(dim: 0);
    }

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
        // Registered here rather than in the constructor so that it comes after the subclass's own modules: parameter
        // order (and so optimizer state order) stays that of the architecture.
        if (!strategyRegistered) { register_module("strategy", strategyFolder); strategyRegistered = true; }
    }

    /// <summary>Task isolation: when on, <paramref name="task"/>'s gradient stops before the shared parameters
    /// (its branch reads a detached copy of what it shares), so the task trains only its own parameters and head.</summary>
    public void StopGradientIntoTrunk(string task, bool stop = true)
    {
        Head(task);
        if (stop) stopGradient.Add(task); else stopGradient.Remove(task);
    }

    /// <summary>Tasks whose gradient does not reach the shared parameters.</summary>
    public IReadOnlyCollection<string> TasksStoppedAtTrunk => stopGradient;

    /// <summary>Freezes (or unfreezes) every shared parameter for all tasks.</summary>
    public void FreezeShared(bool frozen = true)
    {
        foreach (var p in SharedParameters()) p.requires_grad = !frozen;
    }
}
