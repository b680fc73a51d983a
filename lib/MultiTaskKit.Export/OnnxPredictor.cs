using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MultiTaskKit.Data;
using MultiTaskKit.Text;

namespace MultiTaskKit.Export;

/// <summary>
/// Predicts from an exported ONNX graph with ONNX Runtime, without TorchSharp: the deploy path that <c>mtk predict
/// --onnx</c> takes. It reads the manifest and vocabulary beside the graph, normalises and encodes each example per task
/// as the manifest says with the kit's own encoder (<see cref="TaskInputEncoder"/>: one text, a pair with token type ids,
/// or words with their first pieces), runs the graph once per distinct encoding (one run when all tasks share their
/// input, normaliser, budget and truncation), and turns each task's output into the prediction its kind makes
/// (<see cref="TaskKind.Predict"/>), so that it prints what <c>mtk predict --run</c> prints.
/// </summary>
public sealed class OnnxPredictor : IDisposable
{
    readonly InferenceSession session;
    readonly BertTokenizer tokenizer;
    readonly Dictionary<string, (TaskSignature Signature, TaskInputEncoder Encoder)> tasks = new();

    public OnnxManifest Manifest { get; }
    public string OnnxPath { get; }

    OnnxPredictor(string onnxPath, int threads)
    {
        OnnxPath = Path.GetFullPath(onnxPath);
        if (Directory.Exists(OnnxPath)) throw new IOException($"--onnx: expected an .onnx file written by mtk export, found a folder '{OnnxPath}'.");
        if (!File.Exists(OnnxPath)) throw new FileNotFoundException($"--onnx: expected an .onnx file written by mtk export at '{OnnxPath}', found none.", OnnxPath);
        var manifestPath = OnnxManifest.PathFor(OnnxPath);
        Manifest = OnnxManifest.Load(manifestPath);
        var folder = Path.GetDirectoryName(OnnxPath)!;
        tokenizer = BertTokenizer.FromVocabFile(Path.Combine(folder, Manifest.Tokenizer.Vocab), Manifest.Tokenizer.Lowercase);
        var options = new SessionOptions { IntraOpNumThreads = threads, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        try { session = new InferenceSession(OnnxPath, options); }
        catch (OnnxRuntimeException e) { throw new InvalidDataException($"{OnnxPath}: ONNX Runtime cannot load it ({e.Message.Split('\n')[0]}).", e); }
        foreach (var t in Manifest.Tasks)
        {
            if (!session.OutputMetadata.ContainsKey(t.Output))
                throw new InvalidDataException($"{manifestPath}: task '{t.Name}' names output '{t.Output}', which {OnnxPath} does not have (outputs: {string.Join(", ", session.OutputMetadata.Keys)}).");
            if (t.Input is not ("text" or "pair" or "words"))
                throw new InvalidDataException($"{manifestPath}: task '{t.Name}': 'input' must be text, pair or words, found '{t.Input}'.");
            if (t.Input == "pair" && !session.InputMetadata.ContainsKey(OnnxExporter.TokenTypeIds))
                throw new InvalidDataException($"{manifestPath}: task '{t.Name}' reads pairs, but {OnnxPath} has no {OnnxExporter.TokenTypeIds} input.");
            TaskKind kind;
            try { kind = TaskKinds.Get(t.Kind); }
            catch (ArgumentException e) { throw new InvalidDataException($"{manifestPath}: task '{t.Name}': {e.Message}", e); }
            var signature = new TaskSignature(t.Name, kind, t.Labels) { Threshold = t.Threshold ?? 0.5 };
            tasks[t.Name] = (signature, new TaskInputEncoder(tokenizer, t.MaxTokens, TruncationOf(t)));
        }
    }

    Truncation TruncationOf(OnnxTaskInfo task) => task.Truncation switch
    {
        "head" => Truncation.Head,
        "tail" => Truncation.Tail,
        "head_tail" => Truncation.HeadAndTail,
        _ => throw new InvalidDataException($"{OnnxManifest.PathFor(OnnxPath)}: task '{task.Name}': 'truncation' must be head, tail or head_tail, found '{task.Truncation}'."),
    };

    /// <param name="onnxPath">The graph; its <c>.json</c> manifest and vocabulary lie beside it.</param>
    /// <param name="threads">ONNX Runtime's intra-op threads (0: its default).</param>
    public static OnnxPredictor Load(string onnxPath, int threads = 0) => new(onnxPath, threads);

    public IReadOnlyList<string> Tasks => Manifest.Tasks.Select(t => t.Name).ToList();

    /// <summary>The token ids of <paramref name="text"/> for a text task: normalised, tokenized and truncated as the task trained.</summary>
    public long[] Encode(OnnxTaskInfo task, string text) => tasks[task.Name].Encoder.Tokenizer.Encode(TextNormalizer.Apply(task.Normalizer, text), task.MaxTokens, TruncationOf(task));

    /// <summary>Example <paramref name="index"/> for <paramref name="task"/> as the kit encodes it (<c>mtk predict --run</c>):
    /// the text normalised, then one text, a pair (the second text normalised too) or the words split at white space.</summary>
    public EncodedExample Encode(OnnxTaskInfo task, string text, string? pair, int index)
    {
        var normalized = TextNormalizer.Apply(task.Normalizer, text);
        var example = task.Input switch
        {
            "words" => new TextExample(index.ToString(), normalized) { Words = normalized.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) },
            "pair" => new TextExample(index.ToString(), normalized)
            {
                Pair = TextNormalizer.Apply(task.Normalizer, pair ?? throw new ArgumentException($"task '{task.Name}' reads sentence pairs; give the second text of each (mtk predict --pair).", nameof(pair))),
            },
            _ => new TextExample(index.ToString(), normalized),
        };
        return tasks[task.Name].Encoder.Encode(example, index, null);
    }

    /// <summary>Every task's encoded examples and raw output rows (probabilities or values; for token tasks each row is
    /// [tokens × tags], tokens padded to the batch's longest), task by task.</summary>
    public Dictionary<string, (IReadOnlyList<EncodedExample> Examples, float[][] Rows)> Outputs(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null)
    {
        if (pairs is not null && pairs.Count != texts.Count)
            throw new ArgumentException($"pairs: expected one second text per text ({texts.Count}), found {pairs.Count}.", nameof(pairs));
        var result = new Dictionary<string, (IReadOnlyList<EncodedExample>, float[][])>();
        foreach (var group in Manifest.Tasks.GroupBy(t => (t.Input, t.Normalizer, t.MaxTokens, t.Truncation)))
        {
            var rows = texts.Select((t, i) => Encode(group.First(), t, pairs?[i], i)).ToList();
            var outputs = Run(rows.Select(r => r.Ids).ToList(), group.Select(t => t.Output).ToList(), rows.Select(r => r.TypeIds).ToList());
            foreach (var t in group) result[t.Name] = (rows, outputs[t.Output]);
        }
        return result;
    }

    /// <summary>Runs the graph on token-id rows (padded here with the vocabulary's [PAD] to the longest row; token type ids
    /// from <paramref name="typeIds"/> where the graph takes them, 0 where a row has none), returning each requested
    /// output split per row.</summary>
    public Dictionary<string, float[][]> Run(IReadOnlyList<long[]> rows, IReadOnlyList<string> outputs, IReadOnlyList<long[]?>? typeIds = null)
    {
        int batch = rows.Count, length = rows.Max(r => r.Length);
        var ids = new long[batch * length];
        var mask = new long[batch * length];
        var types = new long[batch * length];
        Array.Fill(ids, tokenizer.PadId);
        for (int r = 0; r < batch; r++)
        {
            rows[r].CopyTo(ids, r * length);
            Array.Fill(mask, 1L, r * length, rows[r].Length);
            typeIds?[r]?.CopyTo(types, r * length);
        }
        var shape = new[] { batch, length };
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor(OnnxExporter.InputIds, new DenseTensor<long>(ids, shape)),
            NamedOnnxValue.CreateFromTensor(OnnxExporter.AttentionMask, new DenseTensor<long>(mask, shape)),
        };
        if (session.InputMetadata.ContainsKey(OnnxExporter.TokenTypeIds))
            inputs.Add(NamedOnnxValue.CreateFromTensor(OnnxExporter.TokenTypeIds, new DenseTensor<long>(types, shape)));
        using var results = session.Run(inputs, outputs);
        return results.ToDictionary(r => r.Name, r =>
        {
            var flat = r.AsTensor<float>().ToArray();
            int width = flat.Length / batch;
            return Enumerable.Range(0, batch).Select(i => flat[(i * width)..((i + 1) * width)]).ToArray();
        });
    }

    /// <summary>Every task's prediction for each text (with <paramref name="pairs"/>, each text's second text, which pair
    /// tasks need; word tasks split the text at white space): the kit's own <see cref="TaskPrediction"/>s.</summary>
    public IReadOnlyList<IReadOnlyList<TaskPrediction>> Predict(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null)
    {
        for (int i = 0; i < texts.Count; i++)
            if (string.IsNullOrWhiteSpace(texts[i])) throw new ArgumentException($"text {i + 1}: expected non-empty text, found an empty one.", nameof(texts));
        if (texts.Count == 0) return [];
        if (pairs is null && Manifest.Tasks.FirstOrDefault(t => t.Input == "pair") is { } needsPair)
            throw new ArgumentException($"task '{needsPair.Name}' reads sentence pairs; give the second text of each (mtk predict --pair).", nameof(pairs));
        var outputs = Outputs(texts, pairs);
        return texts.Select((_, i) => (IReadOnlyList<TaskPrediction>)Manifest.Tasks.Select(t =>
        {
            var (examples, rows) = outputs[t.Name];
            var signature = tasks[t.Name].Signature;
            return signature.Kind.Predict(signature, rows[i], examples[i]);
        }).ToList()).ToList();
    }

    public void Dispose() => session.Dispose();
}
