using System.Globalization;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Text;
using static TorchSharp.torch;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;
using MultiTaskKit.Optim;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Training;

/// <summary>
/// Tasks that label one shared input (<c>training.shared_input</c>): one CSV/TSV file, one text column, a label or
/// target column per task, a blank cell meaning "no label for this task". Splits are carved over rows, the same rows for
/// every task, so that no text is in one task's training set and another task's test set. Training batches are rows:
/// one forward pass per batch, and each task's loss is averaged over the rows it labels
/// (<see cref="MultiTaskNetwork.Losses(IReadOnlyDictionary{string, Tensor}, IReadOnlyDictionary{string, Tensor}, IReadOnlyDictionary{string, Tensor})"/>),
/// so an unlabelled row adds nothing to that task's loss or gradient. Each task is evaluated on the rows it labels.
/// </summary>
internal sealed class SharedInputData
{
    /// <summary>The name of the one batch stream (in checkpoints, where each task otherwise has its own).</summary>
    public const string StreamName = "shared_input";

    readonly IReadOnlyList<TaskSignature> tasks;
    // Per task, per training row: its label (null: the row does not label the task).
    readonly Dictionary<string, TaskLabel?[]> labels;

    SharedInputData(IReadOnlyList<TaskSignature> tasks, IReadOnlyList<EncodedExample> train, Dictionary<string, TaskLabel?[]> labels)
    {
        this.tasks = tasks;
        Train = train;
        this.labels = labels;
    }

    /// <summary>The training rows (those with at least one label), encoded once; <see cref="EncodedExample.Index"/> is the row.</summary>
    public IReadOnlyList<EncodedExample> Train { get; }

    /// <summary>Whether training row <paramref name="row"/> carries a label for <paramref name="task"/>.</summary>
    public bool IsLabelled(string task, int row) => labels[task][row] is not null;

    /// <summary>
    /// Reads the file(s) once per task column and splits the rows: the configured val/test files, else seeded fractions
    /// of the train file's rows (the same rows for every task); a training subset is drawn over rows. Returns each task's
    /// splits (its labelled rows only, for evaluation and the model's signature) and the training rows.
    /// </summary>
    public static (IReadOnlyList<TaskSplits> Splits, IReadOnlyList<TextDataset> TrainColumns) Load(IReadOnlyList<TaskConfig> configs, ulong seed)
    {
        if (configs.Count == 0) throw new ArgumentException("configs: expected at least one task, found none.", nameof(configs));
        var first = configs[0];
        // Each task column's splits, with one label order per task (train's, or every split's: TaskData.ReadSplits).
        var read = configs.Select(t => TaskData.ReadSplits(t, allowMissing: true)).ToList();
        var trainFile = read.Select(r => r.Train).ToList();
        var valFile = first.FileOf("val") is null ? null : read.Select(r => r.Val!).ToList();
        var testFile = first.FileOf("test") is null ? null : read.Select(r => r.Test!).ToList();

        // Rows as one unstratified dataset (the tasks' labels would stratify differently), identified by position.
        TextDataset Rows(TextDataset column) => new(Path.GetFileNameWithoutExtension(column.Source), column.Split, column.Kind, [],
            column.Examples.Select((e, i) => new TextExample(i.ToString(CultureInfo.InvariantCulture), e.Text)).ToList(), column.Source);
        static int[] Positions(TextDataset rows) => rows.Examples.Select(e => int.Parse(e.Id, CultureInfo.InvariantCulture)).ToArray();
        var notes = new List<string>();
        var (trainRows, valRows, testRows) = TaskData.CarveAbsent(Rows(trainFile[0]), valFile is null, testFile is null,
            first.ValidationFraction, seed, notes, "the train file's rows");
        // A row that labels no task teaches nothing; drop it before the subset so that the subset counts useful rows.
        bool AnyLabel(int row) => trainFile.Any(c => c.Kind.LabelOf(c.Examples[row]) is not null);
        var useful = trainRows.With("train", trainRows.Examples.Where(e => AnyLabel(int.Parse(e.Id, CultureInfo.InvariantCulture))).ToList());
        if (useful.Count == 0) throw new InvalidDataException($"{first.Train}: no training row carries a label for any task.");
        var kept = Splits.Subset(useful, first.TrainSubset, SeededRandom.Derive(seed, $"subset:{StreamName}:train"));
        if (kept.Count < useful.Count) notes.Add($"train: seeded subset of {kept.Count} of {useful.Count} rows");
        var trainPositions = Positions(kept);

        var splits = new List<TaskSplits>();
        for (int i = 0; i < configs.Count; i++)
        {
            var t = configs[i];
            TextDataset LabelledOf(TextDataset column, IEnumerable<int>? positions, string split) =>
                column.With(split, (positions ?? Enumerable.Range(0, column.Count)).Select(p => column.Examples[p]).Where(e => column.Kind.LabelOf(e) is not null).ToList());
            var train = LabelledOf(trainFile[i], trainPositions, "train");
            var val = valFile is not null ? LabelledOf(valFile[i], null, "val") : LabelledOf(trainFile[i], Positions(valRows!), "val");
            var test = testFile is not null ? LabelledOf(testFile[i], null, "test") : LabelledOf(trainFile[i], Positions(testRows!), "test");
            var subsetNotes = new List<string>();
            TextDataset Sub(TextDataset d, int? n, string what)
            {
                var s = Splits.Subset(d, n, SeededRandom.Derive(seed, $"subset:{t.Name}:{what}"));
                if (s.Count < d.Count) subsetNotes.Add($"{what}: seeded subset of {s.Count} of {d.Count}");
                return s;
            }
            val = Sub(val, t.ValSubset, "val");
            test = Sub(test, t.TestSubset, "test");
            foreach (var d in new[] { train, val, test })
                if (d.Count == 0)
                    throw new InvalidDataException($"task '{t.Name}': no row of its {d.Split} split has a value in column '{t.LabelColumn}'; expected at least one labelled row.");
            var note = string.Join("; ", new[] { $"shared input, {train.Count} of {trainPositions.Length} training rows labelled" }.Concat(notes).Concat(subsetNotes));
            splits.Add(new TaskSplits(train, val, test, $"{t.Name}: {note} (seed {seed})"));
        }
        var trainColumns = trainFile.Select(c => c.With("train", trainPositions.Select(p => c.Examples[p]).ToList())).ToList();
        return (splits, trainColumns);
    }

    /// <summary>Encodes the training rows once (the text is the same in every column) and keeps each task's labels.</summary>
    public static SharedInputData Prepare(IReadOnlyList<TaskSignature> signatures, IReadOnlyList<TaskConfig> configs, IReadOnlyList<TextDataset> trainColumns, BertTokenizer tokenizer)
    {
        var first = configs[0];
        var encoder = new TaskInputEncoder(tokenizer, first.MaxTokens, ModelFactory.ToTruncation(first.Truncation));
        var encoded = trainColumns[0].Examples.Select((e, i) => encoder.Encode(e, i, null)).ToList();
        return new SharedInputData(signatures, encoded,
            signatures.Select((sig, i) => (sig.Name, trainColumns[i].Examples.Select(e => sig.Kind.LabelOf(e)).ToArray())).ToDictionary(x => x.Name, x => x.Item2));
    }

    /// <summary>
    /// One batch of rows: the padded input every task reads, and per task the rows it labels (int64 positions in the
    /// batch) with their targets (made by its kind). A task that labels no row of the batch is left out (no loss this step).
    /// </summary>
    public StepBatch Batch(IReadOnlyList<EncodedExample> rows, long padId, Device device)
    {
        var input = TaskBatch.Pad(rows, padId, device);
        long width = input.InputIds!.shape[1];
        var targetsOut = new Dictionary<string, Tensor>();
        var rowsOut = new Dictionary<string, Tensor>();
        foreach (var t in tasks)
        {
            var mine = Enumerable.Range(0, rows.Count).Where(i => IsLabelled(t.Name, rows[i].Index)).ToArray();
            if (mine.Length == 0) continue;
            rowsOut[t.Name] = tensor(mine.Select(i => (long)i).ToArray(), dtype: int64, device: device);
            targetsOut[t.Name] = t.Kind.Targets(t, mine.Select(i => rows[i] with { Label = labels[t.Name][rows[i].Index] }).ToList(), width, device);
        }
        var owned = new List<IDisposable> { input.InputIds!, input.AttentionMask! };
        if (input.TokenTypeIds is { } types) owned.Add(types);
        owned.AddRange(targetsOut.Values);
        owned.AddRange(rowsOut.Values);
        return StepBatch.Shared(input, targetsOut, rows.Sum(r => (long)r.Length), new DisposeAll(owned)) with { LabelledRows = rowsOut };
    }
}
