using MultiTaskKit.Data;
using MultiTaskKit.Runtime;
using MultiTaskKit.Optim;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Runs;

/// <summary>Turns a <see cref="TaskConfig"/> into its three splits, with the configured seeded subsets applied and noted.</summary>
public static class TaskData
{
    public static TaskSplits Load(TaskConfig task, DatasetSources sources, ulong seed)
    {
        TaskSplits splits;
        if (task.Dataset == "csv")
        {
            var options = new CsvTaskOptions
            {
                TextColumn = task.TextColumn!, LabelColumn = task.LabelColumn!, Kind = task.Kind!.Value,
                LabelNames = task.Labels, Normalizer = task.Normalizer, Quotes = task.Quotes,
            };
            var train = CsvTaskReader.Read(task.Train!, options, "train", task.Name);
            if (options.Kind == TaskKind.Classification && options.LabelNames is null && !task.ManyClasses
                && train.LabelNames.Count > 2 && train.LabelNames.Count > train.Count / 2)
                throw new InvalidDataException($"{task.Train}: task '{task.Name}': column '{task.LabelColumn}' holds {train.LabelNames.Count} classes in {train.Count} rows, more than half as many classes as rows (is it an id or text column?); set \"many_classes\": true on the task if that is meant.");
            if (options.Kind == TaskKind.Classification && options.LabelNames is null)
                options = options with { LabelNames = train.LabelNames }; // other splits use train's label order
            var notes = new List<string>();
            TextDataset? val = task.Val is { } v ? CsvTaskReader.Read(v, options, "val", task.Name) : null;
            TextDataset? test = task.Test is { } t ? CsvTaskReader.Read(t, options, "test", task.Name) : null;
            var (rest, carvedVal, carvedTest) = CarveAbsent(train, val is null, test is null, task.ValidationFraction, seed, notes, "the train file");
            splits = new TaskSplits(rest, val ?? carvedVal!, test ?? carvedTest!, notes.Count == 0 ? null : $"{task.Name}: {string.Join("; ", notes)} (seed {seed})");
        }
        else
        {
            splits = BuiltInTasks.Load(task.Dataset, sources, seed, task.ValidationFraction);
        }

        var subsetNotes = new List<string>();
        TextDataset Sub(TextDataset d, int? n, string what)
        {
            var s = Splits.Subset(d, n, SeededRandom.Derive(seed, $"subset:{task.Name}:{what}"));
            if (s.Count < d.Count) subsetNotes.Add($"{what}: seeded subset of {s.Count} of {d.Count}");
            return s;
        }
        splits = new TaskSplits(
            Sub(splits.Train, task.TrainSubset, "train"),
            Sub(splits.Validation, task.ValSubset, "val"),
            Sub(splits.Test, task.TestSubset, "test"),
            string.Join("; ", new[] { splits.Note }.Concat(subsetNotes).Where(s => !string.IsNullOrEmpty(s))) is { Length: > 0 } note ? note : null);
        foreach (var d in new[] { splits.Train, splits.Validation, splits.Test })
            if (d.Count == 0) throw new InvalidDataException($"task '{task.Name}': the {d.Split} split is empty; expected at least one example.");
        return splits;
    }

    /// <summary>
    /// Carves the splits the configuration gave no file for out of <paramref name="train"/>: test first, then val, each
    /// a seeded <paramref name="fraction"/>, and notes each (<paramref name="of"/> names what they were carved from).
    /// </summary>
    internal static (TextDataset Train, TextDataset? Val, TextDataset? Test) CarveAbsent(TextDataset train, bool carveVal, bool carveTest,
        double fraction, ulong seed, List<string> notes, string of)
    {
        TextDataset? val = null, test = null;
        if (carveTest)
        {
            (train, test) = Splits.Carve(train, fraction, seed, "train", "test");
            notes.Add($"test = seeded {fraction:P0} of {of}");
        }
        if (carveVal)
        {
            (train, val) = Splits.Carve(train, fraction, seed, "train", "val");
            notes.Add($"val = seeded {fraction:P0} of {of}");
        }
        return (train, val, test);
    }
}
