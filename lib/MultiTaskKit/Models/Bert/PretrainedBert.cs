using MultiTaskKit.Text;
using static TorchSharp.torch;

namespace MultiTaskKit.Models.Bert;

/// <summary>Options for <see cref="PretrainedBert.Load"/>.</summary>
public sealed record PretrainedBertOptions
{
    /// <summary>Read a pickle-based <c>pytorch_model.bin</c> when no safetensors file exists. Off: unpickling can run code.</summary>
    public bool AllowPickle { get; init; }
    /// <summary>Hub revision (branch, tag or commit) for model ids. Default <c>main</c>.</summary>
    public string Revision { get; init; } = "main";
    /// <summary>Device for the model; default <see cref="Runtime.TorchRuntime.DefaultDevice"/>.</summary>
    public Device? Device { get; init; }
    /// <summary>
    /// Adjusts the checkpoint's config before the model is built, for settings that do not change the weights' shapes,
    /// e.g. <c>c =&gt; c with { AttentionProbsDropoutProb = 0 }</c>. Attention-probability dropout forces
    /// scaled_dot_product_attention off its fused CPU kernel onto the path that materialises the [tokens × tokens]
    /// matrices, which costs several times as much in training (<c>bench/README.md</c>); turning it off is faster but changes training
    /// results, so it is never the default.
    /// </summary>
    public Func<BertConfig, BertConfig>? Configure { get; init; }
    /// <summary>Hub client settings (endpoint, cache, offline); default from the environment.</summary>
    public Hub.HubClient? Hub { get; init; }
}

/// <summary>
/// A pretrained BERT ready to use: the model (in evaluation mode), its config, its tokenizer and the folder it came from.
/// </summary>
public sealed class PretrainedBert : IDisposable
{
    /// <summary>Names that mean the embedded all-MiniLM-L6-v2 (no download).</summary>
    public static readonly IReadOnlyList<string> EmbeddedNames = ["minilm", "all-MiniLM-L6-v2", "embedded"];

    PretrainedBert(BertModel model, BertTokenizer tokenizer, string folder)
    {
        Model = model; Tokenizer = tokenizer; Folder = folder;
    }

    public BertModel Model { get; }
    public BertConfig Config => Model.Config;
    public BertTokenizer Tokenizer { get; }
    /// <summary>The Hugging Face folder the weights were read from.</summary>
    public string Folder { get; }

    /// <summary>A trunk over <see cref="Model"/> (shares its modules).</summary>
    public BertTrunk ToTrunk(BertPooling pooling = BertPooling.Mean) => new(Model, pooling);

    /// <summary>
    /// Loads <paramref name="nameOrPath"/>: <c>"minilm"</c> (the embedded all-MiniLM-L6-v2, converted once into the
    /// kit's cache), a folder holding config.json, vocab.txt and model.safetensors, or a Hugging Face hub id such as
    /// <c>google/bert_uncased_L-4_H-256_A-4</c> (downloaded into the hub cache, or read from it when offline).
    /// </summary>
    public static PretrainedBert Load(string nameOrPath, PretrainedBertOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        options ??= new PretrainedBertOptions();
        string folder;
        if (EmbeddedNames.Contains(nameOrPath, StringComparer.OrdinalIgnoreCase))
            folder = EmbeddedMiniLm.EnsureConverted();
        else if (!LooksLikePath(nameOrPath) && nameOrPath.Split('/').Any(part => part is "." or ".."))
            throw new ArgumentException($"PretrainedBert: '{nameOrPath}' is neither a hub id ('name' or 'organisation/name', no '.' or '..' parts) nor a folder path (write ./{nameOrPath} for a folder).", nameof(nameOrPath));
        else if (Directory.Exists(nameOrPath))
            folder = Path.GetFullPath(nameOrPath);
        else if (LooksLikePath(nameOrPath))
            throw new DirectoryNotFoundException($"PretrainedBert: '{nameOrPath}' looks like a folder path, but no such folder exists.");
        else
            folder = (options.Hub ?? Hub.HubClient.FromEnvironment()).DownloadModel(nameOrPath, options.Revision, options.AllowPickle);
        return LoadFolder(folder, options);
    }

    static bool LooksLikePath(string s) =>
        s.StartsWith('.') || s.StartsWith('/') || s.StartsWith('~') || s.Contains('\\') || s.Count(c => c == '/') > 1 || Path.IsPathRooted(s);

    static PretrainedBert LoadFolder(string folder, PretrainedBertOptions options)
    {
        var vocab = Path.Combine(folder, BertCheckpoint.VocabFile);
        if (!File.Exists(vocab))
            throw new FileNotFoundException($"'{folder}': expected {BertCheckpoint.VocabFile} beside the weights, found none.", vocab);
        var model = BertCheckpoint.LoadModel(folder, options.AllowPickle, options.Device, options.Configure);
        var tokenizer = BertTokenizer.FromVocabFile(vocab, lowercase: ReadDoLowerCase(folder));
        tokenizer.ModelMaxLength = model.Config.MaxPositionEmbeddings;
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new InvalidDataException($"'{folder}': vocab.txt has {tokenizer.VocabSize} tokens but the model's embedding table has {model.Config.VocabSize} rows (vocab_size).");
        return new PretrainedBert(model, tokenizer, folder);
    }

    /// <summary>Hugging Face's tokenizer_config.json "do_lower_case"; true (uncased) when the file or key is absent.</summary>
    static bool ReadDoLowerCase(string folder)
    {
        var path = Path.Combine(folder, "tokenizer_config.json");
        if (!File.Exists(path)) return true;
        try
        {
            return System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))?["do_lower_case"] is System.Text.Json.Nodes.JsonValue v
                && v.TryGetValue<bool>(out var lower) ? lower : true;
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"'{path}': not valid JSON ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Saves the (fine-tuned) model as a Hugging Face folder with this tokenizer's vocabulary; it loads again with
    /// <see cref="Load"/> or transformers' <c>BertModel.from_pretrained</c>.
    /// </summary>
    public void Save(string folder) => BertCheckpoint.Save(Model, folder, Path.Combine(Folder, BertCheckpoint.VocabFile), Tokenizer.Lowercase);

    public void Dispose() => Model.Dispose();
}
