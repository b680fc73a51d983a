using MultiTaskKit.IO;
using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MultiTaskKit.Models.Bert;

/// <summary>
/// Reads and writes BERT weights in Hugging Face's formats. Safetensors is read and written with TorchSharp.PyBridge;
/// pickle-based <c>pytorch_model.bin</c> is read only on explicit opt-in, because unpickling can run code.
/// Keys are matched by name: a missing key, an unexpected key or a shape mismatch is an error naming the key.
/// </summary>
public static class BertCheckpoint
{
    public const string ConfigFile = "config.json";
    public const string VocabFile = "vocab.txt";
    public const string SafetensorsFile = "model.safetensors";
    public const string PickleFile = "pytorch_model.bin";

    /// <summary>
    /// Reads the state dict of a Hugging Face folder: <c>model.safetensors</c>, else <c>pytorch_model.bin</c> when
    /// <paramref name="allowPickle"/> is set. The caller owns (and disposes) the returned tensors.
    /// </summary>
    public static Dictionary<string, Tensor> ReadStateDict(string folder, bool allowPickle = false)
    {
        var safetensors = Path.Combine(folder, SafetensorsFile);
        if (File.Exists(safetensors)) return ReadSafetensors(safetensors);
        var pickle = Path.Combine(folder, PickleFile);
        if (File.Exists(pickle))
        {
            if (!allowPickle)
                throw new InvalidOperationException(
                    $"'{pickle}' is a pickle-based PyTorch checkpoint and the folder has no {SafetensorsFile}. Unpickling can execute code " +
                    "embedded in the file, so the library reads it only when you opt in (PretrainedBertOptions.AllowPickle) for a file you trust; " +
                    "mtk never unpickles: convert it to safetensors first (transformers: model.save_pretrained(folder, safe_serialization=True)).");
            return ReadPickle(pickle);
        }
        throw new FileNotFoundException($"'{folder}': expected {SafetensorsFile} (or {PickleFile} with the pickle opt-in), found neither.", safetensors);
    }

    public static Dictionary<string, Tensor> ReadSafetensors(string path)
    {
        try { return Safetensors.LoadStateDict(path); }
        catch (Exception e) when (e is not FileNotFoundException)
        {
            throw new InvalidDataException($"'{path}': not a readable safetensors file ({e.GetType().Name}: {e.Message}).", e);
        }
    }

    static Dictionary<string, Tensor> ReadPickle(string path)
    {
        Hashtable table;
        try { table = PyTorchUnpickler.UnpickleStateDict(path); }
        catch (Exception e) { throw new InvalidDataException($"'{path}': not a readable PyTorch checkpoint ({e.GetType().Name}: {e.Message}).", e); }
        var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in table)
            if (e.Value is Tensor t) dict[(string)e.Key] = t;
        return dict;
    }

    /// <summary>
    /// Maps a checkpoint's keys to <see cref="BertModel"/>'s: strips the <c>bert.</c> prefix of task checkpoints
    /// (BertForMaskedLM and friends), renames the old TensorFlow-era <c>gamma</c>/<c>beta</c> to <c>weight</c>/<c>bias</c>,
    /// and drops what BertModel does not hold (pre-training heads <c>cls.*</c>, the <c>position_ids</c> buffer).
    /// </summary>
    public static Dictionary<string, Tensor> NormalizeKeys(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        bool prefixed = stateDict.Keys.Any(k => k.StartsWith("bert.", StringComparison.Ordinal));
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (raw, tensor) in stateDict)
        {
            var key = raw;
            if (prefixed)
            {
                if (!key.StartsWith("bert.", StringComparison.Ordinal))
                {
                    if (key.StartsWith("cls.", StringComparison.Ordinal) || key.StartsWith("classifier.", StringComparison.Ordinal) || key.StartsWith("qa_outputs.", StringComparison.Ordinal))
                        continue; // a task head, not part of the encoder
                    result[key] = tensor; // reported as unexpected by LoadInto
                    continue;
                }
                key = key["bert.".Length..];
            }
            if (key.EndsWith("position_ids", StringComparison.Ordinal)) continue;
            if (key.EndsWith(".gamma", StringComparison.Ordinal)) key = key[..^"gamma".Length] + "weight";
            else if (key.EndsWith(".beta", StringComparison.Ordinal)) key = key[..^"beta".Length] + "bias";
            result[key] = tensor;
        }
        return result;
    }

    /// <summary>True when the (normalised) state dict holds Hugging Face's pooler.</summary>
    public static bool HasPooler(IReadOnlyDictionary<string, Tensor> normalized) => normalized.ContainsKey("pooler.dense.weight");

    /// <summary>
    /// Copies a normalised state dict into <paramref name="model"/>'s parameters. Every parameter must be present with
    /// its exact shape, and every key must belong to a parameter; otherwise the error lists the keys (and both shapes).
    /// </summary>
    public static void LoadInto(nn.Module model, IReadOnlyDictionary<string, Tensor> normalized, string source)
    {
        var parameters = model.state_dict();
        var missing = parameters.Keys.Where(k => !normalized.ContainsKey(k)).ToList();
        var unexpected = normalized.Keys.Where(k => !parameters.ContainsKey(k)).ToList();
        var wrongShape = parameters.Where(p => normalized.TryGetValue(p.Key, out var t) && !t.shape.SequenceEqual(p.Value.shape))
            .Select(p => $"'{p.Key}': checkpoint [{string.Join(", ", normalized[p.Key].shape)}], model [{string.Join(", ", p.Value.shape)}]")
            .ToList();
        if (missing.Count + unexpected.Count + wrongShape.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing keys ({missing.Count}): {Preview(missing)}");
            if (unexpected.Count > 0) parts.Add($"unexpected keys ({unexpected.Count}): {Preview(unexpected)}");
            if (wrongShape.Count > 0) parts.Add($"wrong shapes ({wrongShape.Count}): {Preview(wrongShape)}");
            throw new InvalidDataException($"{source}: the checkpoint does not match the model built from its config: {string.Join("; ", parts)}.");
        }
        using var noGrad = no_grad();
        foreach (var (key, target) in parameters)
            target.copy_(normalized[key]);
    }

    /// <summary>
    /// Compares config.json's sizes with the weights' shapes before the model is allocated, so that a config that does
    /// not describe its weights fails at once, naming the key, instead of after building a model of the wrong size.
    /// </summary>
    static void CheckSizes(BertConfig config, IReadOnlyDictionary<string, Tensor> weights, string configPath)
    {
        void Expect(string key, long dim, long expected, string configKey)
        {
            if (weights.TryGetValue(key, out var t) && t.dim() > dim && t.shape[dim] != expected)
                throw new InvalidDataException($"{configPath}: '{configKey}' is {expected}, but the weights' '{key}' has shape [{string.Join(", ", t.shape)}].");
        }
        Expect("embeddings.word_embeddings.weight", 0, config.VocabSize, "vocab_size");
        Expect("embeddings.word_embeddings.weight", 1, config.HiddenSize, "hidden_size");
        Expect("embeddings.position_embeddings.weight", 0, config.MaxPositionEmbeddings, "max_position_embeddings");
        Expect("encoder.layer.0.intermediate.dense.weight", 0, config.IntermediateSize, "intermediate_size");
        int layers = 0;
        while (weights.Keys.Any(k => k.StartsWith($"encoder.layer.{layers}.", StringComparison.Ordinal))) layers++;
        if (layers > 0 && layers != config.NumHiddenLayers)
            throw new InvalidDataException($"{configPath}: 'num_hidden_layers' is {config.NumHiddenLayers}, but the weights hold {layers} layers.");
    }

    static string Preview(List<string> items) =>
        string.Join(", ", items.Take(8).Select(s => s.StartsWith('\'') ? s : $"'{s}'")) + (items.Count > 8 ? $", … ({items.Count - 8} more)" : "");

    /// <summary>
    /// Loads a Hugging Face folder (<c>config.json</c> plus weights) into a new <see cref="BertModel"/> on
    /// <paramref name="device"/> (default <see cref="Runtime.TorchRuntime.DefaultDevice"/>), in evaluation mode.
    /// A checkpoint without <c>pooler.*</c> (as sentence-transformers exports) gives a model without pooler.
    /// </summary>
    /// <param name="folder">A folder with config.json and model.safetensors (or pytorch_model.bin).</param>
    /// <param name="allowPickle">Read pytorch_model.bin when no safetensors file exists; unpickling can run code.</param>
    /// <param name="device">Where the model goes; default <see cref="Runtime.TorchRuntime.DefaultDevice"/>.</param>
    /// <param name="configure">Adjusts the config before the model is built (dropout, for example); shapes must still match.</param>
    public static BertModel LoadModel(string folder, bool allowPickle = false, Device? device = null, Func<BertConfig, BertConfig>? configure = null)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"BERT checkpoint: expected a model folder at '{folder}', found none.");
        var config = BertConfig.Load(Path.Combine(folder, ConfigFile));
        if (configure is not null) config = configure(config).Validate($"{folder}: the adjusted config");
        var raw = ReadStateDict(folder, allowPickle);
        try
        {
            var normalized = NormalizeKeys(raw);
            CheckSizes(config, normalized, Path.Combine(folder, ConfigFile));
            var model = new BertModel(config, addPoolingLayer: HasPooler(normalized));
            LoadInto(model, normalized, folder);
            model.eval();
            var target = device ?? Runtime.TorchRuntime.DefaultDevice;
            if (target.type != DeviceType.CPU) model.to(target);
            return model;
        }
        finally
        {
            foreach (var t in raw.Values) t.Dispose();
        }
    }

    /// <summary>
    /// Writes <paramref name="model"/> as a Hugging Face folder (<c>config.json</c>, <c>vocab.txt</c>, <c>model.safetensors</c>)
    /// that this loader and transformers' <c>BertModel.from_pretrained</c> read. The folder appears whole or not at
    /// all: everything is written into a temporary sibling that is renamed into place.
    /// </summary>
    /// <param name="model">The model whose weights and config are written.</param>
    /// <param name="folder">The folder to create or replace.</param>
    /// <param name="vocabPath">The WordPiece vocabulary to copy beside the weights.</param>
    /// <param name="doLowerCase">Written to tokenizer_config.json: whether the vocabulary is uncased.</param>
    public static void Save(BertModel model, string folder, string vocabPath, bool doLowerCase = true)
    {
        if (!File.Exists(vocabPath)) throw new FileNotFoundException($"Saving a BERT folder: the vocabulary '{vocabPath}' does not exist.", vocabPath);
        AtomicFolder.Write(folder, tmp =>
        {
            File.WriteAllText(Path.Combine(tmp, ConfigFile), model.Config.ToJson());
            File.Copy(vocabPath, Path.Combine(tmp, VocabFile));
            File.WriteAllText(Path.Combine(tmp, "tokenizer_config.json"), new System.Text.Json.Nodes.JsonObject
            {
                ["tokenizer_class"] = "BertTokenizer",
                ["do_lower_case"] = doLowerCase,
                ["model_max_length"] = model.Config.MaxPositionEmbeddings,
            }.ToJsonString());
            WriteSafetensors(model, Path.Combine(tmp, SafetensorsFile));
        });
    }

    /// <summary>Writes the model's state dict (on the CPU, contiguous) as safetensors.</summary>
    public static void WriteSafetensors(nn.Module model, string path)
    {
        using var scope = NewDisposeScope();
        var dict = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous());
        Safetensors.SaveStateDict(path, dict);
    }
}
