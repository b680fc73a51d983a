using MultiTaskKit.Data;
using MultiTaskKit.Text;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;
using MultiTaskKit.Optim;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Training;

/// <summary>A task ready to train: its configuration, splits, signature and token ids of every split.</summary>
public sealed class PreparedTask
{
    public required TaskConfig Config { get; init; }
    public required TaskSplits Splits { get; init; }
    public required TaskSignature Signature { get; init; }
    public required IReadOnlyList<EncodedExample> Train { get; init; }
    public required IReadOnlyList<EncodedExample> Validation { get; init; }
    public required IReadOnlyList<EncodedExample> Test { get; init; }
    /// <summary>The normaliser that new text must pass through before prediction (the one the training text passed through).</summary>
    public required string Normalizer { get; init; }
    public string Name => Config.Name;

    /// <summary>The normaliser a dataset's reader applied: tweets for VADER and TweetEval, IMDB's cleaning for IMDB.</summary>
    public static string NormalizerOf(TaskConfig task) =>
        BuiltInTasks.IsBuiltIn(task.Dataset) ? BuiltInTasks.NormalizerOf(task.Dataset) : task.Normalizer ?? TextNormalizer.None;

    public static PreparedTask Prepare(TaskConfig task, TaskSplits splits, BertTokenizer tokenizer)
    {
        var encoder = new TaskInputEncoder(tokenizer, task.MaxTokens, ModelFactory.ToTruncation(task.Truncation));
        IReadOnlyList<EncodedExample> Encode(TextDataset d) => d.Examples.Select((e, i) => encoder.Encode(e, i, splits.Kind.LabelOf(e))).ToList();
        return new PreparedTask
        {
            Config = task,
            Splits = splits,
            Signature = new TaskSignature(task.Name, splits.Kind, splits.LabelNames) { Threshold = task.Threshold ?? 0.5 },
            Train = Encode(splits.Train),
            Validation = Encode(splits.Validation),
            Test = Encode(splits.Test),
            Normalizer = NormalizerOf(task),
        };
    }
}
