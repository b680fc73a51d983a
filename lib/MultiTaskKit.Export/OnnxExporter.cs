using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using Onnx;
using static TorchSharp.torch;
using B = MultiTaskKit.Export.OnnxGraphBuilder;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MultiTaskKit.Export;

/// <summary>A model, task or option that the exporter cannot express; the message is one line naming it.</summary>
public sealed class ExportRefusedException(string message) : InvalidOperationException(message);

/// <summary>What one graph output holds.</summary>
public enum OnnxOutputKind
{
    /// <summary>Class probabilities (softmax of the logits), [batch, classes].</summary>
    Probabilities,
    /// <summary>The regression value, [batch] (or [batch, outputs]).</summary>
    Value,
    /// <summary>Independent label probabilities (sigmoid of the logits), [batch, labels].</summary>
    LabelProbabilities,
    /// <summary>Per-token tag probabilities (softmax over the tags of each token's logits), [batch, sequence, tags].</summary>
    TokenProbabilities,
}

/// <summary>One task's output of an exported graph.</summary>
public sealed record OnnxTaskOutput(string Task, string Output, OnnxOutputKind Kind, int Width);

/// <summary>Options of <see cref="OnnxExporter.Export"/>.</summary>
/// <param name="Tasks">The tasks whose outputs the graph has (null: all, in the model's order).</param>
/// <param name="TokenTypeIds">Give the graph a <c>token_type_ids</c> input (sentence-pair tasks); without it every
/// token reads segment 0, as the kit does for single texts.</param>
public sealed record OnnxExportOptions(IReadOnlyList<string>? Tasks = null, bool TokenTypeIds = false);

/// <summary>What <see cref="OnnxExporter.Export"/> wrote: the model and its outputs.</summary>
public sealed record OnnxExport(ModelProto Model, IReadOnlyList<OnnxTaskOutput> Outputs, int Nodes, long Parameters);

/// <summary>
/// Writes a trained <see cref="MultiTaskNetwork"/> as one ONNX graph: inputs <c>input_ids</c> and
/// <c>attention_mask</c> (int64, [batch, sequence], both axes dynamic; plus <c>token_type_ids</c> on request), the
/// shared part of the architecture once, each task's own layers, gates, pool and head as its branch, and one output per
/// task named after it. Every architecture of the kit is written from its checkpoint layout (the keys its doc comment
/// lists), reading the weights from <c>state_dict()</c> as float32, so a bf16-trained model exports in fp32:
/// <c>hard</c>, <c>split@k</c>, <c>isolated</c> (<see cref="MultiTaskModel"/>), <see cref="MMoENetwork"/>,
/// <see cref="PLENetwork"/> (CGC and PLE), <see cref="CrossStitchNetwork"/> and <see cref="TaskAttentionNetwork"/>, on
/// the BERT trunk or the token MLP. Under hard, split@k and isolated a task's <c>depth</c> (the layer it reads) and token
/// classification heads (per-token tag probabilities, [batch, sequence, tags]) are written as the model runs them.
/// Refused, in one line naming what: a network of another type, a custom head, the feature-vector MLP (it reads no token
/// ids), a token task on the token MLP (it keeps no tokens).
/// </summary>
public static class OnnxExporter
{
    public const string InputIds = "input_ids";
    public const string AttentionMask = "attention_mask";
    public const string TokenTypeIds = "token_type_ids";

    public static OnnxExport Export(MultiTaskNetwork model, OnnxExportOptions? options = null, string docString = "", IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxExportOptions();
        var tasks = options.Tasks ?? model.Tasks;
        if (tasks.Count == 0) throw new ExportRefusedException("--tasks: expected at least one task, found none.");
        foreach (var t in tasks)
            if (!model.Tasks.Contains(t))
                throw new ExportRefusedException($"--tasks: unknown task '{t}'; the model's tasks are {string.Join(", ", model.Tasks)}.");
        foreach (var t in tasks)
        {
            if (t is InputIds or AttentionMask or TokenTypeIds)
                throw new ExportRefusedException($"ONNX export: task '{t}' has the name of a graph input; rename the task.");
            if (model.Head(t) is not (ClassificationHead or RegressionHead or MultiLabelHead or TokenClassificationHead))
                throw new ExportRefusedException($"ONNX export: task '{t}' has a {model.Head(t).GetType().Name}, whose module the exporter cannot translate; exportable heads are classification, regression, multi-label and token classification.");
            // the kit builds token heads only on hard/split/isolated over a trunk that keeps tokens; say so rather than guess
            if (model.Head(t).ReadsTokens && model is not MultiTaskModel)
                throw new ExportRefusedException($"ONNX export: task '{t}' reads every token, which the {model.Architecture} writer does not route; token tasks export under hard, split@k and isolated.");
        }

        var graph = new OnnxGraphBuilder();
        var ids = graph.Input(InputIds, DataType.Int64, "batch", "sequence");
        var mask = graph.Input(AttentionMask, DataType.Int64, "batch", "sequence");
        var types = options.TokenTypeIds ? graph.Input(TokenTypeIds, DataType.Int64, "batch", "sequence") : null;

        using var scope = NewDisposeScope();
        var weights = model.state_dict();
        var trunk = TrunkOf(model);
        TrunkGraphWriter writer = trunk switch
        {
            BertTrunk b => new BertGraphWriter(graph, weights, b.Config, b.Pooling, ids, mask, types),
            // the token mlp reads no token types (its stem averages the ids' embeddings): a pair model's token_type_ids
            // input is declared, as consumers feed it, and unused
            MlpTrunk m when m.Options.VocabSize > 0 => tasks.FirstOrDefault(t => model.Head(t).ReadsTokens) is { } tokenTask
                ? throw new ExportRefusedException($"ONNX export: task '{tokenTask}' reads every token, and the mlp trunk keeps none (its stem averages them); token tasks export on BERT.")
                : new MlpGraphWriter(graph, weights, ids, mask),
            MlpTrunk => throw new ExportRefusedException("ONNX export: the mlp trunk over feature vectors reads no token ids; only text trunks (BERT, the token mlp) export."),
            _ => throw new ExportRefusedException($"ONNX export: the trunk {trunk.GetType().Name} has no ONNX writer; exportable trunks are BERT and the token mlp."),
        };

        var pooled = model switch
        {
            MultiTaskModel m => SharingPlanBranches(m, writer, tasks),
            MMoENetwork m => MMoEBranches(m, writer, tasks),
            PLENetwork m => PLEBranches(m, writer, tasks),
            CrossStitchNetwork m => CrossStitchBranches(m, writer, tasks),
            TaskAttentionNetwork m => TaskAttentionBranches(m, writer, tasks),
            _ => throw new ExportRefusedException($"ONNX export: architecture '{model.Architecture}' ({model.GetType().Name}) has no ONNX writer; exportable: hard, split@k, isolated, mmoe, cgc, ple, cross_stitch, task_attention."),
        };

        var outputs = new List<OnnxTaskOutput>();
        foreach (var t in tasks)
        {
            var prefix = $"tasks.{t}.head.";
            switch (model.Head(t))
            {
                case ClassificationHead c:
                    graph.Output(graph.Node("Softmax", t + "_probabilities", [writer.Linear(pooled[t], prefix + "classifier.")], B.Int("axis", -1)), t, DataType.Float, "batch", c.Classes);
                    outputs.Add(new OnnxTaskOutput(t, t, OnnxOutputKind.Probabilities, c.Classes));
                    break;
                case RegressionHead r:
                    var y = writer.Linear(pooled[t], prefix + "regressor.");
                    if (r.Outputs == 1)
                        graph.Output(graph.Node("Squeeze", t + "_value", [y, graph.Int64s(-1)]), t, DataType.Float, "batch");
                    else graph.Output(y, t, DataType.Float, "batch", r.Outputs);
                    outputs.Add(new OnnxTaskOutput(t, t, OnnxOutputKind.Value, r.Outputs));
                    break;
                case MultiLabelHead l:
                    graph.Output(graph.Node("Sigmoid", t + "_probabilities", [writer.Linear(pooled[t], prefix + "classifier.")]), t, DataType.Float, "batch", l.Labels);
                    outputs.Add(new OnnxTaskOutput(t, t, OnnxOutputKind.LabelProbabilities, l.Labels));
                    break;
                case TokenClassificationHead k:
                    // pooled[t] is the unpooled state [batch, sequence, hidden]: every token's tag probabilities
                    graph.Output(graph.Node("Softmax", t + "_probabilities", [writer.Linear(pooled[t], prefix + "classifier.")], B.Int("axis", -1)), t, DataType.Float, "batch", "sequence", k.Tags);
                    outputs.Add(new OnnxTaskOutput(t, t, OnnxOutputKind.TokenProbabilities, k.Tags));
                    break;
            }
        }

        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { ["mtk.architecture"] = model.Architecture };
        var built = graph.Build(docString, meta);
        long parameters = built.Graph.Initializer.Where(i => i.DataType == (int)DataType.Float).Sum(i => i.Dims.Aggregate(1L, (a, d) => a * d));
        return new OnnxExport(built, outputs, graph.NodeCount, parameters);
    }

    static ISplittableTrunk TrunkOf(MultiTaskNetwork model) => model switch
    {
        MultiTaskModel m => m.Trunk,
        MMoENetwork m => m.Trunk,
        PLENetwork m => m.Trunk,
        CrossStitchNetwork m => m.Trunk,
        TaskAttentionNetwork m => m.Trunk,
        _ => throw new ExportRefusedException($"ONNX export: architecture '{model.Architecture}' ({model.GetType().Name}) has no ONNX writer; exportable: hard, split@k, isolated, mmoe, cgc, ple, cross_stitch, task_attention."),
    };

    /// <summary>Hard, split@k and isolated, as <see cref="MultiTaskModel"/> runs them: the stem and the shared layers once
    /// (none when isolated), then per task its own layers and pool (hard: the shared pool). A task with a depth d reads the
    /// state after layer d: under hard sharing (and split@k with d ≤ k) it branches from the shared state after layer d,
    /// through the shared pool (hard) or its own (split); a deeper one continues through its own copies up to layer d.
    /// A token task (its head reads every token) gets the unpooled state [batch, sequence, hidden].</summary>
    static Dictionary<string, string> SharingPlanBranches(MultiTaskModel model, TrunkGraphWriter w, IReadOnlyList<string> tasks)
    {
        var result = new Dictionary<string, string>();
        string Finish(string t, GraphState s, string poolPrefix) => model.Head(t).ReadsTokens ? s.Value : w.Pool(poolPrefix, s);
        if (model.Plan.Kind == SharingKind.Isolated)
        {
            foreach (var t in tasks)
            {
                var s = w.Stem($"tasks.{t}.stem.");
                for (int i = 0; i < model.Depths[t]; i++) s = w.Layer($"tasks.{t}.layers.{i}.", s);
                result[t] = Finish(t, s, $"tasks.{t}.pool.");
            }
            return result;
        }
        int layers = model.Trunk.Layers.Count;
        int shared = model.Plan.Kind == SharingKind.Hard ? layers : model.Plan.SharedLayers;
        // the shared states each selected task branches from (after layer min(depth, shared)), computed once up to the deepest
        int top = tasks.Max(t => Math.Min(model.Depths[t], shared));
        var states = new List<GraphState> { w.Stem("shared.stem.") };
        for (int i = 0; i < top; i++) states.Add(w.Layer($"shared.layers.{i}.", states[^1]));
        if (model.Plan.Kind == SharingKind.Hard)
        {
            // one shared pool per depth read, so that tasks at one depth share its pooled vector as the kit's plain path does
            var pooledAt = new Dictionary<int, string>();
            foreach (var t in tasks)
            {
                int d = model.Depths[t];
                result[t] = model.Head(t).ReadsTokens
                    ? states[d].Value
                    : pooledAt.TryGetValue(d, out var p) ? p : pooledAt[d] = w.Pool("shared.pool.", states[d]);
            }
            return result;
        }
        foreach (var t in tasks)
        {
            int d = model.Depths[t];
            var s = states[Math.Min(d, shared)];
            for (int i = shared; i < d; i++) s = w.Layer($"tasks.{t}.layers.{i}.", s);
            result[t] = Finish(t, s, $"tasks.{t}.pool.");
        }
        return result;
    }

    /// <summary>[E, batch, ...] from E states of one shape.</summary>
    static string Stack(TrunkGraphWriter w, IReadOnlyList<string> states, string hint) =>
        w.Graph.Node("Concat", hint, states.Select((s, i) => w.Graph.Node("Unsqueeze", $"{hint}_{i}", [s, w.Graph.Int64s(0)])), B.Int("axis", 0));

    /// <summary>Σₑ wₑ·xₑ per row: <paramref name="stacked"/> [E, batch, ...] of rank <paramref name="rank"/> + 1, weights [batch, E].</summary>
    static string MixRows(TrunkGraphWriter w, string stacked, string weights, int rank, string hint)
    {
        var g = w.Graph;
        var perExpert = g.Node("Transpose", hint + "_weights_t", [weights], B.Ints("perm", 1, 0));                     // [E, batch]
        var shaped = g.Node("Unsqueeze", hint + "_weights", [perExpert, rank == 3 ? g.Int64s(2, 3) : g.Int64s(2)]);
        return g.Node("ReduceSum", hint, [g.Node("Mul", hint + "_weighted", [stacked, shaped]), g.Int64s(0)], B.Int("keepdims", 0));
    }

    static string Gate(TrunkGraphWriter w, string summary, string prefix) =>
        w.Graph.Node("Softmax", prefix + "weights", [w.Linear(summary, prefix + "linear.")], B.Int("axis", -1));

    /// <summary>MMoE: the bottom once, every expert once, then per task its gate's mixture, pool and head.</summary>
    static Dictionary<string, string> MMoEBranches(MMoENetwork model, TrunkGraphWriter w, IReadOnlyList<string> tasks)
    {
        int layers = model.Trunk.Layers.Count;
        var state = w.Stem("shared.stem.");
        for (int i = 0; i < model.BottomLayers; i++) state = w.Layer($"shared.layers.{i}.", state);
        var experts = new List<string>();
        for (int e = 0; e < model.Options.Experts; e++)
        {
            var s = state;
            for (int i = model.BottomLayers; i < layers; i++) s = w.Layer($"shared.experts.{e}.layers.{i}.", s);
            experts.Add(s.Value);
        }
        var stacked = Stack(w, experts, "experts");
        var summary = w.MeanOverTokens(state);
        return tasks.ToDictionary(t => t, t =>
            w.Pool($"tasks.{t}.pool.", state with { Value = MixRows(w, stacked, Gate(w, summary, $"tasks.{t}.gate."), state.Rank, $"tasks.{t}.mixed") }));
    }

    /// <summary>The trunk's layers [from, to) cut into <paramref name="parts"/> runs as <c>PLENetwork</c> cuts them (the lower runs take the remainder).</summary>
    static (int First, int Count)[] Partition(int from, int to, int parts)
    {
        int n = to - from, start = from;
        var runs = new (int, int)[parts];
        for (int p = 0; p < parts; p++)
        {
            int count = n / parts + (p < n % parts ? 1 : 0);
            runs[p] = (start, count);
            start += count;
        }
        return runs;
    }

    /// <summary>CGC/PLE: per level, shared experts on the shared state and each task's experts on its state, each task's gate
    /// over its own and the shared experts, and (below the last level) the shared gate over every expert.</summary>
    static Dictionary<string, string> PLEBranches(PLENetwork model, TrunkGraphWriter w, IReadOnlyList<string> tasks)
    {
        int layers = model.Trunk.Layers.Count, ms = model.Options.SharedExperts, mt = model.Options.TaskExperts;
        var runs = Partition(model.BottomLayers, layers, model.Levels);
        var start = w.Stem("shared.stem.");
        for (int i = 0; i < model.BottomLayers; i++) start = w.Layer($"shared.layers.{i}.", start);
        var taskStates = model.Tasks.ToDictionary(t => t, _ => start);
        var sharedState = start;
        GraphState Run(string prefix, GraphState s, (int First, int Count) run)
        {
            for (int i = run.First; i < run.First + run.Count; i++) s = w.Layer($"{prefix}layers.{i}.", s);
            return s;
        }
        for (int j = 0; j < model.Levels; j++)
        {
            bool last = j == model.Levels - 1;
            var sharedOut = Enumerable.Range(0, ms).Select(e => Run($"shared.levels.{j}.experts.{e}.", sharedState, runs[j]).Value).ToList();
            var reading = last ? tasks : model.Tasks;
            var taskOut = reading.ToDictionary(t => t, t => Enumerable.Range(0, mt).Select(e => Run($"tasks.{t}.levels.{j}.experts.{e}.", taskStates[t], runs[j]).Value).ToList());
            var next = new Dictionary<string, GraphState>();
            foreach (var (t, own) in taskOut)
            {
                var weights = Gate(w, w.MeanOverTokens(taskStates[t]), $"tasks.{t}.levels.{j}.gate.");
                next[t] = taskStates[t] with { Value = MixRows(w, Stack(w, [.. own, .. sharedOut], $"tasks.{t}.levels.{j}.stack"), weights, start.Rank, $"tasks.{t}.levels.{j}.mixed") };
            }
            if (!last)
            {
                var weights = Gate(w, w.MeanOverTokens(sharedState), $"shared.levels.{j}.gate.");
                var all = model.Tasks.SelectMany(t => taskOut[t]).Concat(sharedOut).ToList();
                sharedState = sharedState with { Value = MixRows(w, Stack(w, all, $"shared.levels.{j}.stack"), weights, start.Rank, $"shared.levels.{j}.mixed") };
            }
            foreach (var (t, s) in next) taskStates[t] = s;
        }
        return tasks.ToDictionary(t => t, t => w.Pool($"tasks.{t}.pool.", taskStates[t]));
    }

    /// <summary>Cross-stitch: every column's stem and layers, each followed by x̃ᵢ = Σⱼ αᵢⱼ xⱼ (one [T, T] α per unit).</summary>
    static Dictionary<string, string> CrossStitchBranches(CrossStitchNetwork model, TrunkGraphWriter w, IReadOnlyList<string> tasks)
    {
        var all = model.Tasks;
        var g = w.Graph;
        GraphState[] Mix(GraphState[] states, string key)
        {
            var stacked = Stack(w, states.Select(s => s.Value).ToList(), key + "_stack");                           // [T, batch, ...]
            var flat = g.Node("Reshape", key + "_flat", [stacked, g.Int64s(all.Count, -1)]);
            var mixed = g.Node("Reshape", key + "_mixed", [g.Node("MatMul", key + "_product", [g.Weight(key, w.Weight(key)), flat]), g.Node("Shape", key + "_shape", [stacked])]);
            return states.Select((s, k) => s with { Value = g.Node("Gather", $"{key}_{k}", [mixed, g.Int64Scalar(k)], B.Int("axis", 0)) }).ToArray();
        }
        var columns = Mix(all.Select(t => w.Stem($"tasks.{t}.stem.")).ToArray(), "shared.stitch.stem.alpha");
        for (int i = 0; i < model.Trunk.Layers.Count; i++)
            columns = Mix(all.Select((t, k) => w.Layer($"tasks.{t}.layers.{i}.", columns[k])).ToArray(), $"shared.stitch.layers.{i}.alpha");
        return tasks.ToDictionary(t => t, t => w.Pool($"tasks.{t}.pool.", columns[all.ToList().IndexOf(t)]));
    }

    /// <summary>Task attention: the whole trunk once; per task a softmax over depth of qₜ·hₗ/√d + bₜ,ₗ, token by token.</summary>
    static Dictionary<string, string> TaskAttentionBranches(TaskAttentionNetwork model, TrunkGraphWriter w, IReadOnlyList<string> tasks)
    {
        var g = w.Graph;
        var state = w.Stem("shared.stem.");
        var states = new List<string> { state.Value };
        for (int i = 0; i < model.Trunk.Layers.Count; i++) { state = w.Layer($"shared.layers.{i}.", state); states.Add(state.Value); }
        var stacked = Stack(w, states, "layer_states");                                                              // [L + 1, batch, ...]
        var result = new Dictionary<string, string>();
        foreach (var t in tasks)
        {
            var p = $"tasks.{t}.attention.";
            var query = w.Weight(p + "query");
            var scores = g.Node("Mul", p + "scores", [g.Node("MatMul", p + "qh", [stacked, g.Weight(p + "query", query)]), g.FloatScalar((float)(1.0 / Math.Sqrt(query.shape[0])))]);
            var bias = g.Node("Reshape", p + "bias", [g.Weight(p + "layer_bias", w.Weight(p + "layer_bias")), state.Rank == 3 ? g.Int64s(-1, 1, 1) : g.Int64s(-1, 1)]);
            var weights = g.Node("Softmax", p + "weights", [g.Node("Add", p + "biased", [scores, bias])], B.Int("axis", 0));
            var mixed = g.Node("ReduceSum", p + "mixed", [g.Node("Mul", p + "weighted", [stacked, g.Node("Unsqueeze", p + "weights_col", [weights, g.Int64s(-1)])]), g.Int64s(0)], B.Int("keepdims", 0));
            result[t] = w.Pool($"tasks.{t}.pool.", state with { Value = mixed });
        }
        return result;
    }
}
