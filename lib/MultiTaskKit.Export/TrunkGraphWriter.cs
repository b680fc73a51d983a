using Onnx;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MultiTaskKit.Export;

/// <summary>A hidden state in the graph: the value's name and its rank (3: [batch, tokens, hidden]; 2: [batch, hidden]).</summary>
public readonly record struct GraphState(string Value, int Rank);

/// <summary>
/// Writes a trunk's modules into an ONNX graph, each addressed by its checkpoint prefix (<c>shared.layers.0.</c>,
/// <c>tasks.imdb.pool.</c>, ...), so that an architecture's writer names what to emit exactly as its layout names it,
/// and the weights are read from the model's <c>state_dict()</c> under those keys. It mirrors
/// <see cref="Models.ISplittableTrunk"/>: a stem, layers, a pool; plus the masked mean that gates read.
/// <para>The graph inputs (<c>input_ids</c>, <c>attention_mask</c>, optional <c>token_type_ids</c>) and the values
/// derived from the mask (float mask, additive key bias) are made once and shared by every branch.</para>
/// </summary>
public abstract class TrunkGraphWriter
{
    readonly IReadOnlyDictionary<string, Tensor> weights;
    readonly Dictionary<string, (string Weight, string? Bias)> linears = new(StringComparer.Ordinal);
    string? maskFloat, maskColumn;

    protected TrunkGraphWriter(OnnxGraphBuilder graph, IReadOnlyDictionary<string, Tensor> weights, string inputIds, string attentionMask, string? tokenTypeIds)
    {
        Graph = graph;
        this.weights = weights;
        InputIds = inputIds;
        AttentionMask = attentionMask;
        TokenTypeIds = tokenTypeIds;
    }

    public OnnxGraphBuilder Graph { get; }
    public string InputIds { get; }
    public string AttentionMask { get; }
    public string? TokenTypeIds { get; }

    /// <summary>The embeddings (or input projection) under <paramref name="prefix"/>.</summary>
    public abstract GraphState Stem(string prefix);

    /// <summary>One layer under <paramref name="prefix"/>.</summary>
    public abstract GraphState Layer(string prefix, GraphState state);

    /// <summary>The pool under <paramref name="prefix"/>: [batch, features].</summary>
    public abstract string Pool(string prefix, GraphState state);

    /// <summary>The weights under <paramref name="key"/> (a parameter or buffer of the model).</summary>
    public Tensor Weight(string key) => weights.TryGetValue(key, out var t)
        ? t
        : throw new InvalidOperationException($"ONNX export: the model has no weight '{key}' (found {weights.Count} keys, e.g. {string.Join(", ", weights.Keys.Where(k => k.Split('.')[0] == key.Split('.')[0]).Take(5))}).");

    /// <summary>x·Wᵀ + b for the <c>Linear</c> under <paramref name="prefix"/> (<c>weight</c> [out, in], <c>bias</c> [out]);
    /// the weight is stored transposed so that one <c>MatMul</c> serves inputs of any rank. A module applied to several
    /// states (the shared pool at two depths) stores its weights once.</summary>
    public string Linear(string x, string prefix)
    {
        if (!linears.TryGetValue(prefix, out var stored))
        {
            var w = Weight(prefix + "weight");
            using var scope = NewDisposeScope();
            stored = (Graph.Weight(prefix + "weight_t", w.detach().t().contiguous()),
                weights.ContainsKey(prefix + "bias") ? Graph.Weight(prefix + "bias", Weight(prefix + "bias")) : null);
            linears[prefix] = stored;
        }
        var product = Graph.Node("MatMul", prefix + "matmul", [x, stored.Weight]);
        return stored.Bias is { } bias ? Graph.Node("Add", prefix + "out", [product, bias]) : product;
    }

    /// <summary>The attention mask as float32, [batch, tokens] (1 = real token).</summary>
    public string MaskFloat => maskFloat ??= Graph.Node("Cast", "mask_float", [AttentionMask], OnnxGraphBuilder.Int("to", (long)DataType.Float));

    /// <summary>The float mask as [batch, tokens, 1], for masked sums over tokens.</summary>
    string MaskColumn => maskColumn ??= Graph.Node("Unsqueeze", "mask_column", [MaskFloat, Graph.Int64s(2)]);

    /// <summary>Σ over real tokens of <paramref name="hidden"/> [batch, tokens, width] divided by max(count, <paramref name="floor"/>): [batch, width].</summary>
    public string MaskedMean(string hidden, float floor, string hint)
    {
        var sum = Graph.Node("ReduceSum", hint + "_sum", [Graph.Node("Mul", hint + "_masked", [hidden, MaskColumn]), Graph.Int64s(1)], OnnxGraphBuilder.Int("keepdims", 0));
        var count = Graph.Node("ReduceSum", hint + "_count", [MaskFloat, Graph.Int64s(1)], OnnxGraphBuilder.Int("keepdims", 1));
        return Graph.Node("Div", hint, [sum, Graph.Node("Max", hint + "_count_floor", [count, Graph.FloatScalar(floor)])]);
    }

    /// <summary>What gates and layer attention read: the mean over real tokens (floor 1, as
    /// <c>MultiTaskNetwork.MeanOverTokens</c>), or the state itself when it is [batch, width].</summary>
    public string MeanOverTokens(GraphState state) => state.Rank == 2 ? state.Value : MaskedMean(state.Value, 1f, "summary");
}
