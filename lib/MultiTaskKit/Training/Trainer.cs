using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;
using MultiTaskKit.IO;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Training;

/// <summary>What a finished run produced: test metrics (also in <c>metrics.json</c>), the last validation metrics, and timing.</summary>
public sealed record TrainingResult(
    string RunDir,
    MetricsReport Test,
    MetricsReport? Validation,
    long Steps,
    TimeSpan TrainTime,
    TimeSpan EvalTime,
    double TokensPerSecond,
    bool StoppedEarly);

/// <summary>
/// Trains a multi-task model from a <see cref="RunConfig"/> into a run folder, resumably.
/// <para>Each optimizer step takes <see cref="TrainingConfig.GradAccumulation"/> micro-steps; each micro-step draws a
/// batch for the tasks the <see cref="TaskSampler"/> picks, runs <see cref="MultiTaskNetwork.Forward(IReadOnlyDictionary{string, TrunkInput}, bool)"/>,
/// and hands the per-task losses to the step engine (<see cref="MultiTaskStep.Backward"/>), which applies the configured
/// weighting and aggregation. Then the learning rate is set from the schedule and the optimizer steps. One dispose
/// scope per micro-step keeps native memory flat.</para>
/// <para>Reproducibility: libtorch's generator is re-seeded from (seed, step) before every micro-step, and batches and
/// task draws depend only on (seed, task, epoch) and (seed, step); so the same seed and configuration give the same
/// metrics, and a run resumed from a checkpoint continues exactly as if it had never stopped.</para>
/// </summary>
public sealed class Trainer : IDisposable
{
    public const string ConfigFile = "config.json";
    public const string TasksFile = "tasks.json";
    public const string VocabFile = "vocab.txt";
    public const string HistoryFile = "history.csv";
    public const string MetricsFile = "metrics.json";

    readonly RunConfig config;
    readonly string runDir;
    readonly DatasetSources sources;

    public Trainer(RunConfig config, string runDir, DatasetSources sources)
    {
        config.Validate();
        this.config = config;
        this.runDir = Path.GetFullPath(runDir);
        this.sources = sources;
    }

    /// <summary>Receives a <see cref="TrainingProgress"/> after every optimizer step and evaluation.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }

    /// <summary>Receives one-line messages (data loaded, checkpoint written, early stop).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Called with the run folder, the history and the test report when the run ends, to write charts. Null: no charts.</summary>
    public Action<string, RunHistory, MetricsReport>? WriteCharts { get; init; }

    public BuiltModel? Built { get; private set; }
    public IReadOnlyList<PreparedTask> Tasks { get; private set; } = [];

    /// <summary>Loads data, builds the model, and trains; with <paramref name="resume"/>, continues from <c>checkpoint/</c>.</summary>
    public TrainingResult Run(bool resume = false, CancellationToken cancel = default)
    {
        TorchRuntime.EnsureInitialized();
        var wall = Stopwatch.StartNew();
        PrepareFolder(resume);
        LoadAndBuild();
        var built = Built!;
        var model = built.Model;
        var names = Tasks.Select(t => t.Name).ToList();

        var method = MethodFactory.Create(config.Method, names);
        var (weighting, aggregator) = (method.Weighting, method.Aggregator);
        if (method.Mode == GradientMode.Representation && names.Count > 1)
            throw new InvalidDataException($"method '{method.Name}' takes gradients with respect to the shared representation, which needs every task to read the same batch; this trainer gives each task its own batch. Use the parameter-gradient variant (e.g. mgda instead of mgda-ub).");
        model.AttachStrategy(weighting, "weighting");
        if (aggregator != null) model.AttachStrategy(aggregator, "aggregator");
        var (optimizer, baseRates) = CreateOptimizer(model);

        var training = config.Training;
        var streams = Tasks.ToDictionary(t => t.Name, t => new TaskStream(t.Name, t.Train, t.Config.BatchSize,
            SeededRandom.Derive(config.Seed, "batches"), training.LengthBucketing));
        var sampler = new TaskSampler(names, Tasks.Select(t => t.Train.Count).ToList(), training.Sampling, SeededRandom.Derive(config.Seed, "sampler"), training.Temperature);
        long stepsPerEpoch = training.Sampling == SamplingMode.AllTasks
            ? streams.Values.Max(s => s.BatchesPerEpoch)
            : streams.Values.Sum(s => s.BatchesPerEpoch);
        stepsPerEpoch = Math.Max(1, (stepsPerEpoch + training.GradAccumulation - 1) / training.GradAccumulation);
        long totalSteps = training.Steps ?? Math.Max(1, (long)Math.Ceiling(training.Epochs * stepsPerEpoch));
        var schedule = new LearningRateSchedule((long)Math.Round(config.Optimizer.WarmupFraction * totalSteps), totalSteps);

        var state = new TrainerState { Seed = config.Seed };
        var history = new RunHistory();
        if (resume && Checkpoint.HasLatest(runDir))
        {
            state = Checkpoint.LoadLatest(runDir, model, optimizer);
            history = RunHistory.Load(Path.Combine(runDir, Checkpoint.LatestFolder, Checkpoint.HistoryFile), state.Step);
            foreach (var (task, pos) in state.Streams) streams[task].Restore(pos[0], pos[1]);
            Log?.Invoke($"resumed from step {state.Step} of {totalSteps}");
        }
        var lossHistory = Checkpoint.ReplayLossHistory(state.LossLog);
        var lossLog = new List<Dictionary<string, double>?>(state.LossLog);

        model.train();
        long step = state.Step;
        double trainSeconds = state.TrainSeconds;
        long tokens = state.TokensSeen;
        double? best = state.BestScore;
        long? bestStep = state.BestStep;
        int patience = state.EvalsWithoutImprovement;
        bool stoppedEarly = false;
        var evalTime = TimeSpan.Zero;
        MetricsReport? lastValidation = null;
        var stepClock = new Stopwatch();
        long tokensAtStart = tokens;
        double secondsAtStart = trainSeconds;

        TrainerState Snapshot() => new()
        {
            Step = step, Seed = config.Seed, BestScore = best, BestStep = bestStep, EvalsWithoutImprovement = patience,
            TrainSeconds = trainSeconds, TokensSeen = tokens, LossLog = lossLog,
            Streams = streams.ToDictionary(kv => kv.Key, kv => new[] { kv.Value.Epoch, kv.Value.Position }),
        };

        while (step < totalSteps)
        {
            cancel.ThrowIfCancellationRequested();
            int epoch = (int)(step / stepsPerEpoch);
            stepClock.Restart();
            var stepLosses = new Dictionary<string, double>();
            StepDiagnostics? last = null;
            for (int micro = 0; micro < training.GradAccumulation; micro++)
            {
                using var scope = NewDisposeScope();
                long draw = step * training.GradAccumulation + micro;
                torch.manual_seed((long)(SeededRandom.Derive(config.Seed, $"step:{draw}") >> 1));
                var chosen = sampler.TasksAt(draw);
                var batches = chosen.ToDictionary(t => t, t => TaskBatch.Build(t, Tasks.First(p => p.Name == t).Signature.Kind, streams[t].Next(), built.Tokenizer.PadId, TorchRuntime.Device));
                try
                {
                    var output = model.Forward(batches.ToDictionary(kv => kv.Key, kv => kv.Value.Input));
                    var losses = model.Losses(output, batches.ToDictionary(kv => kv.Key, kv => kv.Value.Targets));
                    last = MultiTaskStep.Backward(model, losses, weighting, aggregator, new StepOptions
                    {
                        Step = step, Epoch = epoch, History = lossHistory,
                        MaxGradNorm = training.GradAccumulation == 1 ? config.Optimizer.ClipNorm : null,
                        AccumulateGradients = micro > 0,
                        TaskGradientDiagnostics = training.GradientDiagnostics && chosen.Count > 1 && step % training.GradientDiagnosticsEvery == 0,
                    });
                    lossHistory.Record(last);
                    lossLog.Add(new Dictionary<string, double>(last.Losses));
                    foreach (var (t, l) in last.Losses) stepLosses[t] = stepLosses.GetValueOrDefault(t) + l / training.GradAccumulation;
                    tokens += batches.Values.Sum(b => b.Tokens);
                }
                finally { foreach (var b in batches.Values) b.Dispose(); }
            }
            if (training.GradAccumulation > 1)
            {
                using (no_grad())
                using (var micro = ((double)training.GradAccumulation).ToScalar())
                    foreach (var p in model.parameters())
                    {
                        using var grad = p.grad;
                        grad?.div_(micro);
                    }
                if (config.Optimizer.ClipNorm is { } clip) MultiTaskStep.ClipGradNorm(model, clip);
            }
            var factor = schedule.Factor(step);
            int g = 0;
            foreach (var group in optimizer.ParamGroups) group.LearningRate = baseRates[g++] * factor;
            using (NewDisposeScope())
            {
                if (last is not { Skipped: true }) optimizer.step();
                optimizer.zero_grad();
            }
            NativeAllocator.CollectStepGarbage();
            step++;
            trainSeconds += stepClock.Elapsed.TotalSeconds;
            if (step % stepsPerEpoch == 0) { lossHistory.EndEpoch(); lossLog.Add(null); }

            foreach (var (t, l) in stepLosses) history.Add(step, epoch, "train", t, "loss", l);
            if (last != null) RecordDiagnostics(history, step, epoch, last);
            history.Add(step, epoch, "train", "all", "lr", baseRates[0] * factor);

            double sps = (step - state.Step) / Math.Max(1e-9, trainSeconds - secondsAtStart);
            double tps = (tokens - tokensAtStart) / Math.Max(1e-9, trainSeconds - secondsAtStart);
            Progress?.Report(new TrainingProgress("train", step, totalSteps, epoch, stepLosses, sps, tps,
                TimeSpan.FromSeconds(trainSeconds), sps > 0 ? TimeSpan.FromSeconds((totalSteps - step) / sps) : null));

            bool epochEnd = step % stepsPerEpoch == 0;
            bool evalDue = step == totalSteps
                           || (training.EvalEverySteps > 0 && step % training.EvalEverySteps == 0)
                           || (training.EvalPerEpoch && epochEnd);
            if (evalDue)
            {
                using var evalScope = NewDisposeScope();
                var sw = Stopwatch.StartNew();
                lastValidation = EvaluateAll(model, built, "val");
                evalTime += sw.Elapsed;
                foreach (var t in lastValidation.Tasks)
                    foreach (var (metric, value) in t.Metrics.Values) history.Add(step, epoch, "eval", t.Task, metric, value);
                var score = SelectionScore(lastValidation);
                history.Add(step, epoch, "eval", "all", "selection_score", score);
                Progress?.Report(new TrainingProgress("eval", step, totalSteps, epoch, stepLosses, sps, tps, TimeSpan.FromSeconds(trainSeconds), null,
                    lastValidation.Tasks.ToDictionary(t => t.Task, t => t.Metrics.Values)));
                if (best is null || score > best)
                {
                    best = score; bestStep = step; patience = 0;
                    Checkpoint.SaveBest(runDir, model, step, score);
                }
                else patience++;
                if (training.EarlyStoppingPatience > 0 && patience >= training.EarlyStoppingPatience && step < totalSteps)
                {
                    Log?.Invoke($"early stop at step {step}: no improvement of {training.SelectionMetric} in {patience} evaluations (best {best:F4} at step {bestStep})");
                    stoppedEarly = true;
                }
            }
            bool checkpointDue = stoppedEarly || step == totalSteps || evalDue
                                 || (training.CheckpointEverySteps > 0 && step % training.CheckpointEverySteps == 0);
            if (checkpointDue)
            {
                using var saveScope = NewDisposeScope();
                Checkpoint.SaveLatest(runDir, model, optimizer, Snapshot(), history);
                history.Save(Path.Combine(runDir, HistoryFile));
            }
            if (stoppedEarly) break;
        }

        // Report the best validated weights on test.
        var bestWeights = Path.Combine(runDir, Checkpoint.BestFolder, Checkpoint.WeightsFile);
        if (File.Exists(bestWeights)) Checkpoint.LoadWeights(model, bestWeights);
        var testClock = Stopwatch.StartNew();
        var test = EvaluateAll(model, built, "test");
        evalTime += testClock.Elapsed;
        foreach (var t in test.Tasks)
            foreach (var (metric, value) in t.Metrics.Values) history.Add(step, (int)(Math.Max(0, step - 1) / stepsPerEpoch), "test", t.Task, metric, value);
        history.Save(Path.Combine(runDir, HistoryFile));
        double finalTps = (tokens - tokensAtStart) / Math.Max(1e-9, trainSeconds - secondsAtStart);
        var result = new TrainingResult(runDir, test, lastValidation, step, TimeSpan.FromSeconds(trainSeconds), evalTime, finalTps, stoppedEarly);
        WriteMetrics(result, bestStep, wall.Elapsed);
        WriteCharts?.Invoke(runDir, history, test);
        return result;
    }

    void PrepareFolder(bool resume)
    {
        var configPath = Path.Combine(runDir, ConfigFile);
        if (!resume && Checkpoint.HasLatest(runDir))
            throw new IOException($"run folder '{runDir}' already holds a checkpoint; pass --resume to continue it, or choose another --out.");
        if (resume && File.Exists(configPath))
        {
            var saved = RunConfig.Load(configPath);
            if (saved.ToJson() != config.ToJson())
                throw new InvalidDataException($"--resume: the configuration differs from the one saved in '{configPath}'; resume with the same configuration.");
        }
        Directory.CreateDirectory(runDir);
        // A new run must not leave results of an older one beside its own.
        if (!resume)
            foreach (var stale in new[] { MetricsFile, HistoryFile })
                if (File.Exists(Path.Combine(runDir, stale))) File.Delete(Path.Combine(runDir, stale));
        AtomicFile.WriteAllText(configPath, config.ToJson());
    }

    void LoadAndBuild()
    {
        var splits = config.Tasks.Select(t =>
        {
            var s = TaskData.Load(t, sources, config.Seed);
            Log?.Invoke($"{t.Name}: {s.Train.Count} train, {s.Validation.Count} val, {s.Test.Count} test ({s.Dataset}){(s.Note is null ? "" : "; " + s.Note)}");
            return (t, s);
        }).ToList();
        var built = ModelFactory.Build(config, splits.Select(x => new TaskSignature(x.t.Name, x.s.Kind, x.s.LabelNames)).ToList());
        Built = built;
        Tasks = splits.Select(x => PreparedTask.Prepare(x.t, x.s, built.Tokenizer)).ToList();
        AtomicFile.WriteAllText(Path.Combine(runDir, VocabFile), built.VocabText);
        AtomicFile.WriteAllText(Path.Combine(runDir, TasksFile), DescribeTasks(Tasks).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>What prediction needs to rebuild each task: kind, labels, normaliser, token budget, truncation.</summary>
    public static JsonObject DescribeTasks(IEnumerable<PreparedTask> tasks)
    {
        var o = new JsonObject();
        foreach (var t in tasks)
            o[t.Name] = new JsonObject
            {
                ["dataset"] = t.Splits.Dataset,
                ["kind"] = t.Signature.Kind == TaskKind.Classification ? "classification" : "regression",
                ["labels"] = new JsonArray(t.Signature.LabelNames.Select(l => (JsonNode)JsonValue.Create(l)!).ToArray()),
                ["normalizer"] = t.Normalizer,
                ["max_tokens"] = t.Config.MaxTokens,
                ["truncation"] = t.Config.Truncation.ToString(),
                ["train_count"] = t.Splits.Train.Count,
                ["val_count"] = t.Splits.Validation.Count,
                ["test_count"] = t.Splits.Test.Count,
                ["note"] = t.Splits.Note,
            };
        return o;
    }

    (OptimizerHelper Optimizer, double[] BaseRates) CreateOptimizer(MultiTaskNetwork model)
    {
        var o = config.Optimizer;
        var headParams = new HashSet<Parameter>(Tasks.SelectMany(t => model.Head(t.Name).parameters()), ReferenceEqualityComparer.Instance);
        var body = model.parameters().Where(p => !headParams.Contains(p)).ToList();
        var heads = model.parameters().Where(p => headParams.Contains(p)).ToList();
        double headLr = o.HeadLr ?? o.Lr;
        double[] rates = [o.Lr, headLr];
        OptimizerHelper optimizer = o.Name switch
        {
            OptimizerKind.Adamw => new LeanAdamW([new AdamW.ParamGroup(body, o.Lr, 0.9, 0.999, 1e-8, o.WeightDecay, false, false), new AdamW.ParamGroup(heads, headLr, 0.9, 0.999, 1e-8, o.WeightDecay, false, false)], o.Lr),
            OptimizerKind.Adam => optim.Adam([new Adam.ParamGroup(body, o.Lr, 0.9, 0.999, 1e-8, o.WeightDecay, false, false), new Adam.ParamGroup(heads, headLr, 0.9, 0.999, 1e-8, o.WeightDecay, false, false)], o.Lr),
            _ => optim.SGD([new SGD.ParamGroup(body, o.Lr, o.Momentum, 0, o.WeightDecay, false, false), new SGD.ParamGroup(heads, headLr, o.Momentum, 0, o.WeightDecay, false, false)], o.Lr),
        };
        return (optimizer, rates);
    }

    static void RecordDiagnostics(RunHistory history, long step, int epoch, StepDiagnostics d)
    {
        foreach (var (t, w) in d.Weights) history.Add(step, epoch, "train", t, "weight", w);
        if (d.SharedGradientNorms is { } norms) foreach (var (t, n) in norms) history.Add(step, epoch, "train", t, "shared_grad_norm", n);
        if (d.Cosines is { } cos)
            for (int i = 0; i < d.Tasks.Count; i++)
                for (int j = i + 1; j < d.Tasks.Count; j++)
                    history.Add(step, epoch, "train", $"{d.Tasks[i]}|{d.Tasks[j]}", "grad_cosine", cos[i, j]);
        if (d.ConflictingPairs is { } c) history.Add(step, epoch, "train", "all", "conflicting_pairs", c);
        if (d.GradientNorm is { } gn) history.Add(step, epoch, "train", "all", "grad_norm", gn);
    }

    MetricsReport EvaluateAll(MultiTaskNetwork model, BuiltModel built, string split)
    {
        var evaluations = Tasks.Select(t =>
        {
            var (examples, data) = split == "test" ? (t.Test, t.Splits.Test) : (t.Validation, t.Splits.Validation);
            var metrics = TaskEvaluator.Evaluate(model, t.Signature, examples, built.Tokenizer.PadId, config.Training.EvalBatchSize);
            return new TaskEvaluation(t.Name, t.Splits.Dataset, data.Split, metrics, t.Splits.Note);
        }).ToList();
        return new MetricsReport(evaluations);
    }

    /// <summary>The score the best checkpoint and early stopping maximise (direction-aware: lower-is-better metrics are negated).</summary>
    public double SelectionScore(MetricsReport report)
    {
        var sel = config.Training.SelectionMetric;
        if (sel == "mean")
            return report.Tasks.Average(t => t.Metrics switch
            {
                ClassificationMetrics c => c.Accuracy,
                RegressionMetrics r => double.IsFinite(r.Pearson) ? r.Pearson : -r.Mse,
                _ => 0,
            });
        var parts = sel.Split('/');
        if (parts.Length != 2) throw new InvalidDataException($"training.selection_metric: expected 'mean' or '<task>/<metric>', found '{sel}'.");
        var task = report[parts[0]];
        if (!task.Metrics.Values.TryGetValue(parts[1], out var v))
            throw new InvalidDataException($"training.selection_metric: task '{parts[0]}' has no metric '{parts[1]}'; it has {string.Join(", ", task.Metrics.Values.Keys)}.");
        return MetricDirections.HigherIsBetter(parts[1]) ? v : -v;
    }

    void WriteMetrics(TrainingResult result, long? bestStep, TimeSpan wall)
    {
        var json = result.Test.ToJson();
        json["run"] = new JsonObject
        {
            ["name"] = config.Name,
            ["seed"] = config.Seed,
            ["trunk"] = Built!.TrunkDescription,
            ["sharing"] = Built.Model.Architecture,
            ["method"] = MethodFactory.Create(config.Method, Tasks.Select(t => t.Name).ToList()).ToString(),
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
            ["weights_format"] = "safetensors",
        };
        if (result.Validation is { } val) json["validation"] = val.ToJson()["tasks"]!.DeepClone();
        AtomicFile.WriteAllText(Path.Combine(runDir, MetricsFile), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    public void Dispose() => Built?.Dispose();
}
