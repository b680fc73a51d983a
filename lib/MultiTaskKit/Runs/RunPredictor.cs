using System.Text.Json.Nodes;
using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Text;
using MultiTaskKit.Optim;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Runs;

/// <summary>
/// A trained run loaded for prediction and scoring: the model rebuilt from <c>config.json</c> with the best (else the
/// latest) weights, the run's own <c>vocab.txt</c>, and each task's normaliser, token budget and truncation from
/// <c>tasks.json</c>, so new text goes through exactly what the training text went through. <c>mtk predict</c>,
/// <c>mtk evaluate</c> and the notebooks all use this class.
/// </summary>
public sealed class RunPredictor : IDisposable
{
    readonly BuiltModel built;
    readonly BertTokenizer tokenizer;
    readonly Dictionary<string, (TaskSignature Signature, string Normalizer, TaskInputEncoder Encoder, string Input)> tasks = new();

    public RunConfig Config { get; }
    public string RunDir { get; }
    public string WeightsPath { get; }

    /// <summary>Which weights <see cref="WeightsPath"/> holds, in words (the best validated ones, or the latest when the
    /// run folder has no best/).</summary>
    public string WeightsDescription => Path.GetFileName(Path.GetDirectoryName(WeightsPath)) == Checkpoint.BestFolder
        ? $"{Checkpoint.BestFolder}/{Checkpoint.WeightsFile} (the best validation score)"
        : $"{Checkpoint.LatestFolder}/{Checkpoint.WeightsFile} (the latest weights: no best/ in the run folder)";
    public MultiTaskNetwork Model => built.Model;
    public IReadOnlyList<string> Tasks => Config.Tasks.Select(t => t.Name).ToList();

    RunPredictor(string runDir, Precision? precision, string? device)
    {
        RunDir = Path.GetFullPath(runDir);
        var configPath = Path.Combine(RunDir, RunFolderWriter.ConfigFile);
        var tasksPath = Path.Combine(RunDir, RunFolderWriter.TasksFile);
        if (!File.Exists(tasksPath))
            throw new FileNotFoundException($"--run: expected a run folder with {RunFolderWriter.ConfigFile}, {RunFolderWriter.TasksFile} and trained weights at '{RunDir}', found no {RunFolderWriter.TasksFile}.", tasksPath);
        Config = RunConfig.Load(configPath);
        // The run's own precision (what its config.json recorded), unless the caller asks for another: the weights are
        // float32 in either case, so a run trained in one precision scores in the other.
        var target = device is null ? TorchRuntime.DefaultDevice : TorchRuntime.ResolveDevice(device);
        if (precision is { } p) Config = Config with { Runtime = Config.Runtime with { Precision = PrecisionProbe.Resolve(p, device: target) } };
        JsonObject described;
        try { described = JsonNode.Parse(File.ReadAllText(tasksPath)) as JsonObject ?? throw new InvalidDataException($"{tasksPath}: expected a JSON object of task descriptions."); }
        catch (System.Text.Json.JsonException e) { throw new InvalidDataException($"{tasksPath}: expected the run's task descriptions (JSON), found unreadable content ({e.Message}).", e); }
        var tokenizer0 = BertTokenizer.FromVocabFile(Path.Combine(RunDir, RunFolderWriter.VocabFile));
        foreach (var t in Config.Tasks)
        {
            var d = described[t.Name] ?? throw new InvalidDataException($"{tasksPath}: task '{t.Name}' of config.json is missing.");
            TaskKind kind;
            try { kind = TaskKinds.Get(d["kind"]!.GetValue<string>()); }
            catch (ArgumentException e) { throw new InvalidDataException($"{tasksPath}: task '{t.Name}': {e.Message}", e); }
            var labels = d["labels"]!.AsArray().Select(x => x!.GetValue<string>()).ToList();
            var signature = new TaskSignature(t.Name, kind, labels) { Threshold = d["threshold"]?.GetValue<double>() ?? 0.5 };
            var input = d["input"]?.GetValue<string>() ?? "text";
            tasks[t.Name] = (signature, d["normalizer"]!.GetValue<string>(), new TaskInputEncoder(tokenizer0, t.MaxTokens, ModelFactory.ToTruncation(t.Truncation)), input);
        }
        built = ModelFactory.Build(Config, Config.Tasks.Select(t => tasks[t.Name].Signature).ToList(), target);
        var names = Tasks;
        var method = MethodFactory.Create(Config.Method, names);
        built.Model.AttachStrategy(method.Weighting, "weighting");
        if (method.Aggregator is { } agg) built.Model.AttachStrategy(agg, "aggregator");
        tokenizer = tokenizer0;
        WeightsPath = new[] { Checkpoint.BestFolder, Checkpoint.LatestFolder }
            .Select(f => Path.Combine(RunDir, f, Checkpoint.WeightsFile)).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"--run: '{RunDir}' has no trained weights (best/ or checkpoint/{Checkpoint.WeightsFile}); did the run finish its first evaluation?");
        Checkpoint.LoadWeights(built.Model, WeightsPath);
        built.Model.eval();
    }

    /// <param name="runDir">A run folder written by the trainer.</param>
    /// <param name="precision">The precision to score in (<c>auto</c> resolves here); null: the run's own.</param>
    /// <param name="device">Where to score (<see cref="KitOptions.Device"/>: auto, cpu, cuda, cuda:N); null:
    /// <see cref="TorchRuntime.DefaultDevice"/>, as this process's edge configured it. The run's recorded device is not
    /// used: the weights load on any device.</param>
    public static RunPredictor Load(string runDir, Precision? precision = null, string? device = null) => new(runDir, precision, device);

    public TaskSignature Signature(string task) => tasks.TryGetValue(task, out var t)
        ? t.Signature
        : throw new ArgumentException($"task: expected one of {string.Join(", ", Tasks)}, found '{task}'.", nameof(task));

    /// <summary>What task <paramref name="task"/> reads: <c>text</c>, <c>pair</c> (two texts) or <c>words</c>.</summary>
    public string InputOf(string task) => tasks[Signature(task).Name].Input;

    /// <summary>Every task's prediction for each text (with <paramref name="pairs"/>, each text's second text, which pair
    /// tasks need; word tasks split the text at white space).</summary>
    public IReadOnlyList<IReadOnlyList<TaskPrediction>> Predict(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null)
    {
        if (texts.Count == 0) return [];
        for (int i = 0; i < texts.Count; i++)
            if (string.IsNullOrWhiteSpace(texts[i])) throw new ArgumentException($"text {i + 1}: expected non-empty text, found an empty one.", nameof(texts));
        if (pairs is not null && pairs.Count != texts.Count)
            throw new ArgumentException($"pairs: expected one second text per text ({texts.Count}), found {pairs.Count}.", nameof(pairs));
        var perText = texts.Select(_ => new List<TaskPrediction>()).ToList();
        foreach (var name in Tasks)
        {
            var (sig, normalizer, encoder, input) = tasks[name];
            if (input == "pair" && pairs is null)
                throw new ArgumentException($"task '{name}' reads sentence pairs; give the second text of each (mtk predict --pair).", nameof(pairs));
            var examples = texts.Select((t, i) =>
            {
                var text = TextNormalizer.Apply(normalizer, t);
                return input switch
                {
                    "words" => new TextExample(i.ToString(), text) { Words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) },
                    "pair" => new TextExample(i.ToString(), text) { Pair = TextNormalizer.Apply(normalizer, pairs![i]) },
                    _ => new TextExample(i.ToString(), text),
                };
            }).ToList();
            var encoded = examples.Select((e, i) => encoder.Encode(e, i, null)).ToList();
            foreach (var (ex, output) in TaskEvaluator.Predict(built.Model, sig, encoded, tokenizer.PadId))
                perText[ex.Index].Add(sig.Kind.Predict(sig, output, ex));
        }
        return perText;
    }

    public IReadOnlyList<TaskPrediction> Predict(string text, string? pair = null) => Predict([text], pair is null ? null : [pair])[0];

    /// <summary>Scores <paramref name="task"/> on a dataset already read (texts as read; the task's normaliser is applied here only for CSV files read raw).</summary>
    public IMetricResult Evaluate(string task, TextDataset data, bool normalize = false)
    {
        var (sig, normalizer, encoder, _) = tasks[Signature(task).Name];
        if (data.Kind != sig.Kind) throw new InvalidDataException($"{data.Source}: task '{task}' is {sig.Kind}, the data is {data.Kind}.");
        var encoded = data.Examples.Select((e, i) => encoder.Encode(normalize ? e with
        {
            Text = TextNormalizer.Apply(normalizer, e.Text),
            Pair = e.Pair is null ? null : TextNormalizer.Apply(normalizer, e.Pair),
        } : e, i, sig.Kind.LabelOf(e))).ToList();
        return TaskEvaluator.Evaluate(built.Model, sig, encoded, tokenizer.PadId, Config.Training.EvalBatchSize);
    }

    /// <summary>Re-scores every task on a split (<c>val</c> or <c>test</c>) of its configured data, with the run's seed and subsets.</summary>
    public MetricsReport EvaluateSplit(string split, DatasetSources sources)
    {
        // The splits are carved from the files as they were at training; changed files give other splits and labels.
        RunFolder.CheckFingerprints(RunDir, RunFolder.Fingerprints(RunFolder.DataFilesOf(Config, sources)), "evaluate");
        var evaluations = Config.Tasks.Select(t =>
        {
            var splits = TaskData.Load(t.ResolveData(sources.DataDir), sources, Config.Seed);
            var data = splits[split];
            return new TaskEvaluation(t.Name, splits.Dataset, data.Split, Evaluate(t.Name, data), splits.Note);
        }).ToList();
        return new MetricsReport(evaluations);
    }

    /// <summary>Reads a new file of <paramref name="task"/>'s data in the task's own format (its columns, separator, tag
    /// column), with the label order the model learnt; the column names can be overridden.</summary>
    public TextDataset ReadFile(string task, string path, string? textColumn = null, string? labelColumn = null)
    {
        var cfg = Config.Tasks.First(t => t.Name == Signature(task).Name);
        var sig = tasks[cfg.Name].Signature;
        if (cfg.Dataset == TaskConfig.Conll)
            return ConllReader.Read(path, new ConllTaskOptions
            {
                Columns = cfg.Columns!, TextColumn = textColumn ?? cfg.TextColumn!, LabelColumn = labelColumn ?? cfg.LabelColumn!, LabelNames = sig.LabelNames,
            }, "file");
        return CsvTaskReader.Read(path, CsvOptionsFor(task, textColumn, labelColumn), "file");
    }

    /// <summary>Label names in the order the model learnt them, for CSV files with label names.</summary>
    public CsvTaskOptions CsvOptionsFor(string task, string? textColumn = null, string? labelColumn = null)
    {
        var cfg = Config.Tasks.First(t => t.Name == Signature(task).Name);
        var sig = tasks[task].Signature;
        return new CsvTaskOptions
        {
            TextColumn = textColumn ?? cfg.TextColumn ?? "text",
            PairColumn = cfg.TextPairColumn,
            LabelColumn = labelColumn ?? cfg.LabelColumn ?? (sig.Kind.HasLabelNames ? "label" : "target"),
            Kind = sig.Kind,
            LabelNames = sig.Kind.HasLabelNames ? sig.LabelNames : null,
            Quotes = cfg.Quotes,
            Separator = cfg.Separator?[0],
            LabelDelimiter = cfg.LabelDelimiter ?? ",",
        };
    }

    public void Dispose() => built.Dispose();
}
