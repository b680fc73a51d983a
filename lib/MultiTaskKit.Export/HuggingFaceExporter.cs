using System.Text.Json.Nodes;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MultiTaskKit.Export;

/// <summary>
/// One task of a trained model as a folder in <c>transformers</c>' layout: <c>config.json</c> (the BERT config plus
/// <c>architectures</c>, <c>id2label</c>/<c>label2id</c> and <c>problem_type</c>), <c>model.safetensors</c> with
/// <c>BertForSequenceClassification</c>'s key names, <c>vocab.txt</c>, <c>tokenizer_config.json</c> and
/// <c>special_tokens_map.json</c>.
/// <para>The head mapping. <c>BertForSequenceClassification</c> computes <c>classifier(dropout(pooler_output))</c> with
/// <c>pooler_output = tanh(bert.pooler.dense(h[CLS]))</c>; its loss follows <c>problem_type</c> (<c>regression</c>: MSE
/// on one output; <c>single_label_classification</c>: cross-entropy; <c>multi_label_classification</c>: BCE with logits).
/// The kit's task path is that exactly when its pool is Hugging Face's pooler (<c>model.pooling = pooler</c>): the kit's
/// <c>tasks.{t}.head.classifier</c> (classification, multi-label) or <c>tasks.{t}.head.regressor</c> (regression)
/// becomes <c>classifier</c>, and the pool's <c>dense</c> becomes <c>bert.pooler.dense</c>. The kit's default mean pooling
/// and its [CLS] pooling have no counterpart in that class (it always applies the pooler), so such runs are refused
/// rather than written as a model that transformers would run differently.</para>
/// <para>A token classification task becomes a <c>BertForTokenClassification</c> folder: that class computes
/// <c>classifier(dropout(sequence_output))</c> on every token with no pooler (<c>add_pooling_layer=False</c>), which is
/// the kit's <see cref="TokenClassificationHead"/> on the top layer whatever the run's pooling; the kit's
/// <c>tasks.{t}.head.classifier</c> becomes <c>classifier</c> and no <c>bert.pooler.*</c> is written.</para>
/// <para>A task that reads an earlier layer (<c>depth</c> below the top) is refused: both classes read the top layer.</para>
/// <para>Which paths are a plain BERT: <c>hard</c> and <c>split@k</c> (shared stem and lower layers, the task's own upper
/// layers) and <c>isolated</c> (the task's own trunk). The soft-sharing architectures mix several layers' or experts'
/// states, which no BERT checkpoint holds, and are refused naming the architecture.</para>
/// </summary>
public static class HuggingFaceExporter
{
    static readonly string[] LayerKeys =
    [
        "attention.self.query.weight", "attention.self.query.bias", "attention.self.key.weight", "attention.self.key.bias",
        "attention.self.value.weight", "attention.self.value.bias", "attention.output.dense.weight", "attention.output.dense.bias",
        "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias", "intermediate.dense.weight", "intermediate.dense.bias",
        "output.dense.weight", "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias",
    ];

    static readonly string[] EmbeddingKeys =
    [
        "word_embeddings.weight", "position_embeddings.weight", "token_type_embeddings.weight", "LayerNorm.weight", "LayerNorm.bias",
    ];

    /// <summary>Throws <see cref="ExportRefusedException"/>, one line naming the reason, when <paramref name="task"/>'s
    /// path is not a plain BERT with a head transformers has.</summary>
    public static void CheckExportable(MultiTaskNetwork model, string task)
    {
        var head = model.Head(task);
        if (model is not MultiTaskModel m)
            throw new ExportRefusedException($"hf export: task '{task}' runs through the {model.Architecture} architecture, which mixes several states per layer; a transformers BERT holds one path (hard, split@k or isolated); use --format onnx.");
        if (m.Trunk is not BertTrunk trunk)
            throw new ExportRefusedException($"hf export: task '{task}' runs on the {m.Trunk.GetType().Name} trunk, not BERT; transformers' BERT classes need a BERT trunk; use --format onnx.");
        if (head is not (ClassificationHead or RegressionHead { Outputs: 1 } or MultiLabelHead or TokenClassificationHead))
            throw new ExportRefusedException($"hf export: task '{task}' has a {head.GetType().Name}, which no transformers BERT head computes; use --format onnx.");
        if (m.Depths[task] < m.Trunk.Layers.Count)
            throw new ExportRefusedException($"hf export: task '{task}' reads trunk layer {m.Depths[task]} of {m.Trunk.Layers.Count} (depth), and transformers' BERT classifiers read the top layer; use --format onnx.");
        if (head is not TokenClassificationHead && trunk.Pooling != BertPooling.Pooler)
            throw new ExportRefusedException($"hf export: task '{task}' pools by {trunk.Pooling.ToString().ToLowerInvariant()}, but transformers' BertForSequenceClassification classifies tanh(pooler.dense([CLS])); only runs with model.pooling = pooler map onto it; use --format onnx.");
    }

    /// <summary>The task's weights under <c>BertForSequenceClassification</c>'s (or, for a token task,
    /// <c>BertForTokenClassification</c>'s) keys (CPU, float32, contiguous).</summary>
    public static Dictionary<string, Tensor> StateDict(MultiTaskNetwork model, string task)
    {
        CheckExportable(model, task);
        var m = (MultiTaskModel)model;
        int layers = m.Trunk.Layers.Count;
        int shared = m.Plan.Kind switch { SharingKind.Hard => layers, SharingKind.Isolated => 0, _ => m.Plan.SharedLayers };
        var source = model.state_dict();
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        void Take(string from, string to) =>
            result[to] = (source.TryGetValue(from, out var t) ? t : throw new InvalidOperationException($"hf export: the model has no weight '{from}'."))
                .detach().cpu().to_type(ScalarType.Float32).contiguous();
        var stem = m.Plan.Kind == SharingKind.Isolated ? $"tasks.{task}.stem." : "shared.stem.";
        foreach (var k in EmbeddingKeys) Take(stem + k, "bert.embeddings." + k);
        for (int i = 0; i < layers; i++)
        {
            var from = i < shared ? $"shared.layers.{i}." : $"tasks.{task}.layers.{i}.";
            foreach (var k in LayerKeys) Take(from + k, $"bert.encoder.layer.{i}.{k}");
        }
        if (model.Head(task) is not TokenClassificationHead)
        {
            var pool = m.Plan.Kind == SharingKind.Hard ? "shared.pool." : $"tasks.{task}.pool.";
            Take(pool + "dense.weight", "bert.pooler.dense.weight");
            Take(pool + "dense.bias", "bert.pooler.dense.bias");
        }
        var head = model.Head(task) is RegressionHead ? "regressor" : "classifier";
        Take($"tasks.{task}.head.{head}.weight", "classifier.weight");
        Take($"tasks.{task}.head.{head}.bias", "classifier.bias");
        return result;
    }

    /// <summary>The transformers class of the task's folder.</summary>
    public static string Architecture(TaskHead head) => head is TokenClassificationHead ? "BertForTokenClassification" : "BertForSequenceClassification";

    /// <summary>transformers' <c>problem_type</c> for the task's head (null for token classification: that class has one loss).</summary>
    public static string? ProblemType(TaskHead head) => head switch
    {
        TokenClassificationHead => null,
        RegressionHead => "regression",
        MultiLabelHead => "multi_label_classification",
        _ => "single_label_classification",
    };

    /// <summary>Writes the folder (atomically: built in a temporary sibling, then renamed into place).</summary>
    /// <param name="labels">Class names in output order (regression: ignored).</param>
    /// <param name="maxTokens">The task's token budget, written as the tokenizer's <c>model_max_length</c>.</param>
    public static void Write(MultiTaskNetwork model, string task, IReadOnlyList<string> labels, int maxTokens, string vocabPath, string folder)
    {
        using var scope = NewDisposeScope();
        var weights = StateDict(model, task);
        var trunk = (BertTrunk)((MultiTaskModel)model).Trunk;
        var head = model.Head(task);
        var names = head is RegressionHead ? [task] : labels;
        var config = JsonNode.Parse(trunk.Config.ToJson())!.AsObject();
        config["architectures"] = new JsonArray(Architecture(head));
        if (ProblemType(head) is { } problem) config["problem_type"] = problem;
        var id2label = new JsonObject();
        var label2id = new JsonObject();
        for (int i = 0; i < names.Count; i++) { id2label[i.ToString()] = names[i]; label2id[names[i]] = i; }
        config["id2label"] = id2label;
        config["label2id"] = label2id;
        config["classifier_dropout"] = null;
        MultiTaskKit.IO.AtomicFolder.Write(folder, tmp =>
        {
            File.WriteAllText(Path.Combine(tmp, BertCheckpoint.ConfigFile), config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            File.Copy(vocabPath, Path.Combine(tmp, BertCheckpoint.VocabFile));
            File.WriteAllText(Path.Combine(tmp, "tokenizer_config.json"), new JsonObject
            {
                ["tokenizer_class"] = "BertTokenizer",
                ["do_lower_case"] = true,
                ["model_max_length"] = maxTokens,
            }.ToJsonString());
            File.WriteAllText(Path.Combine(tmp, "special_tokens_map.json"), new JsonObject
            {
                ["unk_token"] = "[UNK]", ["sep_token"] = "[SEP]", ["pad_token"] = "[PAD]", ["cls_token"] = "[CLS]", ["mask_token"] = "[MASK]",
            }.ToJsonString());
            Safetensors.SaveStateDict(Path.Combine(tmp, BertCheckpoint.SafetensorsFile), weights);
        });
    }
}
