using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.Evaluation;
using MultiTaskKit.IO;
using MultiTaskKit.Runtime;
using MultiTaskKit.Optim;
using MultiTaskKit.Data;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Runs;

/// <summary>
/// Writes what a run folder holds besides its checkpoints: <c>config.json</c> (the run's whole configuration, runtime
/// options included), <c>vocab.txt</c> and <c>tasks.json</c> (what prediction needs), <c>history.csv</c>,
/// <c>metrics.json</c> and <c>test_predictions.csv</c>. Every file is written atomically. New files a run should leave go here.
/// </summary>
internal sealed class RunFolderWriter(string runDir)
{
    public const string ConfigFile = "config.json";
    public const string TasksFile = "tasks.json";
    public const string VocabFile = "vocab.txt";
    public const string HistoryFile = "history.csv";
    public const string MetricsFile = "metrics.json";

    public string RunDir { get; } = Path.GetFullPath(runDir);

    /// <summary>
    /// Creates the folder and writes <c>config.json</c>. A new run refuses a folder that holds a checkpoint and removes
    /// results an older run left; a resumed run must bring the configuration it was started with.
    /// </summary>
    public void Prepare(RunConfig config, bool resume)
    {
        var configPath = Path.Combine(RunDir, ConfigFile);
        if (!resume && Checkpoint.HasLatest(RunDir))
            throw new IOException($"run folder '{RunDir}' already holds a checkpoint; pass --resume to continue it, or choose another --out.");
        if (resume && File.Exists(configPath))
        {
            var saved = RunConfig.Load(configPath);
            // The runtime may change between sessions (another machine, other threads); config.json records the latest.
            var diffs = RunFolder.DiffJson(saved.ToJson(), (config with { Runtime = saved.Runtime }).ToJson());
            if (diffs.Count > 0)
                throw new InvalidDataException($"--resume: the configuration differs from the one saved in '{configPath}' at {string.Join("; ", diffs.Take(5))}{(diffs.Count > 5 ? $"; and {diffs.Count - 5} more" : "")}; resume with the same configuration.");
        }
        Directory.CreateDirectory(RunDir);
        // A new run must not leave results of an older one beside its own.
        if (!resume)
            foreach (var stale in new[] { MetricsFile, HistoryFile })
                if (File.Exists(Path.Combine(RunDir, stale))) File.Delete(Path.Combine(RunDir, stale));
        AtomicFile.WriteAllText(configPath, config.ToJson());
    }

    /// <summary>The vocabulary and the task descriptions prediction rebuilds the tasks from.</summary>
    public void WriteModelInputs(string vocabText, JsonObject tasks)
    {
        AtomicFile.WriteAllText(Path.Combine(RunDir, VocabFile), vocabText);
        AtomicFile.WriteAllText(Path.Combine(RunDir, TasksFile), tasks.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary><c>test_predictions.csv</c>: every test example's gold value and prediction, per task (<see cref="TestPredictions"/>).</summary>
    public void WriteTestPredictions(IEnumerable<TestPredictions.TaskPredictions> tasks) => TestPredictions.Write(RunDir, tasks);

    public void WriteHistory(RunHistory history) => history.Save(Path.Combine(RunDir, HistoryFile));

    /// <summary>Parameter counts: all, the shared part (what every task's loss reaches; cross-stitch: α only) and each
    /// task's own.</summary>
    static JsonObject Parameters(Models.MultiTaskNetwork model)
    {
        var perTask = new JsonObject();
        foreach (var t in model.Tasks) perTask[t] = model.TaskParameters(t).Sum(p => p.numel());
        return new JsonObject
        {
            ["total"] = model.parameters().Sum(p => p.numel()),
            ["shared"] = model.SharedParameters().Sum(p => p.numel()),
            ["per_task"] = perTask,
        };
    }

    /// <summary>Test metrics, the last validation, and what ran for how long.</summary>
    public void WriteMetrics(RunConfig config, BuiltModel built, IReadOnlyList<string> tasks, TrainingResult result, long? bestStep, TimeSpan wall)
    {
        var json = result.Test.ToJson();
        json["run"] = new JsonObject
        {
            ["name"] = config.Name,
            ["seed"] = config.Seed,
            ["trunk"] = built.TrunkDescription,
            ["sharing"] = built.Model.Architecture,
            ["method"] = MethodFactory.Create(config.Method, tasks).ToString(),
            ["weighting"] = config.Method.Weighting,
            ["aggregation"] = config.Method.Aggregation ?? "none",
            ["steps"] = result.Steps,
            ["best_step"] = bestStep,
            ["stopped_early"] = result.StoppedEarly,
            ["train_seconds"] = Math.Round(result.TrainTime.TotalSeconds, 1),
            ["eval_seconds"] = Math.Round(result.EvalTime.TotalSeconds, 1),
            ["wall_seconds_this_process"] = Math.Round(wall.TotalSeconds, 1),
            ["train_tokens_per_second"] = Math.Round(result.TokensPerSecond, 1),
            ["threads"] = TorchRuntime.Threads,
            ["precision"] = config.Runtime.Precision.Name(),
            ["weights_format"] = "safetensors",
            ["parameters"] = Parameters(built.Model),
        };
        if (result.Validation is { } val) json["validation"] = val.ToJson()["tasks"]!.DeepClone();
        AtomicFile.WriteAllText(Path.Combine(RunDir, MetricsFile), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
