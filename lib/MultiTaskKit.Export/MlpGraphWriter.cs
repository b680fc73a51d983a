using static TorchSharp.torch;

namespace MultiTaskKit.Export;

/// <summary>
/// Writes the kit's <see cref="Models.MlpTrunk"/> over token ids: the stem is the mean of the tokens' embeddings over the
/// attention mask (floor 1, as the stem's), each layer <c>ReLU(x·Wᵀ + b)</c>, and the pool the identity (the state is
/// already [batch, hidden]). The feature-vector MLP reads no token ids and is not exported.
/// </summary>
public sealed class MlpGraphWriter : TrunkGraphWriter
{
    public MlpGraphWriter(OnnxGraphBuilder graph, IReadOnlyDictionary<string, Tensor> weights, string inputIds, string attentionMask)
        : base(graph, weights, inputIds, attentionMask, null) { }

    public override GraphState Stem(string prefix)
    {
        var vectors = Graph.Node("Gather", prefix + "vectors", [Graph.Weight(prefix + "embeddings.weight", Weight(prefix + "embeddings.weight")), InputIds]);
        return new GraphState(MaskedMean(vectors, 1f, prefix + "bag"), 2);
    }

    public override GraphState Layer(string prefix, GraphState state) =>
        new(Graph.Node("Relu", prefix + "relu", [Linear(state.Value, prefix + "dense.")]), 2);

    public override string Pool(string prefix, GraphState state) => state.Rank == 2
        ? state.Value
        : MaskedMean(state.Value, 1f, prefix + "mean");
}
