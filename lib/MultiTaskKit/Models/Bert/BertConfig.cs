using System.Text.Json;
using System.Text.Json.Nodes;

namespace MultiTaskKit.Models.Bert;

/// <summary>
/// The hyperparameters of a BERT encoder, one flat object with bert-base-uncased defaults, read from and written to
/// Hugging Face's <c>config.json</c> (same key names, snake_case). Unknown keys in a config.json are ignored, as
/// Hugging Face ignores keys a model class does not use.
/// </summary>
public sealed record BertConfig
{
    /// <summary>Rows of the word-embedding table (<c>vocab_size</c>).</summary>
    public int VocabSize { get; init; } = 30522;
    /// <summary>Width of every token vector (<c>hidden_size</c>).</summary>
    public int HiddenSize { get; init; } = 768;
    /// <summary>Transformer layers (<c>num_hidden_layers</c>).</summary>
    public int NumHiddenLayers { get; init; } = 12;
    /// <summary>Attention heads per layer (<c>num_attention_heads</c>); must divide <see cref="HiddenSize"/>.</summary>
    public int NumAttentionHeads { get; init; } = 12;
    /// <summary>Width of the feed-forward block (<c>intermediate_size</c>).</summary>
    public int IntermediateSize { get; init; } = 3072;
    /// <summary>Feed-forward activation (<c>hidden_act</c>): <c>gelu</c> (exact, erf), <c>gelu_new</c>/<c>gelu_pytorch_tanh</c> (tanh approximation), <c>relu</c>.</summary>
    public string HiddenAct { get; init; } = "gelu";
    /// <summary>Dropout after embeddings and after each sub-layer (<c>hidden_dropout_prob</c>).</summary>
    public double HiddenDropoutProb { get; init; } = 0.1;
    /// <summary>Dropout on attention probabilities (<c>attention_probs_dropout_prob</c>).</summary>
    public double AttentionProbsDropoutProb { get; init; } = 0.1;
    /// <summary>Rows of the position table, the longest sequence the model reads (<c>max_position_embeddings</c>).</summary>
    public int MaxPositionEmbeddings { get; init; } = 512;
    /// <summary>Segment types (<c>type_vocab_size</c>).</summary>
    public int TypeVocabSize { get; init; } = 2;
    /// <summary>LayerNorm epsilon (<c>layer_norm_eps</c>).</summary>
    public double LayerNormEps { get; init; } = 1e-12;
    /// <summary>Id of [PAD] (<c>pad_token_id</c>).</summary>
    public int PadTokenId { get; init; } = 0;

    /// <summary>The kit's CPU kernels this model's dropout and attention use. Not a Hugging Face key and never written to
    /// config.json: like Hugging Face's attention implementation, a choice of how to compute, made by whoever builds the
    /// model (a run records it with its <see cref="Runtime.KitOptions"/>).</summary>
    public Runtime.KernelOptions Kernels { get; init; } = Runtime.KernelOptions.Default;

    /// <summary>Size of one attention head.</summary>
    public int HeadSize => HiddenSize / NumAttentionHeads;

    /// <summary>The tiny configuration Hugging Face's own tests use: hidden 32, 2 layers, 4 heads, vocab 99.</summary>
    public static BertConfig Tiny => new()
    {
        VocabSize = 99, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 37,
        MaxPositionEmbeddings = 64, TypeVocabSize = 2,
    };

    /// <summary>all-MiniLM-L6-v2 (sentence-transformers): 6 layers, hidden 384, 12 heads.</summary>
    public static BertConfig MiniLmL6 => new()
    {
        VocabSize = 30522, HiddenSize = 384, NumHiddenLayers = 6, NumAttentionHeads = 12, IntermediateSize = 1536,
        MaxPositionEmbeddings = 512, TypeVocabSize = 2,
    };

    /// <summary>Throws with the offending key when the values cannot make a model.</summary>
    public BertConfig Validate(string source = "BertConfig")
    {
        void Positive(int v, string key) { if (v < 1) throw new ArgumentException($"{source}: '{key}' must be a positive integer, found {v}."); }
        Positive(VocabSize, "vocab_size"); Positive(HiddenSize, "hidden_size"); Positive(NumHiddenLayers, "num_hidden_layers");
        Positive(NumAttentionHeads, "num_attention_heads"); Positive(IntermediateSize, "intermediate_size");
        Positive(MaxPositionEmbeddings, "max_position_embeddings"); Positive(TypeVocabSize, "type_vocab_size");
        void AtMost(int v, int max, string key) { if (v > max) throw new ArgumentException($"{source}: '{key}' must be at most {max}, found {v}."); }
        AtMost(VocabSize, 1_000_000, "vocab_size"); AtMost(HiddenSize, 16_384, "hidden_size"); AtMost(NumHiddenLayers, 256, "num_hidden_layers");
        AtMost(NumAttentionHeads, 256, "num_attention_heads"); AtMost(IntermediateSize, 65_536, "intermediate_size");
        AtMost(MaxPositionEmbeddings, 131_072, "max_position_embeddings"); AtMost(TypeVocabSize, 1_024, "type_vocab_size");
        // Bounded before anything is allocated: a config claiming a huge model is refused, not tried.
        double parameters = (double)HiddenSize * (VocabSize + MaxPositionEmbeddings + TypeVocabSize)
                            + (double)NumHiddenLayers * (4.0 * HiddenSize * HiddenSize + 2.0 * HiddenSize * IntermediateSize);
        if (parameters > 4e9)
            throw new ArgumentException($"{source}: the sizes (hidden_size {HiddenSize}, num_hidden_layers {NumHiddenLayers}, intermediate_size {IntermediateSize}, vocab_size {VocabSize}) describe {parameters / 1e9:F1} billion parameters; the kit builds BERT models of at most 4 billion.");
        if (HiddenSize % NumAttentionHeads != 0)
            throw new ArgumentException($"{source}: hidden_size ({HiddenSize}) must be a multiple of num_attention_heads ({NumAttentionHeads}).");
        if (HiddenDropoutProb is < 0 or >= 1 || AttentionProbsDropoutProb is < 0 or >= 1)
            throw new ArgumentException($"{source}: dropout probabilities must lie in [0, 1), found hidden {HiddenDropoutProb}, attention {AttentionProbsDropoutProb}.");
        if (PadTokenId < 0 || PadTokenId >= VocabSize)
            throw new ArgumentException($"{source}: pad_token_id {PadTokenId} is outside the vocabulary [0, {VocabSize}).");
        _ = BertActivation.Get(HiddenAct, source);
        return this;
    }

    /// <summary>Reads a Hugging Face <c>config.json</c>; errors name the file and the key.</summary>
    public static BertConfig Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"BERT config: expected a config.json at '{path}', found no file.", path);
        return FromJson(File.ReadAllText(path), path);
    }

    public static BertConfig FromJson(string json, string source = "config.json")
    {
        JsonObject obj;
        try { obj = JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"{source}: expected a JSON object."); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not valid JSON ({e.Message}).", e); }
        if (obj["model_type"] is JsonValue mt && mt.GetValue<string>() is { } type && type != "bert")
            throw new InvalidDataException($"{source}: model_type is '{type}', but this loader builds BERT models (model_type 'bert').");
        var d = new BertConfig();
        int I(string key, int def) => obj[key] is JsonValue v
            ? (v.TryGetValue<int>(out var i) ? i : throw new InvalidDataException($"{source}: '{key}' must be an integer, found {v.ToJsonString()}."))
            : def;
        double D(string key, double def) => obj[key] is JsonValue v
            ? (v.TryGetValue<double>(out var x) ? x : throw new InvalidDataException($"{source}: '{key}' must be a number, found {v.ToJsonString()}."))
            : def;
        string S(string key, string def) => obj[key] is JsonValue v
            ? (v.TryGetValue<string>(out var s) ? s : throw new InvalidDataException($"{source}: '{key}' must be a string, found {v.ToJsonString()}."))
            : def;
        return new BertConfig
        {
            VocabSize = I("vocab_size", d.VocabSize),
            HiddenSize = I("hidden_size", d.HiddenSize),
            NumHiddenLayers = I("num_hidden_layers", d.NumHiddenLayers),
            NumAttentionHeads = I("num_attention_heads", d.NumAttentionHeads),
            IntermediateSize = I("intermediate_size", d.IntermediateSize),
            HiddenAct = S("hidden_act", d.HiddenAct),
            HiddenDropoutProb = D("hidden_dropout_prob", d.HiddenDropoutProb),
            AttentionProbsDropoutProb = D("attention_probs_dropout_prob", d.AttentionProbsDropoutProb),
            MaxPositionEmbeddings = I("max_position_embeddings", d.MaxPositionEmbeddings),
            TypeVocabSize = I("type_vocab_size", d.TypeVocabSize),
            LayerNormEps = D("layer_norm_eps", d.LayerNormEps),
            PadTokenId = I("pad_token_id", d.PadTokenId),
        }.Validate(source);
    }

    /// <summary>A Hugging Face config.json that transformers' AutoModel also reads.</summary>
    public string ToJson()
    {
        var obj = new JsonObject
        {
            ["architectures"] = new JsonArray("BertModel"),
            ["model_type"] = "bert",
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["intermediate_size"] = IntermediateSize,
            ["hidden_act"] = HiddenAct,
            ["hidden_dropout_prob"] = HiddenDropoutProb,
            ["attention_probs_dropout_prob"] = AttentionProbsDropoutProb,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["type_vocab_size"] = TypeVocabSize,
            ["layer_norm_eps"] = LayerNormEps,
            ["pad_token_id"] = PadTokenId,
            ["position_embedding_type"] = "absolute",
        };
        return obj.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
