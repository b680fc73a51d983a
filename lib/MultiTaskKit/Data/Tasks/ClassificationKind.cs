using System.Globalization;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Data;

/// <summary>
/// Single-label classification of a text or a pair: one class per row, <see cref="ClassificationHead"/> (softmax
/// cross-entropy), accuracy and macro precision/recall/F1 with the confusion matrix; the main score is accuracy.
/// </summary>
public sealed class ClassificationKind : TaskKind
{
    public override string Name => "classification";

    public override TaskLabel? LabelOf(TextExample example) => example.Label >= 0 ? new TaskLabel(Class: example.Label) : null;

    public override (IReadOnlyList<string> LabelNames, IReadOnlyList<TextExample> Examples) Label(
        IReadOnlyList<(TextExample Example, string Cell, string Where)> cells, LabelOptions options)
    {
        // Numeric labels are compared as numbers when every label is a number: "2" and "2.0" are one class, not two.
        var labelled = cells.Where(x => x.Cell.Length > 0).ToList();
        if (labelled.Count == 0) throw new InvalidDataException($"{options.Path}: column '{options.Column}' holds no label at all; expected at least one labelled row.");
        bool numeric = labelled.All(x => CsvTaskReader.IsNumber(x.Cell)) && (options.LabelNames?.All(CsvTaskReader.IsNumber) ?? true);
        string Canon(string v) => numeric ? CanonicalNumber(v) : v;
        var labelNames = (options.LabelNames ?? CsvTaskReader.InferLabelNames(labelled.Select(x => Canon(x.Cell)))).Select(Canon).ToList();
        if (options.LabelNames is null && labelNames.Count < 2)
            throw new InvalidDataException($"{options.Where}: column '{options.Column}' holds a single class ('{labelNames[0]}'); a classification task needs at least two classes (or list them in 'labels').");
        var index = labelNames.Select((n, i) => (n, i)).ToDictionary(t => t.n, t => t.i, StringComparer.Ordinal);
        var rows = cells.Select(x =>
            x.Cell.Length == 0 ? x.Example :
            index.TryGetValue(Canon(x.Cell), out var l)
                ? x.Example with { Label = l }
                : throw new InvalidDataException($"{x.Where}: label '{x.Cell}' in column '{options.Column}' is not one of the configured labels ({string.Join(", ", labelNames)}).")).ToList();
        return (labelNames, rows);
    }

    /// <summary>More than 2 classes and more classes than half the training rows: the sign of an id or text column.</summary>
    public override void CheckInferredLabels(TextDataset train, string task, string column, bool allowMany)
    {
        if (!allowMany && train.LabelNames.Count > 2 && train.LabelNames.Count > train.Count / 2)
            throw new InvalidDataException($"{train.Source}: task '{task}': column '{column}' holds {train.LabelNames.Count} classes in {train.Count} rows, more than half as many classes as rows (is it an id or text column?); set \"many_classes\": true on the task if that is meant.");
    }

    public override Tensor Targets(TaskSignature task, IReadOnlyList<EncodedExample> rows, long width, Device device) =>
        tensor(rows.Select(e => (long)e.Label!.Class).ToArray(), dtype: int64, device: device);

    public override TaskHead CreateHead(long inputSize, TaskSignature task, double dropout) =>
        new ClassificationHead(inputSize, task.LabelNames.Count, new ClassificationHeadOptions(Dropout: dropout));

    public override Tensor Scores(Tensor prediction) => nn.functional.softmax(prediction, -1);

    public override ITaskMetrics NewMetrics(TaskSignature task) => new Accumulator(new ClassificationAccumulator(task.LabelNames));

    sealed class Accumulator(ClassificationAccumulator inner) : ITaskMetrics
    {
        public void Update(ReadOnlySpan<float> scores, EncodedExample example) => inner.Update(ClassificationAccumulator.ArgMax(scores), example.Label!.Class);
        public IMetricResult Compute() => inner.Compute();
    }

    public override double MainScore(IMetricResult result) => result is ClassificationMetrics c ? c.Accuracy : result.Values["accuracy"];

    public override TaskPrediction Predict(TaskSignature task, ReadOnlySpan<float> scores, EncodedExample example)
    {
        var label = task.LabelNames[ClassificationAccumulator.ArgMax(scores)];
        var probabilities = new Dictionary<string, double>();
        for (int j = 0; j < task.LabelNames.Count; j++) probabilities[task.LabelNames[j]] = scores[j];
        return new TaskPrediction(task.Name, this, label, probabilities, null)
        {
            Text = $"{label} ({string.Join(", ", probabilities.Select(p => $"{p.Key} {p.Value:F3}"))})",
        };
    }

    public override ExamplePrediction Record(TaskSignature task, ReadOnlySpan<float> scores, EncodedExample example) =>
        new(example.Index, example.Label is { Class: >= 0 } l ? l.Class : double.NaN, ClassificationAccumulator.ArgMax(scores));

    /// <summary>One spelling per number: integers as integers ("2.0" → "2"), others in their shortest round-trip form.</summary>
    static string CanonicalNumber(string v)
    {
        var d = double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture);
        return d == Math.Floor(d) && Math.Abs(d) < 1e15
            ? ((long)d).ToString(CultureInfo.InvariantCulture)
            : d.ToString("R", CultureInfo.InvariantCulture);
    }
}
