using MultiTaskKit.Evaluation;
using MultiTaskKit.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Data;

/// <summary>
/// Multi-label classification: any number of labels per row, written in one cell separated by the task's
/// <c>label_delimiter</c> (default <c>,</c>; an empty cell with <c>label_delimiter</c> present means "no label applies"
/// only when written as <c>-</c>). One sigmoid per label with binary cross-entropy (<see cref="MultiLabelHead"/>);
/// a label is predicted when its probability reaches the task's threshold (<see cref="TaskSignature.Threshold"/>,
/// default 0.5). Metrics: micro and macro precision/recall/F1, subset accuracy, Hamming loss, and F1 per label
/// (<see cref="MultiLabelMetrics"/>); the main score is micro-F1.
/// </summary>
public sealed class MultiLabelKind : TaskKind
{
    /// <summary>The cell that says "no label applies" (a blank cell means "not labelled for this task").</summary>
    public const string NoLabel = "-";

    public override string Name => "multi_label";

    public override bool LabelsFromAllSplits => true;

    public override TaskLabel? LabelOf(TextExample example) => example.Labels is { } l ? new TaskLabel(Indices: l) : null;

    public override (IReadOnlyList<string> LabelNames, IReadOnlyList<TextExample> Examples) Label(
        IReadOnlyList<(TextExample Example, string Cell, string Where)> cells, LabelOptions options)
    {
        string[] Split(string cell) => cell == NoLabel ? [] : cell.Split(options.LabelDelimiter, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var labelled = cells.Where(x => x.Cell.Length > 0).ToList();
        if (labelled.Count == 0) throw new InvalidDataException($"{options.Path}: column '{options.Column}' holds no label at all; expected at least one labelled row.");
        var names = options.LabelNames ?? labelled.SelectMany(x => Split(x.Cell)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (names.Count == 0) throw new InvalidDataException($"{options.Path}: column '{options.Column}' names no label in any row; expected labels separated by '{options.LabelDelimiter}'.");
        var index = names.Select((n, i) => (n, i)).ToDictionary(t => t.n, t => t.i, StringComparer.Ordinal);
        var rows = cells.Select(x =>
        {
            if (x.Cell.Length == 0) return x.Example;
            var set = new SortedSet<int>();
            foreach (var name in Split(x.Cell))
                set.Add(index.TryGetValue(name, out var i) ? i
                    : throw new InvalidDataException($"{x.Where}: label '{name}' in column '{options.Column}' is not one of the configured labels ({string.Join(", ", names)})."));
            return x.Example with { Labels = set.ToArray() };
        }).ToList();
        return (names, rows);
    }

    public override Tensor Targets(TaskSignature task, IReadOnlyList<EncodedExample> rows, long width, Device device)
    {
        int labels = task.LabelNames.Count;
        var t = new float[rows.Count * labels];
        for (int r = 0; r < rows.Count; r++)
            foreach (var i in rows[r].Label!.Indices!) t[r * labels + i] = 1f;
        return tensor(t, [rows.Count, labels], dtype: float32, device: device);
    }

    public override TaskHead CreateHead(long inputSize, TaskSignature task, double dropout) =>
        new MultiLabelHead(inputSize, task.LabelNames.Count, dropoutRate: dropout);

    public override Tensor Scores(Tensor prediction) => prediction.sigmoid();

    public override ITaskMetrics NewMetrics(TaskSignature task) => new Accumulator(new MultiLabelAccumulator(task.LabelNames, task.Threshold));

    sealed class Accumulator(MultiLabelAccumulator inner) : ITaskMetrics
    {
        public void Update(ReadOnlySpan<float> scores, EncodedExample example) => inner.Update(scores, example.Label!.Indices!);
        public IMetricResult Compute() => inner.Compute();
    }

    public override double MainScore(IMetricResult result) => ((MultiLabelMetrics)result).MicroF1;

    public override ExamplePrediction Record(TaskSignature task, ReadOnlySpan<float> scores, EncodedExample example)
    {
        var chosen = new List<int>();
        for (int j = 0; j < task.LabelNames.Count; j++) if (scores[j] >= task.Threshold) chosen.Add(j);
        return ExamplePrediction.Lists(example.Index, example.Label?.Indices?.Order().ToList(), chosen);
    }

    public override TaskPrediction Predict(TaskSignature task, ReadOnlySpan<float> scores, EncodedExample example)
    {
        var probabilities = new Dictionary<string, double>();
        for (int j = 0; j < task.LabelNames.Count; j++) probabilities[task.LabelNames[j]] = scores[j];
        var chosen = probabilities.Where(p => p.Value >= task.Threshold).Select(p => p.Key).ToList();
        var label = chosen.Count == 0 ? NoLabel : string.Join(",", chosen);
        return new TaskPrediction(task.Name, this, label, probabilities, null)
        {
            Text = $"{label} ({string.Join(", ", probabilities.Select(p => $"{p.Key} {p.Value:F3}"))})",
        };
    }
}
