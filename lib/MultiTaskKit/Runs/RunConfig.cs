using System.Text.Json;
using System.Text.Json.Serialization;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runtime;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Runs;

/// <summary>
/// A whole training run as JSON (<c>mtk train --config run.json</c>; saved as <c>config.json</c> in the run folder).
/// Keys are snake_case. A new task needs no code: a built-in dataset (<c>imdb</c>, <c>vader</c>,
/// <c>tweeteval/&lt;task&gt;</c>), or <c>csv</c> / <c>conll</c> with its files, columns and kind.
/// </summary>
public sealed record RunConfig
{
    public string Name { get; init; } = "run";
    public ulong Seed { get; init; } = 42;
    public ModelConfig Model { get; init; } = new();
    public SharingConfig Sharing { get; init; } = new();
    public MethodConfig Method { get; init; } = new();
    public OptimizerConfig Optimizer { get; init; } = new();
    public TrainingConfig Training { get; init; } = new();
    public IReadOnlyList<TaskConfig> Tasks { get; init; } = [];

    /// <summary>How the run computes: device, threads, precision, the kit's kernels (<see cref="KitOptions"/>). Every run
    /// writes it to its <c>config.json</c>; a configuration without it (every run folder written before it existed) loads
    /// with the defaults, which are what such runs used unless an <c>MTK_*</c> variable said otherwise.</summary>
    public KitOptions Runtime { get; init; } = new();

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new IO.StrictJson.EnumConverter() },
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads and checks a configuration file; relative CSV paths are taken relative to the file's folder.</summary>
    public static RunConfig Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"--config: expected a JSON run configuration at '{path}', found no such file.", path);
        RunConfig? config;
        var text = File.ReadAllText(path);
        IO.StrictJson.RefuseDuplicateKeys(text, path);
        try { config = JsonSerializer.Deserialize<RunConfig>(text, Json); }
        catch (JsonException e)
        {
            // A converter's own message (an enum's allowed names) comes without the position; add it.
            var where = e.Path is { Length: > 1 } p ? $", line {e.LineNumber + 1}, at {p.TrimStart('$', '.')}" : "";
            throw new InvalidDataException($"{path}{where}: not a valid run configuration ({e.Message}).", e);
        }
        if (config is null) throw new InvalidDataException($"{path}: expected a JSON object, found null.");
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        config = config with { Tasks = config.Tasks.Select(t => t.ResolvePaths(baseDir)).ToList() };
        config.Validate(path);
        return config;
    }

    /// <summary>Checks the configuration, naming <paramref name="source"/> and the offending key.</summary>
    public void Validate(string source = "config")
    {
        RunFolder.ValidateName(Name, source);
        if (Tasks.Count == 0) throw new InvalidDataException($"{source}: 'tasks' must list at least one task, found none.");
        var dup = Tasks.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new InvalidDataException($"{source}: task names must be unique, found '{dup.Key}' {dup.Count()} times.");
        foreach (var t in Tasks) t.Validate(source);
        Sharing.Validate(source);
        if (Sharing.Plan == SharingPlanKind.CrossStitch && Tasks.Count < 2)
            throw new InvalidDataException($"{source}: sharing.plan cross_stitch mixes one trunk copy per task and needs at least 2 tasks, found {Tasks.Count}; use hard or isolated for one task.");
        Model.Validate(source);
        if (Sharing.Plan == SharingPlanKind.Split && Model.Trunk.Equals("random", StringComparison.OrdinalIgnoreCase) && Sharing.SharedLayers > Model.Layers)
            throw new InvalidDataException($"{source}: sharing.shared_layers must be at most model.layers ({Model.Layers}), found {Sharing.SharedLayers}.");
        void Check(bool ok, string key, string expected, object? found)
        {
            if (!ok) throw new InvalidDataException($"{source}: {key} must be {expected}, found {found switch { null => "null", IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture), _ => found }}.");
        }
        Check(Optimizer.Lr > 0 && double.IsFinite(Optimizer.Lr), "optimizer.lr", "a positive finite number", Optimizer.Lr);
        Check(Optimizer.HeadLr is null || (Optimizer.HeadLr > 0 && double.IsFinite(Optimizer.HeadLr.Value)), "optimizer.head_lr", "a positive finite number (or absent)", Optimizer.HeadLr);
        Check(Optimizer.WarmupFraction is >= 0 and <= 1, "optimizer.warmup_fraction", "in [0, 1]", Optimizer.WarmupFraction);
        Check(Optimizer.WeightDecay >= 0 && double.IsFinite(Optimizer.WeightDecay), "optimizer.weight_decay", "at least 0", Optimizer.WeightDecay);
        Check(Optimizer.Momentum is >= 0 and < 1, "optimizer.momentum", "in [0, 1)", Optimizer.Momentum);
        Check(Optimizer.ClipNorm is null || (Optimizer.ClipNorm > 0 && double.IsFinite(Optimizer.ClipNorm.Value)), "optimizer.clip_norm", "a positive number (or null: no clipping)", Optimizer.ClipNorm);
        Check(Training.Steps is null or > 0, "training.steps", "at least 1 (or absent: use training.epochs)", Training.Steps);
        Check(Training.Steps is null or <= TrainingConfig.MaxSteps, "training.steps", $"at most {TrainingConfig.MaxSteps}", Training.Steps);
        Check(Training.Steps is not null || (Training.Epochs > 0 && double.IsFinite(Training.Epochs)), "training.epochs", "positive when training.steps is absent", Training.Epochs);
        Check(Training.Steps is not null || Training.Epochs <= TrainingConfig.MaxEpochs, "training.epochs", $"at most {TrainingConfig.MaxEpochs}", Training.Epochs);
        Check(Training.Temperature > 0 && double.IsFinite(Training.Temperature), "training.temperature", "positive", Training.Temperature);
        Check(Training.EvalEverySteps >= 0, "training.eval_every_steps", "at least 0 (0: per epoch and at the end)", Training.EvalEverySteps);
        Check(Training.CheckpointEverySteps >= 0, "training.checkpoint_every_steps", "at least 0 (0: at evaluations and the end)", Training.CheckpointEverySteps);
        Check(Training.EarlyStoppingPatience >= 0, "training.early_stopping_patience", "at least 0 (0: never stop early)", Training.EarlyStoppingPatience);
        Check(Training.EvalBatchSize is >= 1 and <= TaskConfig.MaxBatchSize, "training.eval_batch_size", $"in [1, {TaskConfig.MaxBatchSize}]", Training.EvalBatchSize);
        // Patience counts evaluations; with none before the last step it could never act.
        bool evaluatesBeforeTheEnd = Training.EvalEverySteps > 0 || Training.EvalPerEpoch;
        Check(evaluatesBeforeTheEnd || Training.EarlyStoppingPatience == 0, "training.early_stopping_patience",
            "0 when no evaluation runs before the last step (set training.eval_every_steps, or training.eval_per_epoch true)", Training.EarlyStoppingPatience);
        Check(evaluatesBeforeTheEnd || Optimizer.PlateauPatience == 0, "optimizer.plateau_patience",
            "0 when no evaluation runs before the last step (set training.eval_every_steps, or training.eval_per_epoch true)", Optimizer.PlateauPatience);
        if (Training.SelectionMetric != "mean")
        {
            var parts = Training.SelectionMetric.Split('/');
            Check(parts.Length == 2 && Tasks.Any(t => t.Name == parts[0]), "training.selection_metric", $"'mean' or '<task>/<metric>' with a task of this run ({string.Join(", ", Tasks.Select(t => t.Name))})", $"'{Training.SelectionMetric}'");
        }
        if (Method.Weights is { } w)
        {
            Check(Method.Weighting.Equals("fixed", StringComparison.OrdinalIgnoreCase), "method.weights",
                "absent unless method.weighting is fixed (other methods compute their own weights)", $"weights with weighting '{Method.Weighting}'");
            Check(w.Count == Tasks.Count, "method.weights", $"one weight per task ({Tasks.Count})", $"{w.Count} weights");
            Check(w.All(x => x >= 0 && double.IsFinite(x)), "method.weights", "finite and at least 0", $"[{string.Join(", ", w)}]");
        }
        if (Training.SharedInput) ValidateSharedInput(source);
        if (Training.GradAccumulation < 1) throw new InvalidDataException($"{source}: training.grad_accumulation must be at least 1, found {Training.GradAccumulation}.");
        try { Runtime.Validate($"{source}: runtime"); }
        catch (ArgumentException e) { throw new InvalidDataException(e.Message, e); }
        if (!(Optimizer.FinalLrFraction >= 0 && Optimizer.FinalLrFraction <= 1)) throw new InvalidDataException($"{source}: optimizer.final_lr_fraction must be in [0, 1], found {Optimizer.FinalLrFraction}.");
        if (!(Optimizer.Power > 0)) throw new InvalidDataException($"{source}: optimizer.power must be above 0, found {Optimizer.Power}.");
        if (Optimizer.PlateauPatience < 0) throw new InvalidDataException($"{source}: optimizer.plateau_patience must be 0 (off) or more, found {Optimizer.PlateauPatience}.");
        if (!(Optimizer.PlateauFactor > 0 && Optimizer.PlateauFactor < 1)) throw new InvalidDataException($"{source}: optimizer.plateau_factor must be in (0, 1), found {Optimizer.PlateauFactor}.");
        if (!(Optimizer.PlateauMinFraction >= 0 && Optimizer.PlateauMinFraction <= 1)) throw new InvalidDataException($"{source}: optimizer.plateau_min_fraction must be in [0, 1], found {Optimizer.PlateauMinFraction}.");
        if (Training.MixingEvery < 0) throw new InvalidDataException($"{source}: training.mixing_every must be 0 (never) or more, found {Training.MixingEvery}.");
        if (Training.GradientDiagnosticsEvery < 1) throw new InvalidDataException($"{source}: training.gradient_diagnostics_every must be at least 1 (1: every step), found {Training.GradientDiagnosticsEvery}.");
    }

    /// <summary>training.shared_input: every task a CSV task over the same rows, read and batched alike.</summary>
    void ValidateSharedInput(string source)
    {
        if (Training.Sampling != SamplingMode.AllTasks)
            throw new InvalidDataException($"{source}: training.sampling must be all_tasks with training.shared_input (every task reads every batch), found {JsonNamingPolicy.SnakeCaseLower.ConvertName(Training.Sampling.ToString())}.");
        var first = Tasks[0];
        foreach (var t in Tasks)
        {
            if (!t.FromFile || t.Dataset != first.Dataset)
                throw new InvalidDataException($"{source}: task '{t.Name}': dataset must be csv (or conll) for every task with training.shared_input (one file, a label column per task), found '{t.Dataset}' against task '{first.Name}''s '{first.Dataset}'.");
            void Same(string key, object? mine, object? theirs)
            {
                if (!Equals(mine, theirs))
                    throw new InvalidDataException($"{source}: task '{t.Name}': {key} must equal task '{first.Name}''s with training.shared_input (the tasks read the same rows), found {mine ?? "null"} against {theirs ?? "null"}.");
            }
            Same("train", t.Train, first.Train);
            Same("val", t.Val, first.Val);
            Same("test", t.Test, first.Test);
            Same("text_column", t.TextColumn, first.TextColumn);
            Same("text_pair_column", t.TextPairColumn, first.TextPairColumn);
            Same("separator", t.Separator, first.Separator);
            Same("header", t.Header, first.Header);
            Same("columns", t.Columns is null ? null : string.Join(",", t.Columns), first.Columns is null ? null : string.Join(",", first.Columns));
            Same("split_column", t.SplitColumn, first.SplitColumn);
            Same("split_values", t.SplitValues is null ? null : string.Join(",", t.SplitValues.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}")),
                first.SplitValues is null ? null : string.Join(",", first.SplitValues.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}")));
            Same("quotes", t.Quotes, first.Quotes);
            Same("normalizer", t.Normalizer, first.Normalizer);
            Same("max_tokens", t.MaxTokens, first.MaxTokens);
            Same("truncation", t.Truncation, first.Truncation);
            Same("batch_size", t.BatchSize, first.BatchSize);
            Same("train_subset", t.TrainSubset, first.TrainSubset);
            Same("validation_fraction", t.ValidationFraction, first.ValidationFraction);
        }
    }
}

/// <summary>The trunk: <c>minilm</c> (the embedded all-MiniLM-L6-v2), a Hugging Face folder or model id, <c>random</c> (a
/// freshly initialised BERT of the given size, for tests), or <c>mlp</c> (a small MLP over a bag of token embeddings:
/// <see cref="Models.MlpTrunk"/> with MiniLM's vocabulary, <see cref="Hidden"/> wide, <see cref="Layers"/> deep).</summary>
public sealed record ModelConfig
{
    public string Trunk { get; init; } = "minilm";
    /// <summary>For <c>random</c> (and <c>mlp</c>: hidden size and layers): hidden size, layers, heads, feed-forward size. The vocabulary is MiniLM's.</summary>
    public int Hidden { get; init; } = 32;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 2;
    public int Intermediate { get; init; } = 64;
    /// <summary>Pooling of the last hidden state: <c>mean</c> (under the attention mask) or <c>cls</c>.</summary>
    public string Pooling { get; init; } = "mean";
    /// <summary>Dropout override for the trunk (null keeps the checkpoint's).</summary>
    public double? Dropout { get; init; }
    /// <summary>Dropout before each task head.</summary>
    public double HeadDropout { get; init; } = 0.1;

    /// <summary>Largest sizes a <c>random</c> trunk may ask for: far beyond any test, far below what would exhaust memory.</summary>
    public const int MaxHidden = 4096, MaxLayers = 48, MaxHeads = 64, MaxIntermediate = 16384;

    internal void Validate(string source)
    {
        void Range(int v, int max, string key)
        {
            if (v < 1 || v > max) throw new InvalidDataException($"{source}: model.{key} must be in [1, {max}], found {v}.");
        }
        if (Trunk.Equals("random", StringComparison.OrdinalIgnoreCase))
        {
            Range(Hidden, MaxHidden, "hidden"); Range(Layers, MaxLayers, "layers"); Range(Heads, MaxHeads, "heads"); Range(Intermediate, MaxIntermediate, "intermediate");
            if (Hidden % Heads != 0) throw new InvalidDataException($"{source}: model.hidden ({Hidden}) must be a multiple of model.heads ({Heads}).");
        }
        if (Trunk.Equals("mlp", StringComparison.OrdinalIgnoreCase))
        {
            Range(Hidden, MaxHidden, "hidden");
            if (Layers < 0 || Layers > MaxLayers) throw new InvalidDataException($"{source}: model.layers must be in [0, {MaxLayers}], found {Layers}.");
        }
        if (Dropout is { } d && d is not (>= 0 and < 1)) throw new InvalidDataException($"{source}: model.dropout must be in [0, 1), found {d}.");
        if (HeadDropout is not (>= 0 and < 1)) throw new InvalidDataException($"{source}: model.head_dropout must be in [0, 1), found {HeadDropout}.");
        if (Pooling.ToLowerInvariant() is not ("mean" or "cls" or "pooler")) throw new InvalidDataException($"{source}: model.pooling must be mean, cls or pooler, found '{Pooling}'.");
    }
}

/// <summary>Loss weighting and gradient aggregation by name (see the weighting and aggregation folders), with fixed weights for <c>fixed</c>.</summary>
public sealed record MethodConfig
{
    public string Weighting { get; init; } = "ew";
    public string? Aggregation { get; init; }
    public IReadOnlyList<double>? Weights { get; init; }
}

public sealed record TrainingConfig
{
    /// <summary>Optimizer steps; when null, <see cref="Epochs"/> over the largest task.</summary>
    public long? Steps { get; init; }
    /// <summary>The most <see cref="Steps"/> a run may ask for (a billion: years of steps on any machine).</summary>
    public const long MaxSteps = 1_000_000_000;
    /// <summary>The most <see cref="Epochs"/> a run may ask for.</summary>
    public const double MaxEpochs = 1_000_000;
    public double Epochs { get; init; } = 1;
    public SamplingMode Sampling { get; init; } = SamplingMode.AllTasks;
    /// <summary>
    /// Every task labels the same rows of one CSV/TSV file (one text column, a label or target column per task, a blank
    /// cell meaning "no label for this task"): one forward pass per batch, each task's loss averaged over the rows it
    /// labels (<c>SharedInputData</c> (the training loop)). Needed by the methods that take gradients with respect to the shared
    /// representation (mgda-ub). The tasks must name the same files, text column, token budget and batch size.
    /// </summary>
    public bool SharedInput { get; init; }
    public double Temperature { get; init; } = 2.0;
    public bool LengthBucketing { get; init; } = true;
    public int GradAccumulation { get; init; } = 1;
    /// <summary>Evaluate on validation every N optimizer steps (0: only per epoch / at the end).</summary>
    public long EvalEverySteps { get; init; }
    public bool EvalPerEpoch { get; init; } = true;
    /// <summary><c>task/metric</c> (e.g. <c>imdb/accuracy</c>) or <c>mean</c> (mean of each task's main metric, direction-aware). Used for early stopping and the best checkpoint.</summary>
    public string SelectionMetric { get; init; } = "mean";
    /// <summary>Evaluations without improvement before stopping (0: never stop early).</summary>
    public int EarlyStoppingPatience { get; init; }
    /// <summary>Save a resumable checkpoint every N optimizer steps (0: only at evaluations and the end).</summary>
    public long CheckpointEverySteps { get; init; } = 50;
    public int EvalBatchSize { get; init; } = 64;
    /// <summary>
    /// Take each task's gradient separately even for weighting-only methods, so that history.csv gets gradient norms,
    /// cosines and conflicts, every <see cref="GradientDiagnosticsEvery"/> steps. The update is the same either way (the
    /// task gradients are summed); only the step's cost differs.
    /// </summary>
    public bool GradientDiagnostics { get; init; } = true;
    /// <summary>
    /// How often <see cref="GradientDiagnostics"/> samples the task gradients, in optimizer steps (1: every step).
    /// A sampled step takes one backward per task instead of one in all (its cost is in <c>bench/README.md</c>), so the
    /// default samples one step in 10, which still draws the cosine curve with 25 points over the quick preset's 250 steps.
    /// </summary>
    public int GradientDiagnosticsEvery { get; init; } = 10;
    /// <summary>Record the architecture's learned mixing (cross-stitch α, gate usage, attention over layers) into the
    /// history every N optimizer steps (0: never), for the mixing chart. A few numbers per record; nothing for
    /// architectures that mix nothing.</summary>
    public int MixingEvery { get; init; } = 10;
}

public enum TruncationMode { Head, Tail, HeadTail }

/// <summary>One task: where its data comes from, what it predicts, and how its text becomes tokens.</summary>
public sealed record TaskConfig
{
    public required string Name { get; init; }
    /// <summary><c>imdb</c>, <c>vader</c>, <c>tweeteval/&lt;task&gt;</c>, or a file task: <c>csv</c> (a delimited file,
    /// comma- or tab-separated) or <c>conll</c> (a CoNLL column file, one token a line).</summary>
    public required string Dataset { get; init; }
    /// <summary>For file tasks: <c>classification</c>, <c>regression</c>, <c>multi_label</c> or <c>token_classification</c>
    /// (<see cref="TaskKinds"/>). Built-in datasets know their kind.</summary>
    public TaskKind? Kind { get; init; }
    /// <summary>For file tasks: the training file, and optional validation and test files (carved from train when absent,
    /// or taken from the train file's <see cref="SplitColumn"/>).</summary>
    public string? Train { get; init; }
    public string? Val { get; init; }
    public string? Test { get; init; }
    /// <summary>The text column (for <c>conll</c>: the field that holds the word).</summary>
    public string? TextColumn { get; init; }
    /// <summary>For sentence pairs: the column of the second text (<c>[CLS] a [SEP] b [SEP]</c>, segment ids 0 and 1).</summary>
    public string? TextPairColumn { get; init; }
    /// <summary>The label column (for <c>conll</c>: the field that holds the task's tag).</summary>
    public string? LabelColumn { get; init; }
    public IReadOnlyList<string>? Labels { get; init; }
    /// <summary>For <c>csv</c>: whether double quotes enclose fields (null: yes for comma-separated files, no for tab-separated ones).</summary>
    public bool? Quotes { get; init; }
    /// <summary>For <c>csv</c>: the field separator, one character (null: tab for <c>.tsv</c> and <c>.tab</c> files, else comma).</summary>
    public string? Separator { get; init; }
    /// <summary>For <c>csv</c>: whether the first line names the columns (default true); without a header,
    /// <see cref="Columns"/> names them. For <c>conll</c>, <see cref="Columns"/> names the fields of a line.</summary>
    public bool Header { get; init; } = true;
    public IReadOnlyList<string>? Columns { get; init; }
    /// <summary>For <c>csv</c>: a column saying which split each row belongs to (SICK's <c>SemEval_set</c>), with
    /// <see cref="SplitValues"/> mapping <c>train</c>, <c>val</c> and <c>test</c> to its values; a split without a value
    /// (and without its own file) is carved from train.</summary>
    public string? SplitColumn { get; init; }
    public IReadOnlyDictionary<string, string>? SplitValues { get; init; }
    /// <summary>For <c>multi_label</c>: what separates the labels in one cell (default <c>,</c>).</summary>
    public string? LabelDelimiter { get; init; }
    /// <summary>For <c>multi_label</c>: the probability at which a label is predicted (default 0.5).</summary>
    public double? Threshold { get; init; }
    /// <summary>The trunk layer (1..L) whose output the task reads (null: the top). <c>hard</c>, <c>split</c> and
    /// <c>isolated</c> only: POS can read layer 2 while NER reads layer 6 (Søgaard &amp; Goldberg 2016).</summary>
    public int? Depth { get; init; }
    /// <summary>Text normaliser (<c>none</c>, <c>tweet</c>, <c>imdb</c>); CSV tasks default to none, built-ins apply their own when read.</summary>
    public string? Normalizer { get; init; }
    public int MaxTokens { get; init; } = 128;
    public TruncationMode Truncation { get; init; } = TruncationMode.HeadTail;
    public int BatchSize { get; init; } = 16;
    /// <summary>The largest <see cref="BatchSize"/> (and <c>training.eval_batch_size</c>).</summary>
    public const int MaxBatchSize = 65536;
    /// <summary>For classification: allow more classes than half the training rows (otherwise refused, as the sign of a
    /// label column that holds ids or text).</summary>
    public bool ManyClasses { get; init; }
    /// <summary>Seeded training subset size (null: all).</summary>
    public int? TrainSubset { get; init; }
    /// <summary>Seeded validation subset size (null: all).</summary>
    public int? ValSubset { get; init; }
    /// <summary>Seeded test subset size (null: all); reported with the figures.</summary>
    public int? TestSubset { get; init; }
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>File task formats: a delimited file (<c>csv</c>) or CoNLL columns (<c>conll</c>).</summary>
    public const string Csv = "csv", Conll = "conll";

    /// <summary>Whether the task reads its own files (<see cref="Csv"/> or <see cref="Conll"/>) rather than a built-in dataset.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool FromFile => Dataset is Csv or Conll;

    /// <summary>The file (and, with a split column, its value) that holds <paramref name="split"/> (<c>train</c>,
    /// <c>val</c>, <c>test</c>); null when the split is to be carved from train.</summary>
    public (string Path, string? SplitValue)? FileOf(string split)
    {
        var own = split switch { "train" => Train, "val" => Val, "test" => Test, _ => throw new ArgumentException($"split: expected train, val or test, found '{split}'.", nameof(split)) };
        if (SplitColumn is null) return own is null ? null : (own, null);
        if (SplitValues?.GetValueOrDefault(split) is not { } value) return own is null ? null : (own, null);
        return (own ?? Train!, value);
    }

    /// <summary>The prefix of a file path inside the data folder (<c>"train": "data:sick/SICK.txt"</c>): <c>--data-dir</c>,
    /// <c>MTK_DATA_DIR</c>, or a <c>shared/data</c> folder beside the working folder or one of its ancestors.</summary>
    public const string DataPrefix = "data:";

    internal TaskConfig ResolvePaths(string baseDir)
    {
        string? R(string? p) => p is null || p.StartsWith(DataPrefix, StringComparison.Ordinal) || Path.IsPathRooted(p) ? p : Path.GetFullPath(Path.Combine(baseDir, p));
        return this with { Train = R(Train), Val = R(Val), Test = R(Test) };
    }

    /// <summary>The task with its <c>data:</c> paths made paths inside <paramref name="dataDir"/> (the data folder).</summary>
    public TaskConfig ResolveData(string? dataDir)
    {
        string? R(string? p, string key)
        {
            if (p is null || !p.StartsWith(DataPrefix, StringComparison.Ordinal)) return p;
            if (dataDir is null)
                throw new DirectoryNotFoundException($"task '{Name}': {key} '{p}' is in the data folder, and there is none: pass --data-dir, set MTK_DATA_DIR, or run beside a shared/data folder.");
            return Path.GetFullPath(Path.Combine(dataDir, p[DataPrefix.Length..]));
        }
        return this with { Train = R(Train, "train"), Val = R(Val, "val"), Test = R(Test, "test") };
    }

    internal void Validate(string source)
    {
        if (string.IsNullOrWhiteSpace(Name) || Name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
            throw new InvalidDataException($"{source}: task name must be letters, digits, '_' or '-', found '{Name}'.");
        if (MaxTokens < 3) throw new InvalidDataException($"{source}: task '{Name}': max_tokens must be at least 3, found {MaxTokens}.");
        if (BatchSize is < 1 or > MaxBatchSize) throw new InvalidDataException($"{source}: task '{Name}': batch_size must be in [1, {MaxBatchSize}], found {BatchSize}.");
        foreach (var (key, value) in new[] { ("train_subset", TrainSubset), ("val_subset", ValSubset), ("test_subset", TestSubset) })
            if (value is < 1) throw new InvalidDataException($"{source}: task '{Name}': {key} must be at least 1 (or absent: all), found {value}.");
        if (ValidationFraction is not (> 0 and < 1)) throw new InvalidDataException($"{source}: task '{Name}': validation_fraction must be in (0, 1), found {ValidationFraction}.");
        if (Depth is < 1) throw new InvalidDataException($"{source}: task '{Name}': depth must be at least 1 (a trunk layer, 1 = the lowest), found {Depth}.");
        if (Threshold is { } th && !(th > 0 && th < 1)) throw new InvalidDataException($"{source}: task '{Name}': threshold must be in (0, 1), found {th}.");
        if (Separator is { Length: not 1 }) throw new InvalidDataException($"{source}: task '{Name}': separator must be one character (\"\\t\" for tab), found '{Separator}'.");
        if (FromFile)
        {
            if (Train is null) throw new InvalidDataException($"{source}: task '{Name}': a {Dataset} task needs 'train' (its file).");
            if (TextColumn is null || LabelColumn is null) throw new InvalidDataException($"{source}: task '{Name}': a {Dataset} task needs 'text_column' and 'label_column'.");
            if (Kind is null) throw new InvalidDataException($"{source}: task '{Name}': a {Dataset} task needs 'kind' ({string.Join(", ", TaskKinds.Names)}).");
            if (TextColumn == LabelColumn || (TextPairColumn is not null && TextPairColumn == LabelColumn))
                throw new InvalidDataException($"{source}: task '{Name}': label_column must differ from {(TextColumn == LabelColumn ? "text_column" : "text_pair_column")}, found '{LabelColumn}' for both (the task would learn to predict its own input).");
            if ((Dataset == Conll) != Kind.ReadsTokens)
                throw new InvalidDataException($"{source}: task '{Name}': kind {Kind.Name} reads {(Kind.ReadsTokens ? "words, from a conll file" : "rows of a csv file")}, found dataset '{Dataset}'.");
            if (Dataset == Conll && Columns is not { Count: > 0 })
                throw new InvalidDataException($"{source}: task '{Name}': a conll task needs 'columns', the names of a line's fields (CoNLL-2003: [\"token\", \"pos\", \"chunk\", \"ner\"]).");
            if (!Header && Columns is not { Count: > 0 })
                throw new InvalidDataException($"{source}: task '{Name}': a file without a header (\"header\": false) needs 'columns', the names of its fields.");
            if ((SplitColumn is null) != (SplitValues is null))
                throw new InvalidDataException($"{source}: task '{Name}': split_column and split_values go together (e.g. \"split_column\": \"SemEval_set\", \"split_values\": {{\"train\": \"TRAIN\", \"val\": \"TRIAL\", \"test\": \"TEST\"}}).");
            foreach (var key in SplitValues?.Keys ?? [])
                if (key is not ("train" or "val" or "test")) throw new InvalidDataException($"{source}: task '{Name}': split_values keys must be train, val or test, found '{key}'.");
            if (SplitValues is not null && !SplitValues.ContainsKey("train")) throw new InvalidDataException($"{source}: task '{Name}': split_values needs 'train'.");
        }
        else if (!BuiltInTasks.IsBuiltIn(Dataset))
            throw new InvalidDataException($"{source}: task '{Name}': dataset must be {string.Join(", ", BuiltInTasks.Names)}, csv or conll, found '{Dataset}'.");
    }
}
