using System.Text.Json;
using System.Text.Json.Serialization;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Data;

/// <summary>
/// One example's label for one task, in the shape its <see cref="TaskKind"/> reads: a class index (classification), a
/// real value (regression), or a list of label indices (multi-label: the labels that apply; token classification: one tag
/// per word). An unlabelled example (a blank cell of a shared input) has no <see cref="TaskLabel"/> at all.
/// </summary>
public sealed record TaskLabel(int Class = -1, float Value = float.NaN, IReadOnlyList<int>? Indices = null);

/// <summary>
/// What a task predicts, and everything that follows from it (MT-DNN's "task type", Liu et al. 2019): how a label cell
/// becomes a <see cref="TaskLabel"/>, how a batch's labels become a target tensor (and how it is padded), the head and
/// its loss, the metrics (and which one is the task's main score), and what <c>predict</c> prints. How columns become
/// model input is the same for every kind (<see cref="TaskInputEncoder"/>: one text, a pair, or pre-split words).
/// <para>A kind is one file in <c>Data/Tasks/</c> and one line in <see cref="TaskKinds"/>; nothing else in the kit
/// branches on which kind a task is.</para>
/// </summary>
[JsonConverter(typeof(TaskKindJsonConverter))]
public abstract class TaskKind
{
    /// <summary>The name a configuration writes (<c>"kind": "classification"</c>), snake_case.</summary>
    public abstract string Name { get; }

    /// <summary>Whether the head reads every token's vector (token classification) instead of one pooled vector per row.</summary>
    public virtual bool ReadsTokens => false;

    /// <summary>Whether the label names come from every split (tags or labels only val or test uses still get an output)
    /// rather than from train alone (classification: a class missing from train is an error).</summary>
    public virtual bool LabelsFromAllSplits => false;

    /// <summary>Whether the kind has label names (the class, label or tag vocabulary).</summary>
    public virtual bool HasLabelNames => true;

    /// <summary>Outputs of the head per row (per token for token kinds).</summary>
    public virtual int Outputs(TaskSignature task) => task.LabelNames.Count;

    /// <summary>The label of a reader's example for this kind; null when the example carries none.</summary>
    public abstract TaskLabel? LabelOf(TextExample example);

    /// <summary>
    /// Turns the label cells of a delimited file into labels: <paramref name="cells"/> are the trimmed cells in row order
    /// (empty: no label), <paramref name="options"/> the file, column, configured names (null: infer them) and delimiter. Returns the label names
    /// and, per row, the example with its label set. Errors name the row's <c>where</c>.
    /// </summary>
    public abstract (IReadOnlyList<string> LabelNames, IReadOnlyList<TextExample> Examples) Label(
        IReadOnlyList<(TextExample Example, string Cell, string Where)> cells, LabelOptions options);

    /// <summary>
    /// Refuses a training split whose inferred label names look like the wrong column was named (one line naming the
    /// file, task, column and counts); <paramref name="allowMany"/> is the task's <c>"many_classes": true</c>. Called only
    /// when the names were inferred from the data, not configured. The default accepts any split.
    /// </summary>
    public virtual void CheckInferredLabels(TextDataset train, string task, string column, bool allowMany) { }

    /// <summary>The batch's target tensor on <paramref name="device"/>; <paramref name="width"/> is the padded token
    /// count of the batch's input (token kinds pad their targets to it with <see cref="IgnoreIndex"/>).</summary>
    public abstract Tensor Targets(TaskSignature task, IReadOnlyList<EncodedExample> rows, long width, Device device);

    /// <summary>The task's head over a trunk of <paramref name="inputSize"/> features.</summary>
    public abstract TaskHead CreateHead(long inputSize, TaskSignature task, double dropout);

    /// <summary>What evaluation and prediction read from the head's output (probabilities for classifiers).</summary>
    public virtual Tensor Scores(Tensor prediction) => prediction;

    /// <summary>A fresh streaming accumulator of the task's metrics.</summary>
    public abstract ITaskMetrics NewMetrics(TaskSignature task);

    /// <summary>The task's main figure, higher is better (direction applied): what <c>selection_metric: mean</c> averages.</summary>
    public abstract double MainScore(IMetricResult result);

    /// <summary>What <c>predict</c> says for one row: <paramref name="scores"/> is the row's slice of <see cref="Scores"/>.</summary>
    public abstract TaskPrediction Predict(TaskSignature task, ReadOnlySpan<float> scores, EncodedExample example);

    /// <summary>What <c>test_predictions.csv</c> records for one row (<see cref="TestPredictions"/>): the gold label and
    /// the prediction, as numbers (one label or value) or as index lists; <paramref name="scores"/> as for <see cref="Predict"/>.</summary>
    public abstract ExamplePrediction Record(TaskSignature task, ReadOnlySpan<float> scores, EncodedExample example);

    /// <summary>Targets that a token kind's loss and metrics skip (PyTorch's <c>ignore_index</c>).</summary>
    public const long IgnoreIndex = TokenClassificationHead.IgnoreIndex;

    public override string ToString() => Name;

    // The two kinds the kit started with, by their old enum names.
    public static TaskKind Classification => TaskKinds.Get("classification");
    public static TaskKind Regression => TaskKinds.Get("regression");
}

/// <summary>How a kind reads label cells: the configured label names, the delimiter of a multi-label cell, the threshold.</summary>
public sealed record LabelOptions(string Path, string Column, IReadOnlyList<string>? LabelNames = null, string LabelDelimiter = ",")
{
    /// <summary>The task's name, for messages (null: the file and column say enough).</summary>
    public string? Task { get; init; }

    /// <summary>"path: task 'name'" (or just the path), the start of a message about the whole column.</summary>
    public string Where => Task is null ? Path : $"{Path}: task '{Task}'";
}

/// <summary>A task's metrics accumulated row by row (scalars only): <see cref="Update"/> each evaluated row, then <see cref="Compute"/>.</summary>
public interface ITaskMetrics
{
    void Update(ReadOnlySpan<float> scores, EncodedExample example);
    IMetricResult Compute();
}

/// <summary>One task's prediction for one text: what <c>predict</c> prints (<see cref="Text"/>), and its parts.</summary>
/// <param name="Task">The task.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="Label">The predicted class (classification), the labels that apply (multi-label, comma-separated) or null.</param>
/// <param name="Probabilities">Per label (classification, multi-label) or null.</param>
/// <param name="Value">The predicted value (regression) or null.</param>
/// <param name="Tags">Word and predicted tag per word (token classification) or null.</param>
public sealed record TaskPrediction(string Task, TaskKind Kind, string? Label, IReadOnlyDictionary<string, double>? Probabilities, double? Value,
    IReadOnlyList<(string Word, string Tag)>? Tags = null)
{
    /// <summary>The line <c>predict</c> prints.</summary>
    public required string Text { get; init; }

    public override string ToString() => $"{Task}: {Text}";
}

/// <summary>
/// The one registration point of task kinds: a configuration's <c>"kind"</c> is looked up here, and a new kind is one
/// more entry.
/// </summary>
public static class TaskKinds
{
    static readonly TaskKind[] All = [new ClassificationKind(), new RegressionKind(), new MultiLabelKind(), new TokenClassificationKind()];

    /// <summary>The names a configuration may write.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(k => k.Name).ToArray();

    /// <summary>The kind called <paramref name="name"/> (case-insensitive; <c>-</c> and <c>_</c> alike).</summary>
    public static TaskKind Get(string name)
    {
        var key = name?.Trim().Replace('-', '_') ?? "";
        return All.FirstOrDefault(k => string.Equals(k.Name, key, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"kind: expected one of {string.Join(", ", Names)}, found '{name}'.", nameof(name));
    }
}

/// <summary>Reads and writes a <see cref="TaskKind"/> as its name.</summary>
internal sealed class TaskKindJsonConverter : JsonConverter<TaskKind>
{
    public override TaskKind Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String) throw new JsonException($"kind: expected one of {string.Join(", ", TaskKinds.Names)} as a string, found {reader.TokenType}.");
        try { return TaskKinds.Get(reader.GetString()!); }
        catch (ArgumentException e) { throw new JsonException(e.Message, e); }
    }

    public override void Write(Utf8JsonWriter writer, TaskKind value, JsonSerializerOptions options) => writer.WriteStringValue(value.Name);
}
