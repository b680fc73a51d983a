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
public sealed class SharedInputData
{
    /// <summary>The name of the one batch stream (in checkpoints, where each task otherwise has its own).</summary>
    public const string StreamName = "shared_input";

    readonly IReadOnlyList<string> tasks;
    readonly Dictionary<string, TaskKind> kinds;
    // Per task, per training row: the class index (-1: none) and the target (NaN: none).
    readonly Dictionary<string, int[]> labels;
    readonly Dictionary<string, float[]> targets;

    SharedInputData(IReadOnlyList<string> tasks, Dictionary<string, TaskKind> kinds, IReadOnlyList<EncodedExample> train,
        Dictionary<string, int[]> labels, Dictionary<string, float[]> targets)
    {
        this.tasks = tasks;
        this.kinds = kinds;
        Train = train;
        this.labels = labels;
        this.targets = targets;
    }

    /// <summary>The training rows (those with at least one label), encoded once; <see cref="EncodedExample.Index"/> is the row.</summary>
    public IReadOnlyList<EncodedExample> Train { get; }

    /// <summary>Whether training row <paramref name="row"/> carries a label for <paramref name="task"/>.</summary>
    public bool IsLabelled(string task, int row) =>
        kinds[task] == TaskKind.Classification ? labels[task][row] >= 0 : !float.IsNaN(targets[task][row]);

    /// <summary>
    /// Reads the file(s) once per task column and splits the rows: the configured val/test files, else seeded fractions
    /// of the train file's rows (the same rows for every task); a training subset is drawn over rows. Returns each task's
    /// splits (its labelled rows only, for evaluation and the model's signature) and the training rows.
    /// </summary>
    public static (IReadOnlyList<TaskSplits> Splits, IReadOnlyList<TextDataset> TrainColumns) Load(IReadOnlyList<TaskConfig> configs, ulong seed)
    {
        if (configs.Count == 0) throw new ArgumentException("configs: expected at least one task, found none.", nameof(configs));
        var first = configs[0];
        CsvTaskOptions Options(TaskConfig t, IReadOnlyList<string>? names) => new()
        {
            TextColumn = t.TextColumn!, LabelColumn = t.LabelColumn!, Kind = t.Kind!.Value, LabelNames = names ?? t.Labels,
            Normalizer = t.Normalizer, Quotes = t.Quotes, AllowMissing = true,
        };
        var trainFile = configs.Select(t => CsvTaskReader.Read(first.Train!, Options(t, null), "train", t.Name)).ToList();
        // Other files use the label order found in train.
        List<TextDataset>? ReadOther(string? path, string split) => path is null
            ? null
            : configs.Select((t, i) => CsvTaskReader.Read(path, Options(t, trainFile[i].Kind == TaskKind.Classification ? trainFile[i].LabelNames : null), split, t.Name)).ToList();
        var valFile = ReadOther(first.Val, "val");
        var testFile = ReadOther(first.Test, "test");

        // Rows as one unstratified dataset (the tasks' labels would stratify differently), identified by position.
        TextDataset Rows(TextDataset column) => new(Path.GetFileNameWithoutExtension(column.Source), column.Split, TaskKind.Regression, [],
            column.Examples.Select((e, i) => new TextExample(i.ToString(CultureInfo.InvariantCulture), e.Text)).ToList(), column.Source);
        static int[] Positions(TextDataset rows) => rows.Examples.Select(e => int.Parse(e.Id, CultureInfo.InvariantCulture)).ToArray();
        var notes = new List<string>();
        var (trainRows, valRows, testRows) = TaskData.CarveAbsent(Rows(trainFile[0]), valFile is null, testFile is null,
            first.ValidationFraction, seed, notes, "the train file's rows");
        // A row that labels no task teaches nothing; drop it before the subset so that the subset counts useful rows.
        bool AnyLabel(int row) => trainFile.Any(c => Labelled(c.Examples[row]));
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
                column.With(split, (positions ?? Enumerable.Range(0, column.Count)).Select(p => column.Examples[p]).Where(Labelled).ToList());
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
    public static SharedInputData Prepare(IReadOnlyList<TaskConfig> configs, IReadOnlyList<TextDataset> trainColumns, BertTokenizer tokenizer)
    {
        var first = configs[0];
        var truncation = ModelFactory.ToTruncation(first.Truncation);
        var rows = trainColumns[0].Examples;
        var encoded = rows.Select((e, i) => new EncodedExample(i, tokenizer.Encode(e.Text, first.MaxTokens, truncation), -1, float.NaN)).ToList();
        var names = configs.Select(c => c.Name).ToList();
        return new SharedInputData(names,
            configs.Select((c, i) => (c.Name, trainColumns[i].Kind)).ToDictionary(x => x.Name, x => x.Kind),
            encoded,
            configs.Select((c, i) => (c.Name, trainColumns[i].Examples.Select(e => e.Label).ToArray())).ToDictionary(x => x.Name, x => x.Item2),
            configs.Select((c, i) => (c.Name, trainColumns[i].Examples.Select(e => e.Target).ToArray())).ToDictionary(x => x.Name, x => x.Item2));
    }

    /// <summary>
    /// One batch of rows: the padded input every task reads, and per task the rows it labels (int64 positions in the
    /// batch) with their targets. A task that labels no row of the batch is left out (no loss this step).
    /// </summary>
    public StepBatch Batch(IReadOnlyList<EncodedExample> rows, long padId, Device device)
    {
        var input = TaskBatch.Pad(rows, padId, device);
        var targetsOut = new Dictionary<string, Tensor>();
        var rowsOut = new Dictionary<string, Tensor>();
        foreach (var t in tasks)
        {
            var mine = Enumerable.Range(0, rows.Count).Where(i => IsLabelled(t, rows[i].Index)).ToArray();
            if (mine.Length == 0) continue;
            rowsOut[t] = tensor(mine.Select(i => (long)i).ToArray(), dtype: int64, device: device);
            targetsOut[t] = kinds[t] == TaskKind.Classification
                ? tensor(mine.Select(i => (long)labels[t][rows[i].Index]).ToArray(), dtype: int64, device: device)
                : tensor(mine.Select(i => targets[t][rows[i].Index]).ToArray(), dtype: float32, device: device);
        }
        var owned = new List<IDisposable> { input.InputIds!, input.AttentionMask! };
        owned.AddRange(targetsOut.Values);
        owned.AddRange(rowsOut.Values);
        return StepBatch.Shared(input, targetsOut, rows.Sum(r => (long)r.Length), new DisposeAll(owned)) with { LabelledRows = rowsOut };
    }

    static bool Labelled(TextExample e) => e.Label >= 0 || !float.IsNaN(e.Target);
}
