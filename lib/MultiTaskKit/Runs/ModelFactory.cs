using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Text;
using TorchSharp;
using static TorchSharp.torch;
using MultiTaskKit.Optim;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Runs;

/// <summary>A built multi-task model with its tokenizer and where its trunk came from.</summary>
public sealed class BuiltModel : IDisposable
{
    public required MultiTaskNetwork Model { get; init; }
    public required BertTokenizer Tokenizer { get; init; }
    /// <summary>The vocabulary's text, copied into run folders so that a run is self-describing.</summary>
    public required string VocabText { get; init; }
    public required string TrunkDescription { get; init; }
    /// <summary>The BERT trunk's configuration; null for the <c>mlp</c> trunk.</summary>
    public BertConfig? TrunkConfig { get; init; }
    public void Dispose() => Model.Dispose();
}

/// <summary>
/// Builds the multi-task model of a configuration: a BERT trunk (the embedded MiniLM, a Hugging Face folder or id, or
/// a freshly initialised <c>random</c> one with MiniLM's vocabulary) or an <c>mlp</c> trunk over MiniLM's vocabulary,
/// made into the architecture <c>sharing.plan</c> names (<see cref="ArchitectureCatalog"/>), with one head per task.
/// Initialisation is seeded, so the same configuration builds the same model.
/// </summary>
public static class ModelFactory
{
    /// <param name="config">The configuration; its <see cref="RunConfig.Runtime"/> gives the kernels, the precision and,
    /// unless <paramref name="device"/> is given, the device.</param>
    /// <param name="tasks">One signature per task, in the configuration's order.</param>
    /// <param name="device">Where the model goes; null: <c>config.Runtime.Device</c> resolved
    /// (<see cref="TorchRuntime.ResolveDevice"/>). Never the process's default.</param>
    public static BuiltModel Build(RunConfig config, IReadOnlyList<TaskSignature> tasks, Device? device = null)
    {
        device ??= TorchRuntime.ResolveDevice(config.Runtime.Device);
        var m = config.Model;
        // Converting the embedded model (first use on a machine) builds a randomly initialised BertModel, which draws
        // from torch's generator: convert before seeding, so that a first run initialises exactly as every later run.
        if (PretrainedBert.EmbeddedNames.Contains(m.Trunk, StringComparer.OrdinalIgnoreCase)) EmbeddedMiniLm.EnsureConverted();
        TorchRuntime.SeedGlobalGenerator((long)(SeededRandom.Derive(config.Seed, "init") >> 1));
        if (m.Trunk.Equals("mlp", StringComparison.OrdinalIgnoreCase)) return BuildMlp(config, tasks, device);
        BertModel bert;
        BertTokenizer tokenizer;
        string vocabText;
        string description;
        if (m.Trunk.Equals("random", StringComparison.OrdinalIgnoreCase))
        {
            using (var reader = new StreamReader(EmbeddedMiniLm.OpenVocab())) vocabText = reader.ReadToEnd();
            tokenizer = BertTokenizer.FromVocab(new StringReader(vocabText), "embedded MiniLM vocab.txt");
            var bc = new BertConfig
            {
                VocabSize = tokenizer.VocabSize, HiddenSize = m.Hidden, NumHiddenLayers = m.Layers, NumAttentionHeads = m.Heads,
                IntermediateSize = m.Intermediate, MaxPositionEmbeddings = 512,
                HiddenDropoutProb = m.Dropout ?? 0.1, AttentionProbsDropoutProb = m.Dropout ?? 0.1,
                Kernels = config.Runtime.Kernels,
            };
            bert = new BertModel(bc, addPoolingLayer: false);
            description = $"random BERT (hidden {m.Hidden}, {m.Layers} layers, {m.Heads} heads, seed {config.Seed})";
        }
        else
        {
            var pre = PretrainedBert.Load(m.Trunk, new PretrainedBertOptions { Device = device, Configure = c => c with { Kernels = config.Runtime.Kernels } });
            tokenizer = pre.Tokenizer;
            vocabText = File.ReadAllText(Path.Combine(pre.Folder, BertCheckpoint.VocabFile));
            description = $"{m.Trunk} ({pre.Folder})";
            if (m.Dropout is { } d)
            {
                // The checkpoint's config fixes dropout; rebuild with the override and load the same weights.
                var bc = pre.Config with { HiddenDropoutProb = d, AttentionProbsDropoutProb = d };
                var raw = BertCheckpoint.ReadStateDict(pre.Folder);
                try
                {
                    var normalized = BertCheckpoint.NormalizeKeys(raw);
                    bert = new BertModel(bc, addPoolingLayer: BertCheckpoint.HasPooler(normalized));
                    BertCheckpoint.LoadInto(bert, normalized, pre.Folder);
                }
                finally { foreach (var t in raw.Values) t.Dispose(); }
                pre.Dispose();
            }
            else bert = pre.Model;
        }
        var pooling = m.Pooling.ToLowerInvariant() switch
        {
            "mean" => BertPooling.Mean,
            "cls" => BertPooling.Cls,
            "pooler" => BertPooling.Pooler,
            _ => throw new InvalidDataException($"model.pooling: expected mean or cls, found '{m.Pooling}'."),
        };
        var trunk = new BertTrunk(bert, pooling);
        foreach (var t in config.Tasks.Where(t => t.MaxTokens > bert.Config.MaxPositionEmbeddings))
            throw new InvalidDataException($"task '{t.Name}': max_tokens must be at most the trunk's position table (max_position_embeddings {bert.Config.MaxPositionEmbeddings}), found {t.MaxTokens}.");
        var model = ArchitectureCatalog.Build(config.Sharing, trunk, Heads(trunk.OutputSize, tasks, m), Depths(config));
        model.to(device);
        MixedPrecision.Apply(model, PrecisionProbe.Resolve(config.Runtime.Precision, device: device));
        return new BuiltModel { Model = model, Tokenizer = tokenizer, VocabText = vocabText, TrunkDescription = description, TrunkConfig = bert.Config };
    }

    /// <summary>The <c>mlp</c> trunk: a bag of token embeddings over MiniLM's vocabulary, then <c>layers</c> layers of <c>hidden</c> width.</summary>
    static BuiltModel BuildMlp(RunConfig config, IReadOnlyList<TaskSignature> tasks, Device device)
    {
        var m = config.Model;
        string vocabText;
        using (var reader = new StreamReader(EmbeddedMiniLm.OpenVocab())) vocabText = reader.ReadToEnd();
        var tokenizer = BertTokenizer.FromVocab(new StringReader(vocabText), "embedded MiniLM vocab.txt");
        var trunk = new MlpTrunk(MlpTrunkOptions.ForTokens(tokenizer.VocabSize, m.Hidden, m.Layers, m.Dropout ?? 0.0));
        var model = ArchitectureCatalog.Build(config.Sharing, trunk, Heads(trunk.OutputSize, tasks, m), Depths(config));
        model.to(device);
        MixedPrecision.Apply(model, PrecisionProbe.Resolve(config.Runtime.Precision, device: device));
        return new BuiltModel
        {
            Model = model, Tokenizer = tokenizer, VocabText = vocabText,
            TrunkDescription = $"mlp (token embeddings, hidden {m.Hidden}, {m.Layers} layers, seed {config.Seed})",
        };
    }

    static List<KeyValuePair<string, TaskHead>> Heads(long inputSize, IReadOnlyList<TaskSignature> tasks, ModelConfig m) =>
        tasks.Select(t => new KeyValuePair<string, TaskHead>(t.Name, t.Kind.CreateHead(inputSize, t, m.HeadDropout))).ToList();

    /// <summary>The tasks that read a layer below the top (<c>depth</c>), checked against the trunk when it is built.</summary>
    static Dictionary<string, int> Depths(RunConfig config) =>
        config.Tasks.Where(t => t.Depth is not null).ToDictionary(t => t.Name, t => t.Depth!.Value);

    /// <summary>The tokenizer's truncation for a task's configured mode.</summary>
    public static Truncation ToTruncation(TruncationMode mode) => mode switch
    {
        TruncationMode.Head => Truncation.Head,
        TruncationMode.Tail => Truncation.Tail,
        _ => Truncation.HeadAndTail,
    };
}
