namespace MultiTaskKit.Data;

/// <summary>
/// The built-in datasets with seeded, stable train/validation/test splits. Where upstream has no validation split it
/// is carved from train; the VADER tweets come as one file and are split 80/10/10. Every carve is recorded in
/// <see cref="TaskSplits.Note"/>.
/// </summary>
public static class BuiltInTasks
{
    /// <summary>One built-in dataset: the names it answers to, how its splits load, the normaliser its reader applies
    /// (which new text must pass through too), and the files its data comes from (fingerprinted by the run folder).</summary>
    sealed record Entry(string Pattern, Func<string, bool> Matches, Func<string, DatasetSources, ulong, double, TaskSplits> Load,
        string Normalizer, Func<string, DatasetSources, IEnumerable<string>> Files);

    /// <summary>The one table of built-in datasets; nothing else in the kit switches on a dataset's name.</summary>
    static readonly Entry[] Entries =
    [
        new("imdb", n => n == "imdb", (_, src, seed, f) => Imdb(src, seed, f), TextNormalizer.Imdb,
            (_, src) => File.Exists(src.ImdbPath()) ? [src.ImdbPath()] : []),
        new("vader", n => n is "vader" or VaderReader.DatasetName, (_, src, seed, _) => Vader(src, seed), TextNormalizer.Tweet,
            (_, src) => [src.VaderPath()]),
        new("tweeteval/<task>", n => n.StartsWith(TweetEvalPrefix, StringComparison.Ordinal),
            (n, src, seed, f) => TweetEval(n[TweetEvalPrefix.Length..], src, seed, f), TextNormalizer.Tweet,
            (n, src) => [src.TweetEvalPath(n[TweetEvalPrefix.Length..])]),
    ];

    const string TweetEvalPrefix = "tweeteval/";

    /// <summary>The built-in names, as a configuration writes them: <c>imdb</c>, <c>vader</c>, <c>tweeteval/&lt;task&gt;</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = Entries.Select(e => e.Pattern).ToArray();

    static Entry Find(string name) => Entries.FirstOrDefault(e => e.Matches(name))
        ?? throw new ArgumentException($"dataset: expected {string.Join(", ", Names)}, found '{name}'.", nameof(name));

    /// <summary>Names accepted by <see cref="Load"/>: <c>imdb</c>, <c>vader</c>, <c>tweeteval/&lt;task&gt;</c>.</summary>
    public static bool IsBuiltIn(string name) => Entries.Any(e => e.Matches(name));

    public static TaskSplits Load(string name, DatasetSources sources, ulong seed, double validationFraction = 0.1) =>
        Find(name).Load(name, sources, seed, validationFraction);

    /// <summary>The normaliser the reader of built-in dataset <paramref name="name"/> applies (<see cref="TextNormalizer"/>).</summary>
    public static string NormalizerOf(string name) => Find(name).Normalizer;

    /// <summary>The files (or folders) built-in dataset <paramref name="name"/> reads, for the run folder's fingerprints;
    /// throws for a name that is not built in, rather than fingerprint nothing.</summary>
    public static IEnumerable<string> DataFilesOf(string name, DatasetSources sources) => Find(name).Files(name, sources);

    /// <summary>IMDB: upstream train and test; validation carved (stratified) from train.</summary>
    public static TaskSplits Imdb(DatasetSources sources, ulong seed, double validationFraction = 0.1)
    {
        var path = sources.ImdbPath();
        var (train, test) = ImdbReader.Read(path);
        var (rest, val) = Splits.Carve(train, validationFraction, seed, "train", "val");
        return new TaskSplits(rest, val, test, $"imdb: validation = seeded {validationFraction:P0} of upstream train (seed {seed}); test = upstream test; {sources.Verification(path)}");
    }

    /// <summary>VADER tweets: one file, split 80/10/10 by a seeded shuffle.</summary>
    public static TaskSplits Vader(DatasetSources sources, ulong seed)
    {
        var path = sources.VaderPath();
        var all = VaderReader.Read(path);
        var (rest, test) = Splits.Carve(all, 0.1, seed, "train+val", "test");
        var (train, val) = Splits.Carve(rest, 1.0 / 9, seed, "train", "val");
        return new TaskSplits(train, val, test, $"vader-tweets: seeded 80/10/10 split of the {all.Count} tweets (seed {seed}); {sources.Verification(path)}");
    }

    /// <summary>
    /// TweetEval: upstream splits. When train is missing (the sentiment task in shared/data lacks <c>train_text.txt</c>),
    /// the model trains on a seeded 90% of upstream test, stops early on the other 10%, and is reported on upstream val;
    /// the note says so and must travel with every figure.
    /// </summary>
    public static TaskSplits TweetEval(string task, DatasetSources sources, ulong seed, double validationFraction = 0.1)
    {
        var dir = sources.TweetEvalPath(task);
        var splits = TweetEvalReader.ReadSplits(dir);
        var (train, val, test) = (splits["train"], splits["val"], splits["test"]);
        if (train != null && val != null && test != null) return new TaskSplits(train, val, test);
        if (train == null && val != null && test != null)
        {
            var (t, v) = Splits.Carve(test, validationFraction, seed, "train (from upstream test)", "val (from upstream test)");
            return new TaskSplits(t, v, val.With("test (upstream val)", val.Examples),
                $"tweeteval/{task}: upstream train is absent here, so the model trains on a seeded {1 - validationFraction:P0} of upstream test, stops early on the other {validationFraction:P0}, and is reported on upstream val (seed {seed})");
        }
        if (train != null && test != null)
        {
            var (t, v) = Splits.Carve(train, validationFraction, seed, "train", "val");
            return new TaskSplits(t, v, test, $"tweeteval/{task}: validation = seeded {validationFraction:P0} of upstream train (seed {seed})");
        }
        throw new FileNotFoundException($"TweetEval {task}: expected at least two of train/val/test in '{dir}', found {string.Join(", ", splits.Where(kv => kv.Value != null).Select(kv => kv.Key).DefaultIfEmpty("none"))}.");
    }
}
