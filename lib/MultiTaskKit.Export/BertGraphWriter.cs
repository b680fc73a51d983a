using MultiTaskKit.Models.Bert;
using static TorchSharp.torch;
using B = MultiTaskKit.Export.OnnxGraphBuilder;

namespace MultiTaskKit.Export;

/// <summary>
/// Writes the kit's BERT modules (Hugging Face's module tree: <see cref="BertEmbeddings"/>, <see cref="BertLayer"/>,
/// the three pools) as ONNX operators, each computing what the TorchSharp module computes in evaluation mode:
/// <list type="bullet">
/// <item>embeddings: word + position (0..tokens−1) + token type (the input's, or row 0 when the graph has none), then
/// <c>LayerNormalization</c>;</item>
/// <item>self-attention: one <c>MatMul</c> per projection, heads by <c>Reshape</c>/<c>Transpose</c>, scores scaled by
/// 1/√d with padded keys pushed to −1e9 before the softmax (where the kit's fused attention masks with −∞; both give
/// zero weight to a padded key as long as a row has one real token, which [CLS] guarantees);</item>
/// <item>feed-forward with the configured activation (exact erf GELU, the tanh form, ReLU or SiLU), residual
/// <c>LayerNormalization</c>s;</item>
/// <item>pools: masked mean (floor 1e-9, sentence-transformers'), the [CLS] vector, or tanh(dense([CLS])).</item>
/// </list>
/// Dropout is absent: an exported model is an inference model.
/// </summary>
public sealed class BertGraphWriter : TrunkGraphWriter
{
    readonly BertConfig config;
    readonly BertPooling pooling;
    string? keyBias;

    public BertGraphWriter(OnnxGraphBuilder graph, IReadOnlyDictionary<string, Tensor> weights, BertConfig config, BertPooling pooling,
        string inputIds, string attentionMask, string? tokenTypeIds)
        : base(graph, weights, inputIds, attentionMask, tokenTypeIds)
    {
        this.config = config;
        this.pooling = pooling;
        BertActivationCheck(config.HiddenAct);
    }

    static void BertActivationCheck(string act)
    {
        if (act is not ("gelu" or "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" or "relu" or "silu" or "swish"))
            throw new ExportRefusedException($"ONNX export: hidden_act '{act}' has no ONNX form here; expected gelu, gelu_new, gelu_pytorch_tanh, relu or silu.");
    }

    /// <summary>0 for real keys, −1e9 for padded ones: [batch, 1, 1, tokens], added to every head's scores.</summary>
    string KeyBias => keyBias ??= Graph.Node("Mul", "key_bias",
        [Graph.Node("Unsqueeze", "key_pad", [Graph.Node("Sub", "pad_float", [Graph.FloatScalar(1f), MaskFloat]), Graph.Int64s(1, 2)]), Graph.FloatScalar(-1e9f)]);

    public override GraphState Stem(string prefix)
    {
        var words = Graph.Node("Gather", prefix + "words", [Graph.Weight(prefix + "word_embeddings.weight", Weight(prefix + "word_embeddings.weight")), InputIds]);
        var tokens = Graph.Node("Gather", "tokens", [Graph.Node("Shape", "ids_shape", [InputIds]), Graph.Int64Scalar(1)], B.Int("axis", 0));
        var positionIds = Graph.Node("Range", "position_ids", [Graph.Int64Scalar(0), tokens, Graph.Int64Scalar(1)]);
        var positions = Graph.Node("Gather", prefix + "positions", [Graph.Weight(prefix + "position_embeddings.weight", Weight(prefix + "position_embeddings.weight")), positionIds]);
        var x = Graph.Node("Add", prefix + "words_positions", [words, positions]);
        var typeTable = Weight(prefix + "token_type_embeddings.weight");
        string types = TokenTypeIds is { } tt
            ? Graph.Node("Gather", prefix + "types", [Graph.Weight(prefix + "token_type_embeddings.weight", typeTable), tt])
            : Graph.Weight(prefix + "token_type_embeddings.row0", typeTable[0]);
        x = Graph.Node("Add", prefix + "summed", [x, types]);
        return new GraphState(LayerNorm(x, prefix + "LayerNorm."), 3);
    }

    public override GraphState Layer(string prefix, GraphState state)
    {
        var x = state.Value;
        int heads = config.NumAttentionHeads, d = config.HeadSize;
        var headShape = Graph.Int64s(0, 0, heads, d);
        string Heads(string name, long[] perm) =>
            Graph.Node("Transpose", prefix + name + "_heads", [Graph.Node("Reshape", prefix + name + "_split", [Linear(x, prefix + "attention.self." + name + "."), headShape])], B.Ints("perm", perm));
        var q = Graph.Node("Mul", prefix + "query_scaled", [Heads("query", [0, 2, 1, 3]), Graph.FloatScalar((float)(1.0 / Math.Sqrt(d)))]);
        var k = Heads("key", [0, 2, 3, 1]);
        var v = Heads("value", [0, 2, 1, 3]);
        var scores = Graph.Node("Add", prefix + "scores", [Graph.Node("MatMul", prefix + "qk", [q, k]), KeyBias]);
        var probs = Graph.Node("Softmax", prefix + "probs", [scores], B.Int("axis", -1));
        var context = Graph.Node("Reshape", prefix + "context",
            [Graph.Node("Transpose", prefix + "context_t", [Graph.Node("MatMul", prefix + "pv", [probs, v])], B.Ints("perm", 0, 2, 1, 3)), Graph.Int64s(0, 0, heads * d)]);
        var attended = LayerNorm(Graph.Node("Add", prefix + "attention_residual", [Linear(context, prefix + "attention.output.dense."), x]), prefix + "attention.output.LayerNorm.");
        var inner = Activation(Linear(attended, prefix + "intermediate.dense."), prefix + "intermediate.act");
        var output = LayerNorm(Graph.Node("Add", prefix + "output_residual", [Linear(inner, prefix + "output.dense."), attended]), prefix + "output.LayerNorm.");
        return new GraphState(output, 3);
    }

    public override string Pool(string prefix, GraphState state) => pooling switch
    {
        BertPooling.Mean => MaskedMean(state.Value, 1e-9f, prefix + "mean"),
        BertPooling.Cls => Cls(prefix, state),
        _ => Graph.Node("Tanh", prefix + "pooled", [Linear(Cls(prefix, state), prefix + "dense.")]),
    };

    string Cls(string prefix, GraphState state) => Graph.Node("Gather", prefix + "cls", [state.Value, Graph.Int64Scalar(0)], B.Int("axis", 1));

    string LayerNorm(string x, string prefix) =>
        Graph.Node("LayerNormalization", prefix + "out",
            [x, Graph.Weight(prefix + "weight", Weight(prefix + "weight")), Graph.Weight(prefix + "bias", Weight(prefix + "bias"))],
            B.Int("axis", -1), B.Float("epsilon", (float)config.LayerNormEps));

    string Activation(string x, string hint)
    {
        switch (config.HiddenAct)
        {
            case "gelu":
                // x · ½ · (1 + erf(x / √2)), Hendrycks & Gimpel's exact GELU (torch's default)
                var erf = Graph.Node("Erf", hint + "_erf", [Graph.Node("Mul", hint + "_scaled", [x, Graph.FloatScalar((float)(1.0 / Math.Sqrt(2.0)))])]);
                return Graph.Node("Mul", hint, [Graph.Node("Mul", hint + "_half", [x, Graph.FloatScalar(0.5f)]), Graph.Node("Add", hint + "_1p", [erf, Graph.FloatScalar(1f)])]);
            case "relu":
                return Graph.Node("Relu", hint, [x]);
            case "silu" or "swish":
                return Graph.Node("Mul", hint, [x, Graph.Node("Sigmoid", hint + "_sigmoid", [x])]);
            default:
                // ½ · x · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
                var cube = Graph.Node("Mul", hint + "_x3", [Graph.Node("Mul", hint + "_x2", [x, x]), x]);
                var inner = Graph.Node("Add", hint + "_inner", [x, Graph.Node("Mul", hint + "_c3", [cube, Graph.FloatScalar(0.044715f)])]);
                var t = Graph.Node("Tanh", hint + "_tanh", [Graph.Node("Mul", hint + "_k", [inner, Graph.FloatScalar((float)Math.Sqrt(2.0 / Math.PI))])]);
                return Graph.Node("Mul", hint, [Graph.Node("Mul", hint + "_half", [x, Graph.FloatScalar(0.5f)]), Graph.Node("Add", hint + "_1p", [t, Graph.FloatScalar(1f)])]);
        }
    }
}
