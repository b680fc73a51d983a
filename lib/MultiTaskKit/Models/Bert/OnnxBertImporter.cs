using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace MultiTaskKit.Models.Bert;

/// <summary>
/// Recovers a Hugging Face BERT state dict from an ONNX export of <c>BertModel</c> (as torch.onnx writes it).
/// Embeddings, biases and LayerNorms are initializers named by their checkpoint keys. The exporter stores each
/// <c>Linear</c> weight transposed ([in, out]) under a numeric name as the second input of a <c>MatMul</c>, whose
/// output feeds an <c>Add</c> with the named bias; following that edge names the weight. The pooler is a <c>Gemm</c>
/// on named initializers, whose <c>transB</c> says whether its weight is already in [out, in] layout.
/// </summary>
internal static partial class OnnxBertImporter
{
    [GeneratedRegex(@"^(embeddings|encoder|pooler)\.")]
    private static partial Regex HfKey();

    [GeneratedRegex(@"^encoder\.layer\.(\d+)\.")]
    private static partial Regex LayerKey();

    /// <summary>The state dict (new CPU tensors the caller owns), keys as in a Hugging Face BertModel checkpoint.</summary>
    public static Dictionary<string, Tensor> ExtractStateDict(OnnxGraph graph, string source)
    {
        var arrays = new Dictionary<string, (long[] Dims, float[] Data)>(StringComparer.Ordinal);
        foreach (var (name, t) in graph.Initializers)
            if (HfKey().IsMatch(name)) arrays[name] = (t.Dims, t.Data);

        var consumers = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
            foreach (var input in node.Inputs)
                (consumers.TryGetValue(input, out var list) ? list : consumers[input] = new()).Add(node);

        foreach (var matmul in graph.Nodes.Where(n => n.OpType == "MatMul" && n.Inputs.Count == 2))
        {
            if (!graph.Initializers.TryGetValue(matmul.Inputs[1], out var weight) || HfKey().IsMatch(weight.Name)) continue;
            var bias = consumers.GetValueOrDefault(matmul.Outputs[0])?
                .Where(n => n.OpType == "Add")
                .SelectMany(n => n.Inputs)
                .FirstOrDefault(i => i.EndsWith(".bias", StringComparison.Ordinal) && graph.Initializers.ContainsKey(i));
            if (bias is null)
                throw new InvalidDataException($"{source}: MatMul '{matmul.Name}' multiplies by initializer '{weight.Name}', but no Add with a named bias follows it; cannot name the weight.");
            if (weight.Dims.Length != 2)
                throw new InvalidDataException($"{source}: initializer '{weight.Name}' (weight for '{bias}') has shape [{string.Join(", ", weight.Dims)}], expected a matrix.");
            var key = bias[..^"bias".Length] + "weight";
            if (arrays.ContainsKey(key))
                throw new InvalidDataException($"{source}: two initializers map to '{key}'.");
            arrays[key] = (new[] { weight.Dims[1], weight.Dims[0] }, Transpose(weight.Data, (int)weight.Dims[0], (int)weight.Dims[1]));
        }

        foreach (var gemm in graph.Nodes.Where(n => n.OpType == "Gemm" && n.Inputs.Count >= 2))
        {
            // Gemm computes A·op(B) + C; op(B) = Bᵀ when transB is 1, which is Linear's [out, in] layout.
            if (!graph.Initializers.TryGetValue(gemm.Inputs[1], out var weight) || weight.Dims.Length != 2) continue;
            bool transB = gemm.IntAttributes.GetValueOrDefault("transB") == 1;
            if (HfKey().IsMatch(weight.Name) && !transB)
                arrays[weight.Name] = (new[] { weight.Dims[1], weight.Dims[0] }, Transpose(weight.Data, (int)weight.Dims[0], (int)weight.Dims[1]));
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, (dims, data)) in arrays)
            result[key] = tensor(data, dims);
        return result;
    }

    /// <summary>A config that matches the state dict's shapes; <paramref name="heads"/> is not visible in the weights.</summary>
    public static BertConfig InferConfig(IReadOnlyDictionary<string, Tensor> stateDict, int heads, string source)
    {
        Tensor Need(string key) => stateDict.TryGetValue(key, out var t) ? t
            : throw new InvalidDataException($"{source}: the graph has no initializer '{key}'.");
        var word = Need("embeddings.word_embeddings.weight");
        var layers = stateDict.Keys.Select(k => LayerKey().Match(k)).Where(m => m.Success)
            .Select(m => int.Parse(m.Groups[1].Value)).DefaultIfEmpty(-1).Max() + 1;
        return new BertConfig
        {
            VocabSize = (int)word.shape[0],
            HiddenSize = (int)word.shape[1],
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            IntermediateSize = (int)Need("encoder.layer.0.intermediate.dense.bias").shape[0],
            MaxPositionEmbeddings = (int)Need("embeddings.position_embeddings.weight").shape[0],
            TypeVocabSize = (int)Need("embeddings.token_type_embeddings.weight").shape[0],
        }.Validate(source);
    }

    static float[] Transpose(float[] data, int rows, int cols)
    {
        var result = new float[data.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                result[c * rows + r] = data[r * cols + c];
        return result;
    }
}
