using MultiTaskKit.IO;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;
using MultiTaskKit.Optim;
using MultiTaskKit.Data;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Runs;

/// <summary>
/// The trainer's resumable state besides the tensors: completed optimizer steps, each task stream's position, the
/// early-stopping bookkeeping and the time spent. Randomness needs no saved state: every step re-seeds libtorch from
/// (seed, step) and the samplers draw from (seed, step), so a resumed run makes the same draws.
/// </summary>
public sealed record TrainerState
{
    public long Step { get; init; }
    public Dictionary<string, int[]> Streams { get; init; } = new();
    public double? BestScore { get; init; }
    public long? BestStep { get; init; }
    public int EvalsWithoutImprovement { get; init; }
    public double TrainSeconds { get; init; }
    public long TokensSeen { get; init; }
    public ulong Seed { get; init; }
    /// <summary>Loss-history replay log for methods that read earlier losses (DWA, GradNorm, FAMO): a loss map per step, null for an epoch end.</summary>
    public List<Dictionary<string, double>?> LossLog { get; init; } = [];
    public string WeightsFormat { get; init; } = "safetensors";
    public string OptimizerFormat { get; init; } = "torchsharp-state-dict";
}

/// <summary>
/// Checkpoints in a run folder. <c>checkpoint/</c> holds the latest resumable state (<c>model.safetensors</c>: every
/// parameter of the model including learnable strategy state; <c>optimizer.bin</c>: TorchSharp's optimizer state-dict
/// format, since safetensors has no optimizer layout; <c>state.json</c>; <c>history.csv</c>). <c>best/</c> holds the
/// weights with the best validation score. Each folder is written into a temporary sibling and renamed into place, so
/// a run killed mid-save leaves the previous checkpoint whole.
/// </summary>
public static class Checkpoint
{
    public const string LatestFolder = "checkpoint";
    public const string BestFolder = "best";
    public const string WeightsFile = "model.safetensors";
    public const string OptimizerFile = "optimizer.bin";
    public const string StateFile = "state.json";
    public const string HistoryFile = "history.csv";

    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public static void SaveLatest(string runDir, MultiTaskNetwork model, optim.Optimizer optimizer, TrainerState state, RunHistory history)
    {
        AtomicFolder.Write(Path.Combine(runDir, LatestFolder), tmp =>
        {
            BertCheckpoint.WriteSafetensors(model, Path.Combine(tmp, WeightsFile));
            TestHooks.Pause("checkpoint-partial");
            ((TorchSharp.Modules.OptimizerHelper)optimizer).save_state_dict(Path.Combine(tmp, OptimizerFile));
            File.WriteAllText(Path.Combine(tmp, StateFile), JsonSerializer.Serialize(state, Json));
            history.Save(Path.Combine(tmp, HistoryFile));
        });
    }

    public static void SaveBest(string runDir, MultiTaskNetwork model, long step, double score)
    {
        AtomicFolder.Write(Path.Combine(runDir, BestFolder), tmp =>
        {
            BertCheckpoint.WriteSafetensors(model, Path.Combine(tmp, WeightsFile));
            File.WriteAllText(Path.Combine(tmp, StateFile), new JsonObject { ["step"] = step, ["score"] = score }.ToJsonString(Json));
        });
    }

    public static bool HasLatest(string runDir) => File.Exists(Path.Combine(runDir, LatestFolder, StateFile));

    public static TrainerState LoadLatest(string runDir, MultiTaskNetwork model, optim.Optimizer optimizer)
    {
        var dir = Path.Combine(runDir, LatestFolder);
        var statePath = Path.Combine(dir, StateFile);
        if (!File.Exists(statePath))
            throw new FileNotFoundException($"--resume: expected a checkpoint at '{dir}' (state.json, model.safetensors, optimizer.bin), found none.", statePath);
        var state = ReadState(statePath);
        LoadWeights(model, Path.Combine(dir, WeightsFile));
        var optimizerPath = Path.Combine(dir, OptimizerFile);
        if (!File.Exists(optimizerPath)) throw new FileNotFoundException($"{optimizerPath}: expected the optimizer state, found no such file.", optimizerPath);
        try { ((TorchSharp.Modules.OptimizerHelper)optimizer).load_state_dict(optimizerPath); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"{optimizerPath}: expected TorchSharp optimizer state for this model, found a file that does not load ({e.GetType().Name}: {e.Message}); the checkpoint is damaged.", e);
        }
        return state;
    }

    /// <summary>Reads and checks <c>state.json</c>: every count non-negative, the best step within the steps done.</summary>
    public static TrainerState ReadState(string statePath)
    {
        TrainerState? state;
        try { state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(statePath), Json); }
        catch (JsonException e) { throw new InvalidDataException($"{statePath}: expected the trainer state (JSON), found unreadable content ({e.Message}).", e); }
        if (state is null) throw new InvalidDataException($"{statePath}: expected the trainer state, found null.");
        if (state.Step < 0) throw new InvalidDataException($"{statePath}: 'step' must be at least 0, found {state.Step}.");
        if (state.BestStep is { } b && (b < 1 || b > state.Step))
            throw new InvalidDataException($"{statePath}: 'best_step' must lie in [1, step = {state.Step}], found {b}.");
        if (state.TokensSeen < 0 || state.TrainSeconds < 0 || !double.IsFinite(state.TrainSeconds) || state.EvalsWithoutImprovement < 0)
            throw new InvalidDataException($"{statePath}: 'tokens_seen', 'train_seconds' and 'evals_without_improvement' must be finite and at least 0, found {state.TokensSeen}, {state.TrainSeconds}, {state.EvalsWithoutImprovement}.");
        foreach (var (task, pos) in state.Streams)
            if (pos is null || pos.Length != 2 || pos[0] < 0 || pos[1] < 0)
                throw new InvalidDataException($"{statePath}: 'streams.{task}' must be [epoch, position] with both at least 0, found [{string.Join(", ", pos ?? [])}].");
        return state;
    }

    /// <summary>Loads safetensors weights into <paramref name="model"/>; every key must match (names both sides on a mismatch).</summary>
    public static void LoadWeights(MultiTaskNetwork model, string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"weights: expected '{path}', found no such file.", path);
        var dict = BertCheckpoint.ReadSafetensors(path);
        try
        {
            var own = model.state_dict();
            var missing = own.Keys.Except(dict.Keys).ToList();
            var unexpected = dict.Keys.Except(own.Keys).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
                throw new InvalidDataException($"{path}: the weights do not fit this model: missing {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : "")}; unexpected {string.Join(", ", unexpected.Take(5))}{(unexpected.Count > 5 ? ", …" : "")}.");
            using (no_grad())
                foreach (var (key, value) in own)
                {
                    var src = dict[key];
                    if (!src.shape.SequenceEqual(value.shape))
                        throw new InvalidDataException($"{path}: '{key}' has shape [{string.Join(", ", src.shape)}], the model expects [{string.Join(", ", value.shape)}].");
                    value.copy_(src);
                }
        }
        finally { foreach (var t in dict.Values) t.Dispose(); }
    }

    /// <summary>Rebuilds a loss history from the replay log saved in <see cref="TrainerState.LossLog"/>.</summary>
    public static LossHistory ReplayLossHistory(IEnumerable<Dictionary<string, double>?> log)
    {
        var h = new LossHistory();
        foreach (var entry in log)
            if (entry is null) h.EndEpoch(); else h.Record(entry);
        return h;
    }
}
