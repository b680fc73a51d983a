using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MultiTaskKit.Data;
using MultiTaskKit.Text;

namespace MultiTaskKit.Export;

/// <summary>One task's prediction from an exported graph: label and probabilities, label probabilities, or the value.</summary>
public sealed record OnnxPrediction(string Task, string Kind, string? Label, IReadOnlyDictionary<string, double>? Probabilities, double? Value);

/// <summary>
/// Predicts from an exported ONNX graph with ONNX Runtime, without TorchSharp: the deploy path that <c>mtk predict
/// --onnx</c> takes. It reads the manifest and vocabulary beside the graph, normalises and tokenizes each text per task
/// as the manifest says (the kit's tokenizer and normalisers, which the run trained with), runs the graph once per
/// distinct encoding (one run when all tasks share their normaliser, budget and truncation), and reads each task's output.
/// </summary>
public sealed class OnnxPredictor : IDisposable
{
    readonly InferenceSession session;
    readonly BertTokenizer tokenizer;

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
            if (!session.OutputMetadata.ContainsKey(t.Output))
                throw new InvalidDataException($"{manifestPath}: task '{t.Name}' names output '{t.Output}', which {OnnxPath} does not have (outputs: {string.Join(", ", session.OutputMetadata.Keys)}).");
    }

    /// <param name="onnxPath">The graph; its <c>.json</c> manifest and vocabulary lie beside it.</param>
    /// <param name="threads">ONNX Runtime's intra-op threads (0: its default).</param>
    public static OnnxPredictor Load(string onnxPath, int threads = 0) => new(onnxPath, threads);

    public IReadOnlyList<string> Tasks => Manifest.Tasks.Select(t => t.Name).ToList();

    /// <summary>The token ids of <paramref name="text"/> for <paramref name="task"/>: normalised, tokenized and truncated as the task trained.</summary>
    public long[] Encode(OnnxTaskInfo task, string text) =>
        tokenizer.Encode(TextNormalizer.Apply(task.Normalizer, text), task.MaxTokens, task.Truncation switch
        {
            "head" => Truncation.Head,
            "tail" => Truncation.Tail,
            "head_tail" => Truncation.HeadAndTail,
            _ => throw new InvalidDataException($"{OnnxManifest.PathFor(OnnxPath)}: task '{task.Name}': 'truncation' must be head, tail or head_tail, found '{task.Truncation}'."),
        });

    /// <summary>Every task's raw output rows for the texts (probabilities or values), task by task.</summary>
    public Dictionary<string, float[][]> Outputs(IReadOnlyList<string> texts)
    {
        var result = new Dictionary<string, float[][]>();
        foreach (var group in Manifest.Tasks.GroupBy(t => (t.Normalizer, t.MaxTokens, t.Truncation)))
        {
            var rows = texts.Select(t => Encode(group.First(), t)).ToList();
            var outputs = Run(rows, group.Select(t => t.Output).ToList());
            foreach (var t in group) result[t.Name] = outputs[t.Output];
        }
        return result;
    }

    /// <summary>Runs the graph on token-id rows (padded here with the vocabulary's [PAD] to the longest row), returning
    /// each requested output split per row.</summary>
    public Dictionary<string, float[][]> Run(IReadOnlyList<long[]> rows, IReadOnlyList<string> outputs)
    {
        int batch = rows.Count, length = rows.Max(r => r.Length);
        var ids = new long[batch * length];
        var mask = new long[batch * length];
        Array.Fill(ids, tokenizer.PadId);
        for (int r = 0; r < batch; r++)
        {
            rows[r].CopyTo(ids, r * length);
            Array.Fill(mask, 1L, r * length, rows[r].Length);
        }
        var shape = new[] { batch, length };
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor(OnnxExporter.InputIds, new DenseTensor<long>(ids, shape)),
            NamedOnnxValue.CreateFromTensor(OnnxExporter.AttentionMask, new DenseTensor<long>(mask, shape)),
        };
        if (Manifest.Inputs.Contains(OnnxExporter.TokenTypeIds))
            inputs.Add(NamedOnnxValue.CreateFromTensor(OnnxExporter.TokenTypeIds, new DenseTensor<long>(new long[batch * length], shape)));
        using var results = session.Run(inputs, outputs);
        return results.ToDictionary(r => r.Name, r =>
        {
            var flat = r.AsTensor<float>().ToArray();
            int width = flat.Length / batch;
            return Enumerable.Range(0, batch).Select(i => flat[(i * width)..((i + 1) * width)]).ToArray();
        });
    }

    /// <summary>Every task's prediction for each text.</summary>
    public IReadOnlyList<IReadOnlyList<OnnxPrediction>> Predict(IReadOnlyList<string> texts)
    {
        for (int i = 0; i < texts.Count; i++)
            if (string.IsNullOrWhiteSpace(texts[i])) throw new ArgumentException($"text {i + 1}: expected non-empty text, found an empty one.", nameof(texts));
        if (texts.Count == 0) return [];
        var outputs = Outputs(texts);
        return texts.Select((_, i) => (IReadOnlyList<OnnxPrediction>)Manifest.Tasks.Select(t =>
        {
            var row = outputs[t.Name][i];
            return t.OutputKind switch
            {
                "probabilities" => new OnnxPrediction(t.Name, t.Kind, t.Labels[Array.IndexOf(row, row.Max())],
                    t.Labels.Select((l, j) => (l, (double)row[j])).ToDictionary(x => x.l, x => x.Item2), null),
                "label_probabilities" => new OnnxPrediction(t.Name, t.Kind, string.Join(",", t.Labels.Where((_, j) => row[j] >= 0.5f)),
                    t.Labels.Select((l, j) => (l, (double)row[j])).ToDictionary(x => x.l, x => x.Item2), null),
                _ => new OnnxPrediction(t.Name, t.Kind, null, null, row[0]),
            };
        }).ToList()).ToList();
    }

    public void Dispose() => session.Dispose();
}
