using MultiTaskKit.Evaluation;
using MultiTaskKit.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Data;

/// <summary>
/// Token classification (part-of-speech tags, chunks, named entities) over pre-split words, as in CoNLL files: each word
/// is split into word pieces and its tag trains and scores on its first piece only; the other pieces, [CLS], [SEP] and
/// padding carry <see cref="TaskKind.IgnoreIndex"/> (Devlin et al. 2019, §4.3). The head is a linear map of every
/// token's vector (<see cref="TokenClassificationHead"/>). Metrics: token accuracy over words, and when the tags are
/// chunk tags (<c>B-</c>/<c>I-</c>, IOB1 or IOB2) entity-level precision, recall and F1 as <c>conlleval</c> counts them
/// (<see cref="EntityMetrics"/>); the main score is entity F1 for chunk tags, token accuracy otherwise.
/// <c>predict</c> prints each word with its tag.
/// </summary>
public sealed class TokenClassificationKind : TaskKind
{
    public override string Name => "token_classification";

    public override bool ReadsTokens => true;

    public override bool LabelsFromAllSplits => true;

    public override TaskLabel? LabelOf(TextExample example) => example.Labels is { } l ? new TaskLabel(Indices: l) : null;

    public override (IReadOnlyList<string> LabelNames, IReadOnlyList<TextExample> Examples) Label(
        IReadOnlyList<(TextExample Example, string Cell, string Where)> cells, LabelOptions options) =>
        throw new InvalidDataException($"{options.Path}: token_classification reads CoNLL column files (\"format\": \"conll\"), one word a line; a delimited file holds one label per row.");

    /// <summary>Tags of a CoNLL sentence: the names found (or configured), and each sentence's tag indices.</summary>
    public static (IReadOnlyList<string> LabelNames, IReadOnlyList<TextExample> Examples) LabelWords(
        IReadOnlyList<(TextExample Example, IReadOnlyList<string> Tags, string Where)> sentences, LabelOptions options)
    {
        var names = options.LabelNames ?? sentences.SelectMany(s => s.Tags).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var index = names.Select((n, i) => (n, i)).ToDictionary(t => t.n, t => t.i, StringComparer.Ordinal);
        var rows = sentences.Select(s => s.Example with
        {
            Labels = s.Tags.Select(t => index.TryGetValue(t, out var i) ? i
                : throw new InvalidDataException($"{s.Where}: tag '{t}' in column '{options.Column}' is not one of the configured labels ({string.Join(", ", names)}).")).ToArray(),
        }).ToList();
        return (names, rows);
    }

    public override Tensor Targets(TaskSignature task, IReadOnlyList<EncodedExample> rows, long width, Device device)
    {
        var t = new long[rows.Count * width];
        Array.Fill(t, IgnoreIndex);
        for (int r = 0; r < rows.Count; r++)
        {
            var starts = rows[r].WordStarts ?? throw new InvalidOperationException($"task '{task.Name}': row {rows[r].Index} has no word positions; token tasks read words.");
            var tags = rows[r].Label!.Indices!;
            for (int w = 0; w < starts.Length; w++) t[r * width + starts[w]] = tags[w];
        }
        return tensor(t, [rows.Count, width], dtype: int64, device: device);
    }

    public override TaskHead CreateHead(long inputSize, TaskSignature task, double dropout) =>
        new TokenClassificationHead(inputSize, task.LabelNames.Count, dropout);

    public override Tensor Scores(Tensor prediction) => nn.functional.softmax(prediction, -1);

    public override ITaskMetrics NewMetrics(TaskSignature task) => new Accumulator(task.LabelNames);

    /// <summary>Per row: the arg-max tag at each word's first piece; words cut by the token budget count as "O"
    /// (or the first tag), so that every gold entity is counted.</summary>
    sealed class Accumulator(IReadOnlyList<string> names) : ITaskMetrics
    {
        readonly EntityAccumulator inner = new(names);
        readonly int fallback = Math.Max(0, names.ToList().IndexOf("O"));

        public void Update(ReadOnlySpan<float> scores, EncodedExample example)
        {
            var gold = example.Label!.Indices!;
            var predicted = PredictWords(scores, example, names.Count, fallback);
            inner.Update(gold.Select(g => names[g]).ToList(), predicted.Select(p => names[p]).ToList());
        }

        public IMetricResult Compute() => inner.Compute();
    }

    static int[] PredictWords(ReadOnlySpan<float> scores, EncodedExample example, int classes, int fallback)
    {
        var starts = example.WordStarts ?? [];
        int words = Math.Max(example.Label?.Indices?.Count ?? 0, starts.Length);
        var predicted = new int[words];
        for (int w = 0; w < words; w++)
            predicted[w] = w < starts.Length ? ClassificationAccumulator.ArgMax(scores.Slice(starts[w] * classes, classes)) : fallback;
        return predicted;
    }

    public override ExamplePrediction Record(TaskSignature task, ReadOnlySpan<float> scores, EncodedExample example) =>
        ExamplePrediction.Lists(example.Index, example.Label?.Indices, PredictWords(scores, example, task.LabelNames.Count, Math.Max(0, task.LabelNames.ToList().IndexOf("O"))));

    public override double MainScore(IMetricResult result)
    {
        var m = (EntityMetrics)result;
        return m.HasChunks ? m.F1 : m.TokenAccuracy;
    }

    public override TaskPrediction Predict(TaskSignature task, ReadOnlySpan<float> scores, EncodedExample example)
    {
        var words = example.Words ?? throw new InvalidOperationException($"task '{task.Name}': prediction needs the example's words.");
        int fallback = Math.Max(0, task.LabelNames.ToList().IndexOf("O"));
        var predicted = PredictWords(scores, example, task.LabelNames.Count, fallback);
        // words cut by the token budget have no piece to read: they get the fallback tag, as in scoring
        var tags = words.Select((w, i) => (w, task.LabelNames[i < predicted.Length ? predicted[i] : fallback])).ToList();
        return new TaskPrediction(task.Name, this, null, null, null, tags) { Text = string.Join(" ", tags.Select(t => $"{t.w}/{t.Item2}")) };
    }
}
