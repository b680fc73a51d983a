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
        if (task.FromFile)
        {
            var notes = new List<string>();
            var (train, val, test) = ReadSplits(task, allowMissing: false);
            if (task.Labels is null) task.Kind!.CheckInferredLabels(train, task.Name, task.LabelColumn!, task.ManyClasses);
            var (rest, carvedVal, carvedTest) = CarveAbsent(train, val is null, test is null, task.ValidationFraction, seed, notes, "the train file");
            if (task.SplitColumn is not null) notes.Insert(0, $"splits by column {task.SplitColumn} ({string.Join(", ", task.SplitValues!.Select(kv => $"{kv.Key} = {kv.Value}"))})");
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
    /// Reads the splits a file task's configuration names (val and test are null when they are to be carved), every split
    /// with train's label order; for kinds whose label names come from every split
    /// (<see cref="TaskKind.LabelsFromAllSplits"/>), with the names found in any of them.
    /// </summary>
    public static (TextDataset Train, TextDataset? Val, TextDataset? Test) ReadSplits(TaskConfig task, bool allowMissing)
    {
        var train = ReadSplit(task, "train", null, allowMissing)!;
        bool fromAll = task.Kind!.LabelsFromAllSplits && task.Labels is null;
        // Each split first finds its own names when every split's count; otherwise the others take train's order.
        IReadOnlyList<string>? names = fromAll || !task.Kind.HasLabelNames ? null : train.LabelNames;
        var val = ReadSplit(task, "val", names, allowMissing);
        var test = ReadSplit(task, "test", names, allowMissing);
        if (fromAll)
        {
            // Tags (or labels) that only val or test use still need an output: name every one found, in one order.
            // Every split is then read again with those names unless it found exactly them: a split that lacks a tag
            // (CoNLL-2003's eng.testb has no NN|SYM) would otherwise number the tags after it differently from training.
            var all = new[] { train, val, test }.Where(d => d is not null).SelectMany(d => d!.LabelNames).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            TextDataset? WithAll(TextDataset? d, string split) =>
                d is null || d.LabelNames.SequenceEqual(all, StringComparer.Ordinal) ? d : ReadSplit(task, split, all, allowMissing);
            train = WithAll(train, "train")!;
            val = WithAll(val, "val");
            test = WithAll(test, "test");
        }
        return (train, val, test);
    }

    /// <summary>
    /// Reads split <paramref name="split"/> (<c>train</c>, <c>val</c>, <c>test</c>) of a file task: its own file, or the
    /// train file's rows with the split column's value; null when the configuration gives neither (carve it).
    /// <paramref name="labelNames"/>: the label order to use (the configured one when null); <paramref name="allowMissing"/>:
    /// a blank label cell means "no label for this task" (shared input).
    /// </summary>
    public static TextDataset? ReadSplit(TaskConfig task, string split, IReadOnlyList<string>? labelNames, bool allowMissing)
    {
        if (task.FileOf(split) is not { } file) return null;
        var names = labelNames ?? task.Labels;
        if (task.Dataset == TaskConfig.Conll)
            return ConllReader.Read(file.Path, new ConllTaskOptions { Columns = task.Columns!, TextColumn = task.TextColumn!, LabelColumn = task.LabelColumn!, LabelNames = names }, split, task.Name);
        return CsvTaskReader.Read(file.Path, new CsvTaskOptions
        {
            TextColumn = task.TextColumn!, PairColumn = task.TextPairColumn, LabelColumn = task.LabelColumn!, Kind = task.Kind!,
            LabelNames = names, Normalizer = task.Normalizer, Quotes = task.Quotes, Separator = task.Separator?[0],
            Columns = task.Header ? null : task.Columns, SplitColumn = file.SplitValue is null ? null : task.SplitColumn, SplitValue = file.SplitValue,
            LabelDelimiter = task.LabelDelimiter ?? ",", AllowMissing = allowMissing,
        }, split, task.Name);
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
