using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.IO;
using MultiTaskKit.Runtime;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Sweeps;

/// <summary>
/// A sweep: cells over configuration keys, each with a stable index and its own run folder, saved as
/// <c>sweep.json</c> in the sweep folder beside the scheduler files (<see cref="SchedulerFiles"/>).
/// <list type="bullet">
/// <item><b>grid</b>: every combination of the axes' values, the last axis varying fastest (index = mixed-radix number
/// of the value positions), so the same axes give the same indices on every machine;</item>
/// <item><b>random</b>: <c>samples</c> distinct combinations drawn from that grid by a seeded shuffle (the kit's
/// SplitMix64 stream; Bergstra &amp; Bengio, JMLR 2012, on random search), numbered in draw order.</item>
/// </list>
/// A plan may also carry any JSON under <see cref="Extra"/> (a comparison keeps its variants and seeds there).
/// </summary>
public sealed record SweepPlan
{
    public const string File = "sweep.json";
    public const int FormatVersion = 1;

    /// <summary><c>grid</c>, <c>random</c> or <c>compare</c>.</summary>
    public required string Kind { get; init; }
    public required IReadOnlyList<SweepCell> Cells { get; init; }
    /// <summary>The axes as given (key → values).</summary>
    public IReadOnlyList<(string Key, IReadOnlyList<JsonNode?> Values)> Axes { get; init; } = [];
    /// <summary>For <c>random</c>: the sampling seed.</summary>
    public ulong? SampleSeed { get; init; }
    public JsonObject? Extra { get; init; }

    /// <summary>The cells of a grid (or, with <paramref name="samples"/>, a seeded random sample of it) over <paramref name="axes"/>.</summary>
    public static SweepPlan Create(RunConfig baseConfig, IReadOnlyList<(string Key, IReadOnlyList<JsonNode?> Values)> axes, int? samples = null, ulong sampleSeed = 0)
    {
        ArgumentNullException.ThrowIfNull(baseConfig);
        if (axes.Count == 0) throw new ArgumentException("sweep: expected at least one axis (--set key=v1,v2), found none.", nameof(axes));
        var dupKey = axes.GroupBy(a => a.Key).FirstOrDefault(g => g.Count() > 1);
        if (dupKey != null) throw new ArgumentException($"sweep: key '{dupKey.Key}' is given twice; list all its values in one --set.", nameof(axes));
        long total = axes.Aggregate(1L, (n, a) => checked(n * a.Values.Count));
        if (total > 100_000) throw new ArgumentException($"sweep: the grid has {total} cells; expected at most 100,000 (sample it with --random N).", nameof(axes));
        IEnumerable<long> order;
        if (samples is { } k)
        {
            if (k < 1 || k > total) throw new ArgumentException($"--random: expected between 1 and the grid's {total} cells, found {k}.", nameof(samples));
            var all = Enumerable.Range(0, (int)total).Select(i => (long)i).ToList();
            new SeededRandom(SeededRandom.Derive(sampleSeed, "sweep-sample")).Shuffle(all);
            order = all.Take(k);
        }
        else order = Enumerable.Range(0, (int)total).Select(i => (long)i);
        var cells = new List<SweepCell>();
        foreach (var position in order)
        {
            var keys = new List<KeyValuePair<string, JsonNode?>>();
            long rest = position;
            var digits = new int[axes.Count];
            for (int a = axes.Count - 1; a >= 0; a--) { digits[a] = (int)(rest % axes[a].Values.Count); rest /= axes[a].Values.Count; }
            for (int a = 0; a < axes.Count; a++) keys.Add(new(axes[a].Key, axes[a].Values[digits[a]]?.DeepClone()));
            int index = cells.Count;
            cells.Add(MakeCell(baseConfig, index, keys, new Dictionary<string, string>()));
        }
        return new SweepPlan { Kind = samples is null ? "grid" : "random", Cells = cells, Axes = axes, SampleSeed = samples is null ? null : sampleSeed };
    }

    /// <summary>A cell with its configuration: the base with the keys set, named <c>&lt;base&gt;-&lt;index&gt;</c>.</summary>
    public static SweepCell MakeCell(RunConfig baseConfig, int index, IReadOnlyList<KeyValuePair<string, JsonNode?>> keys, IReadOnlyDictionary<string, string> labels, string? id = null)
    {
        var config = SweepKeys.Apply(baseConfig, keys, $"sweep cell {index}");
        config = config with { Name = TrimName($"{baseConfig.Name}-{index:D4}") };
        id ??= keys.Count == 0 ? $"cell{index}" : string.Join(",", keys.Select(k => $"{k.Key}={SweepKeys.Format(k.Value)}"));
        return new SweepCell(index, id, keys.ToDictionary(k => k.Key, k => k.Value), labels, config, SweepCell.FolderOf(index));
    }

    static string TrimName(string name) => name.Length <= 100 ? name : name[^100..].TrimStart('.');

    /// <summary>The cell with index <paramref name="index"/>; a clear error names the valid range.</summary>
    public SweepCell Cell(int index) =>
        index >= 0 && index < Cells.Count ? Cells[index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"--cell: expected an index from 0 to {Cells.Count - 1} (the sweep has {Cells.Count} cells), found {index}.");

    public JsonObject ToJson()
    {
        var axes = new JsonObject();
        foreach (var (key, values) in Axes) axes[key] = new JsonArray(values.Select(v => v?.DeepClone()).ToArray());
        var cells = new JsonArray();
        foreach (var c in Cells)
        {
            var keys = new JsonObject();
            foreach (var (k, v) in c.Keys) keys[k] = v?.DeepClone();
            var labels = new JsonObject();
            foreach (var (k, v) in c.Labels) labels[k] = v;
            cells.Add(new JsonObject
            {
                ["index"] = c.Index, ["id"] = c.Id, ["run_dir"] = c.RunDir, ["keys"] = keys, ["labels"] = labels,
                ["config"] = JsonNode.Parse(c.Config.ToJson()),
            });
        }
        var o = new JsonObject { ["format"] = FormatVersion, ["kind"] = Kind, ["cell_count"] = Cells.Count, ["axes"] = axes };
        if (SampleSeed is { } s) o["sample_seed"] = s;
        if (Extra is not null) o["extra"] = Extra.DeepClone();
        o["cells"] = cells;
        return o;
    }

    /// <summary>Writes <c>sweep.json</c> and the scheduler files into <paramref name="sweepDir"/>; refuses a folder
    /// that holds another plan (a sweep's indices must never change under its cells' run folders).</summary>
    public void Save(string sweepDir, SchedulerOptions? scheduler = null)
    {
        var dir = Path.GetFullPath(sweepDir);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, File);
        var text = ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        if (System.IO.File.Exists(path))
        {
            var existing = Load(dir);
            if (existing.Cells.Count != Cells.Count || existing.Cells.Zip(Cells).Any(p => p.First.Id != p.Second.Id || p.First.Config.ToJson() != p.Second.Config.ToJson()))
                throw new IOException($"{path}: the folder holds another sweep plan ({existing.Cells.Count} cells); a plan's cells keep their indices, so choose another --out (or delete the folder).");
        }
        AtomicFile.WriteAllText(path, text);
        SchedulerFiles.Write(dir, this, scheduler ?? new SchedulerOptions());
    }

    /// <summary>Reads <c>sweep.json</c> of <paramref name="sweepDir"/>; a malformed file is named with the key at fault.</summary>
    public static SweepPlan Load(string sweepDir)
    {
        var path = Path.Combine(Path.GetFullPath(sweepDir), File);
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"--dir: expected a sweep folder with {File} (written by mtk sweep plan or mtk compare), found no {path}.", path);
        JsonObject root;
        try { root = JsonNode.Parse(System.IO.File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: expected a JSON object."); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e); }
        T Get<T>(JsonNode? node, string key) => node is JsonValue v && v.TryGetValue<T>(out var x) ? x : throw new InvalidDataException($"{path}: '{key}' is missing or of the wrong type.");
        if (Get<int>(root["format"], "format") != FormatVersion) throw new InvalidDataException($"{path}: 'format' must be {FormatVersion}, found {root["format"]}.");
        var axes = new List<(string, IReadOnlyList<JsonNode?>)>();
        if (root["axes"] is JsonObject ax)
            foreach (var (k, v) in ax) axes.Add((k, (v as JsonArray ?? throw new InvalidDataException($"{path}: axes.{k} must be a list.")).Select(x => x?.DeepClone()).ToList()));
        var cells = new List<SweepCell>();
        var list = root["cells"] as JsonArray ?? throw new InvalidDataException($"{path}: 'cells' must be a list.");
        for (int i = 0; i < list.Count; i++)
        {
            var c = list[i] as JsonObject ?? throw new InvalidDataException($"{path}: cells[{i}] must be an object.");
            int index = Get<int>(c["index"], $"cells[{i}].index");
            if (index != i) throw new InvalidDataException($"{path}: cells[{i}].index must be {i}, found {index}.");
            var keys = (c["keys"] as JsonObject ?? new JsonObject()).ToDictionary(kv => kv.Key, kv => kv.Value?.DeepClone());
            var labels = (c["labels"] as JsonObject ?? new JsonObject()).ToDictionary(kv => kv.Key, kv => Get<string>(kv.Value, $"cells[{i}].labels.{kv.Key}"));
            RunConfig config;
            try { config = (c["config"] ?? throw new InvalidDataException($"{path}: cells[{i}].config is missing.")).Deserialize<RunConfig>(RunConfig.Json)!; }
            catch (JsonException e) { throw new InvalidDataException($"{path}: cells[{i}].config is not a valid run configuration ({e.Message}).", e); }
            config.Validate($"{path}: cells[{i}].config");
            var runDir = Get<string>(c["run_dir"], $"cells[{i}].run_dir");
            if (runDir != SweepCell.FolderOf(index)) throw new InvalidDataException($"{path}: cells[{i}].run_dir must be '{SweepCell.FolderOf(index)}', found '{runDir}'.");
            cells.Add(new SweepCell(index, Get<string>(c["id"], $"cells[{i}].id"), keys, labels, config, runDir));
        }
        return new SweepPlan
        {
            Kind = Get<string>(root["kind"], "kind"), Cells = cells, Axes = axes,
            SampleSeed = root["sample_seed"] is JsonValue sv && sv.TryGetValue<ulong>(out var seed) ? seed : null,
            Extra = root["extra"] is JsonObject extra ? (JsonObject)extra.DeepClone() : null,
        };
    }
}
