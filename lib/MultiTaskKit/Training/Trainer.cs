using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;
using MultiTaskKit.IO;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Weighting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiTaskKit.Training;

/// <summary>
/// Trains a multi-task model from a <see cref="RunConfig"/> into a run folder, resumably. <see cref="Run"/> is a loop of
/// small named parts:
/// <list type="bullet">
/// <item><see cref="TrainOneStep"/>: one <see cref="TrainingStep"/> (micro-batches drawn by the <see cref="TaskSampler"/>
/// from each task's <see cref="TaskStream"/>, the step engine, accumulation, clipping, the schedule, the optimizer);</item>
/// <item><see cref="EvaluateIfDue"/>: validation, the selection score, the best checkpoint and early stopping
/// (<see cref="EarlyStopping"/>);</item>
/// <item><see cref="CheckpointIfDue"/>: the resumable checkpoint;</item>
/// <item><see cref="RunFolderWriter"/>: everything the run folder holds besides checkpoints.</item>
/// </list>
/// <para>Reproducibility: libtorch's global generator is re-seeded from (seed, micro-batch) before every micro-batch,
/// and batches and task draws depend only on (seed, task, epoch) and (seed, step); so the same seed and configuration
/// give the same metrics, and a run resumed from a checkpoint continues exactly as if it had never stopped. The re-seed
/// stays global because the dropout of the heads (libtorch's <c>dropout</c>) and <see cref="Models.Bert.FastDropout"/>
/// draw from the global generator and take no generator argument; a per-run generator would change every mask
/// (<see cref="TorchRuntime.SeedGlobalGenerator"/>).</para>
/// <para>The run's device and precision are its own (<see cref="RunConfig.Runtime"/>): resolved once in <see cref="Run"/>
/// and passed to the model and the batches, never read from or written to the process, so two trainers in one process
/// keep theirs. Only the thread count and the allocator tuning are applied to the process
/// (<see cref="TorchRuntime.ConfigureProcess"/>).</para>
/// </summary>
public sealed class Trainer : IDisposable
{
    public const string ConfigFile = RunFolderWriter.ConfigFile;
    public const string TasksFile = RunFolderWriter.TasksFile;
    public const string VocabFile = RunFolderWriter.VocabFile;
    public const string HistoryFile = RunFolderWriter.HistoryFile;
    public const string MetricsFile = RunFolderWriter.MetricsFile;

    RunConfig config;
    readonly string runDir;
    readonly DatasetSources sources;
    readonly RunFolderWriter folder;
    // The run's device (config.Runtime.Device resolved in Run): the model's and every batch's.
    Device device = CPU;

    public Trainer(RunConfig config, string runDir, DatasetSources sources)
    {
        config.Validate();
        this.config = config;
        this.runDir = Path.GetFullPath(runDir);
        this.sources = sources;
        folder = new RunFolderWriter(this.runDir);
    }

    /// <summary>Receives a <see cref="TrainingProgress"/> after every optimizer step and evaluation.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }

    /// <summary>Receives one-line messages (data loaded, checkpoint written, early stop).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Each task's own metrics (task name → metrics), evaluated beside the built-in ones at every evaluation,
    /// logged like them and usable as <c>training.selection_metric</c> (<c>task/name</c>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<IUserMetric>>? Metrics { get; init; }

    /// <summary>Called with the run folder, the history and the test report when the run ends, to write charts. Null: no charts.</summary>
    public Action<string, RunHistory, MetricsReport>? WriteCharts { get; init; }

    public BuiltModel? Built { get; private set; }

    // training.shared_input: the rows every task reads (null: each task has its own batches).
    SharedInputData? sharedInput;
    public IReadOnlyList<PreparedTask> Tasks { get; private set; } = [];

    /// <summary>Everything one run's loop reads and updates, so that the parts stay small.</summary>
    sealed class Session
    {
        public required MultiTaskNetwork Model { get; init; }
        public required BuiltModel Built { get; init; }
        public required TrainingStep Step { get; init; }
        public required Dictionary<string, TaskStream> Streams { get; init; }
        public required TaskSampler Sampler { get; init; }
        public required long StepsPerEpoch { get; init; }
        public required long TotalSteps { get; init; }
        public required TrainerState Start { get; init; }
        public required RunHistory History { get; init; }
        public required List<Dictionary<string, double>?> LossLog { get; init; }
        public required EarlyStopping Stopping { get; init; }
        public PlateauReducer? Plateau { get; init; }
        public double TrainSeconds;
        public long Tokens;
        public TimeSpan EvalTime;
        public MetricsReport? LastValidation;
        public long StepsDone => Step.Step;

        /// <summary>Steps and tokens per second of training time in this process.</summary>
        public (double Steps, double Tokens) Rates()
        {
            double seconds = Math.Max(1e-9, TrainSeconds - Start.TrainSeconds);
            return ((StepsDone - Start.Step) / seconds, (Tokens - Start.TokensSeen) / seconds);
        }
    }

    /// <summary>Loads data, builds the model, and trains; with <paramref name="resume"/>, continues from <c>checkpoint/</c>.</summary>
    public TrainingResult Run(bool resume = false, CancellationToken cancel = default)
    {
        var wall = Stopwatch.StartNew();
        TorchRuntime.ConfigureProcess(config.Runtime);
        device = TorchRuntime.ResolveDevice(config.Runtime.Device);
        // auto resolves here, on the run's device and threads, so that config.json and metrics.json record the
        // precision that actually ran.
        config = config with { Runtime = config.Runtime with { Precision = PrecisionProbe.Resolve(config.Runtime.Precision, device: device) } };
        if (resume && !RunFolder.HasCheckpoint(runDir))
            throw new IOException($"--resume: '{runDir}' holds no checkpoint ({Checkpoint.LatestFolder}/{Checkpoint.StateFile}); nothing to resume. Run without --resume to start it (mtk: --resume-if-any starts when there is none).");
        using var owner = RunFolder.Acquire(runDir, resume ? "train --resume" : "train");
        if (owner.TakeOverNote is { } takeOver) Log?.Invoke(takeOver);
        folder.Prepare(config, resume);
        LoadAndBuild();
        var prints = RunFolder.Fingerprints(RunFolder.DataFilesOf(config, sources));
        if (resume) { if (RunFolder.CheckFingerprints(runDir, prints) is { } note) Log?.Invoke(note); }
        else RunFolder.SaveFingerprints(runDir, prints);
        var session = StartSession(resume);
        // A run that stopped early and was killed before its report resumes into the report, not into more steps.
        if (session.Stopping.ShouldStop && session.StepsDone < session.TotalSteps) session.Stopping.Stop();
        session.Model.train();
        while (session.StepsDone < session.TotalSteps && !session.Stopping.Stopped)
        {
            cancel.ThrowIfCancellationRequested();
            var step = TrainOneStep(session);
            TestHooks.Pause("step");
            bool evaluated = EvaluateIfDue(session, step);
            CheckpointIfDue(session, evaluated);
            if (session.Stopping.Stopped) break;
        }
        // Resumed from the last checkpoint with no step left: the last evaluation happened at this very step, on
        // these weights, so evaluating again gives the report the uninterrupted run had.
        if (session.LastValidation is null && session.StepsDone > 0)
        {
            using var scope = NewDisposeScope();
            session.LastValidation = EvaluateAll(session.Model, session.Built, "val");
        }
        var test = TestBestWeights(session);
        var (_, tps) = session.Rates();
        var result = new TrainingResult(runDir, test, session.LastValidation, session.StepsDone, TimeSpan.FromSeconds(session.TrainSeconds),
            session.EvalTime, tps, session.Stopping.Stopped);
        folder.WriteHistory(session.History);
        folder.WriteMetrics(config, Built!, Tasks.Select(t => t.Name).ToList(), result, session.Stopping.BestStep, wall.Elapsed);
        if (NonFiniteNote(session.History) is { } nonFinite) Log?.Invoke(nonFinite);
        WriteCharts?.Invoke(runDir, session.History, test);
        return result;
    }

    /// <summary>Says when history values are NaN or infinite (a constant target has no Pearson correlation; a diverged
    /// loss), which history.csv keeps as they are and charts leave out; null when every value is finite.</summary>
    static string? NonFiniteNote(RunHistory history)
    {
        var bad = history.Rows.Where(r => !double.IsFinite(r.Value)).ToList();
        if (bad.Count == 0) return null;
        var first = bad[0];
        var kinds = string.Join(", ", bad.Select(r => $"{r.Task}/{r.Metric}").Distinct().Take(4));
        return $"note: {bad.Count} value(s) in the history are not finite (NaN or infinite): {kinds}, first {first.Task}/{first.Metric} = {first.Value} at step {first.Step}" +
               " (a constant target or prediction has no correlation; an infinite loss diverged); history.csv keeps them, the charts leave them out";
    }

    /// <summary>The method, the optimizer, the batch streams and sampler, the schedule and, when resuming, the checkpoint's state.</summary>
    Session StartSession(bool resume)
    {
        var built = Built!;
        var model = built.Model;
        var names = Tasks.Select(t => t.Name).ToList();
        foreach (var task in Metrics?.Keys ?? [])
            if (!names.Contains(task))
                throw new ArgumentException($"Metrics: task '{task}' is not in the run; its tasks are {string.Join(", ", names)}", nameof(Metrics));

        var method = MethodFactory.Create(config.Method, names);
        if (method.Mode == GradientMode.Representation && names.Count > 1 && sharedInput is null)
            throw new InvalidDataException($"method '{method.Name}' takes gradients with respect to the shared representation, which needs every task to read the same batch; here each task has its own batch. Label one file for every task and set training.shared_input, or use the parameter-gradient variant (e.g. mgda instead of mgda-ub).");
        model.AttachStrategy(method.Weighting, "weighting");
        if (method.Aggregator != null) model.AttachStrategy(method.Aggregator, "aggregator");
        var (optimizer, baseRates) = Optimizers.Create(model, config.Optimizer, config.Runtime.Kernels.FusedAdamW);

        var training = config.Training;
        // Shared input: one stream of rows that every task reads; otherwise a stream per task.
        var streams = sharedInput is not null
            ? new Dictionary<string, TaskStream> { [SharedInputData.StreamName] = new(SharedInputData.StreamName, sharedInput.Train, Tasks[0].Config.BatchSize,
                SeededRandom.Derive(config.Seed, "batches"), training.LengthBucketing) }
            : Tasks.ToDictionary(t => t.Name, t => new TaskStream(t.Name, t.Train, t.Config.BatchSize,
                SeededRandom.Derive(config.Seed, "batches"), training.LengthBucketing));
        var sampler = new TaskSampler(names, Tasks.Select(t => t.Train.Count).ToList(), training.Sampling, SeededRandom.Derive(config.Seed, "sampler"), training.Temperature);
        long stepsPerEpoch = training.Sampling == SamplingMode.AllTasks
            ? streams.Values.Max(s => s.BatchesPerEpoch)
            : streams.Values.Sum(s => s.BatchesPerEpoch);
        stepsPerEpoch = Math.Max(1, (stepsPerEpoch + training.GradAccumulation - 1) / training.GradAccumulation);
        long totalSteps = training.Steps ?? Math.Max(1, (long)Math.Ceiling(training.Epochs * stepsPerEpoch));

        var state = new TrainerState { Seed = config.Seed };
        var history = new RunHistory();
        if (resume)
        {
            state = Checkpoint.LoadLatest(runDir, model, optimizer);
            if (state.Step > totalSteps)
                throw new InvalidDataException($"{Path.Combine(runDir, Checkpoint.LatestFolder, Checkpoint.StateFile)}: 'step' is {state.Step}, beyond the configuration's {totalSteps} steps.");
            if (RunFolder.CheckBestAgainstState(runDir, state) is { } bestNote) Log?.Invoke(bestNote);
            history = RunHistory.Load(Path.Combine(runDir, Checkpoint.LatestFolder, Checkpoint.HistoryFile), state.Step);
            var statePath = Path.Combine(runDir, Checkpoint.LatestFolder, Checkpoint.StateFile);
            foreach (var (task, pos) in state.Streams)
            {
                if (!streams.TryGetValue(task, out var stream))
                    throw new InvalidDataException($"{statePath}: batch stream '{task}' is not one of this run's ({string.Join(", ", streams.Keys)}); the checkpoint belongs to another configuration.");
                // Every micro-batch draws at most one batch from a stream, so a stream cannot be further along than
                // the micro-batches taken; a position beyond its data or its steps belongs to other data or is damaged.
                if (pos.Length != 2)
                    throw new InvalidDataException($"{statePath}: batch stream '{task}': expected [epoch, batch], found {pos.Length} numbers.");
                long drawn = (long)pos[0] * stream.BatchesPerEpoch + pos[1];
                if (pos[0] < 0 || pos[1] < 0 || pos[1] > stream.BatchesPerEpoch || drawn > state.Step * training.GradAccumulation)
                    throw new InvalidDataException($"{statePath}: batch stream '{task}' is at epoch {pos[0]}, batch {pos[1]}, which this run cannot have reached: its data has {stream.BatchesPerEpoch} batches per epoch and the checkpoint is at step {state.Step} ({state.Step * training.GradAccumulation} micro-batches); the checkpoint does not match the data.");
                stream.Restore(pos[0], pos[1]);
            }
            Log?.Invoke($"resumed from step {state.Step} of {totalSteps}");
        }
        var plateau = PlateauReducer.From(config.Optimizer, history.Rows
            .Where(r => r.Kind == "eval" && r.Task == "all" && r.Metric == "selection_score").Select(r => r.Value));
        var step = new TrainingStep(model, method.Weighting, method.Aggregator, optimizer, new TrainingStepOptions
        {
            Engine = new() { Gradients = sharedInput is not null ? method.Mode : GradientMode.Parameters, MaxGradNorm = config.Optimizer.ClipNorm },
            GradAccumulation = training.GradAccumulation,
            Schedule = LearningRateSchedule.From(config.Optimizer, totalSteps),
            RateMultiplier = plateau is null ? null : () => plateau.Multiplier,
            StepsPerEpoch = stepsPerEpoch,
            TaskGradientDiagnosticsEvery = training.GradientDiagnostics ? training.GradientDiagnosticsEvery : 0,
        }, Checkpoint.ReplayLossHistory(state.LossLog), baseRates) { Step = state.Step };
        return new Session
        {
            Model = model, Built = built, Step = step, Streams = streams, Sampler = sampler, StepsPerEpoch = stepsPerEpoch,
            TotalSteps = totalSteps, Start = state, History = history, LossLog = new List<Dictionary<string, double>?>(state.LossLog),
            Stopping = new EarlyStopping(training.EarlyStoppingPatience, state.BestScore, state.BestStep, state.EvalsWithoutImprovement),
            TrainSeconds = state.TrainSeconds, Tokens = state.TokensSeen, Plateau = plateau,
        };
    }

    /// <summary>One optimizer step, its rows in the history and a progress report.</summary>
    TrainingStepResult TrainOneStep(Session s)
    {
        var clock = Stopwatch.StartNew();
        var result = s.Step.Run(draw =>
        {
            TorchRuntime.SeedGlobalGenerator((long)(SeededRandom.Derive(config.Seed, $"step:{draw}") >> 1));
            if (sharedInput is not null)
                return sharedInput.Batch(s.Streams[SharedInputData.StreamName].Next(), s.Built.Tokenizer.PadId, device);
            var chosen = s.Sampler.TasksAt(draw);
            var batches = chosen.ToDictionary(t => t, t => TaskBatch.Build(Tasks.First(p => p.Name == t).Signature, s.Streams[t].Next(), s.Built.Tokenizer.PadId, device));
            return StepBatch.PerTask(batches.ToDictionary(kv => kv.Key, kv => kv.Value.Input), batches.ToDictionary(kv => kv.Key, kv => kv.Value.Targets),
                batches.Values.Sum(b => b.Tokens), new DisposeAll(batches.Values));
        });
        s.TrainSeconds += clock.Elapsed.TotalSeconds;
        s.Tokens += result.Tokens;
        foreach (var d in result.MicroSteps) s.LossLog.Add(new Dictionary<string, double>(d.Losses));
        if (result.EpochEnded) s.LossLog.Add(null);

        long step = result.Step + 1;
        foreach (var (t, l) in result.Losses) s.History.Add(step, result.Epoch, "train", t, "loss", l);
        RecordDiagnostics(s.History, step, result.Epoch, result.Last);
        s.History.Add(step, result.Epoch, "train", "all", "lr", result.LearningRates[0]);
        if (config.Training.MixingEvery > 0 && step % config.Training.MixingEvery == 0) MixingHistory.Record(s.History, s.Model, step, result.Epoch);
        var (sps, tps) = s.Rates();
        Progress?.Report(new TrainingProgress("train", step, s.TotalSteps, result.Epoch, result.Losses, sps, tps,
            TimeSpan.FromSeconds(s.TrainSeconds), sps > 0 ? TimeSpan.FromSeconds((s.TotalSteps - step) / sps) : null));
        return result;
    }

    /// <summary>Validation when due (the last step, every N steps, each epoch's end): history rows, the best checkpoint
    /// and early stopping. Returns whether it evaluated.</summary>
    bool EvaluateIfDue(Session s, TrainingStepResult result)
    {
        var training = config.Training;
        long step = s.StepsDone;
        bool due = step == s.TotalSteps
                   || (training.EvalEverySteps > 0 && step % training.EvalEverySteps == 0)
                   || (training.EvalPerEpoch && result.EpochEnded);
        if (!due) return false;
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        var validation = EvaluateAll(s.Model, s.Built, "val");
        s.EvalTime += clock.Elapsed;
        s.LastValidation = validation;
        foreach (var t in validation.Tasks)
            foreach (var (metric, value) in t.Metrics.Values) s.History.Add(step, result.Epoch, "eval", t.Task, metric, value);
        var score = SelectionScore(validation);
        s.History.Add(step, result.Epoch, "eval", "all", "selection_score", score);
        s.Plateau?.Observe(score);
        var (sps, tps) = s.Rates();
        Progress?.Report(new TrainingProgress("eval", step, s.TotalSteps, result.Epoch, result.Losses, sps, tps, TimeSpan.FromSeconds(s.TrainSeconds), null,
            validation.Tasks.ToDictionary(t => t.Task, t => t.Metrics.Values)));
        if (s.Stopping.Observe(step, score)) Checkpoint.SaveBest(runDir, s.Model, step, score);
        if (s.Stopping.ShouldStop && step < s.TotalSteps)
        {
            s.Stopping.Stop();
            Log?.Invoke($"early stop at step {step}: no improvement of {training.SelectionMetric} in {s.Stopping.EvalsWithoutImprovement} evaluations (best {s.Stopping.Best:F4} at step {s.Stopping.BestStep})");
        }
        return true;
    }

    /// <summary>The resumable checkpoint and history.csv, after an evaluation, at the end, on an early stop and every N steps.</summary>
    void CheckpointIfDue(Session s, bool evaluated)
    {
        long step = s.StepsDone;
        var every = config.Training.CheckpointEverySteps;
        bool due = s.Stopping.Stopped || step == s.TotalSteps || evaluated || (every > 0 && step % every == 0);
        if (!due) return;
        using var scope = NewDisposeScope();
        Checkpoint.SaveLatest(runDir, s.Model, s.Step.Optimizer, Snapshot(s), s.History);
        folder.WriteHistory(s.History);
    }

    TrainerState Snapshot(Session s) => new()
    {
        Step = s.StepsDone, Seed = config.Seed, BestScore = s.Stopping.Best, BestStep = s.Stopping.BestStep,
        EvalsWithoutImprovement = s.Stopping.EvalsWithoutImprovement, TrainSeconds = s.TrainSeconds, TokensSeen = s.Tokens,
        LossLog = s.LossLog, Streams = s.Streams.ToDictionary(kv => kv.Key, kv => new[] { kv.Value.Epoch, kv.Value.Position }),
    };

    /// <summary>Reports the best validated weights on test (the last weights when no validation ran).</summary>
    MetricsReport TestBestWeights(Session s)
    {
        var bestWeights = Path.Combine(runDir, Checkpoint.BestFolder, Checkpoint.WeightsFile);
        if (File.Exists(bestWeights)) Checkpoint.LoadWeights(s.Model, bestWeights);
        var clock = Stopwatch.StartNew();
        var predictions = new Dictionary<string, List<ExamplePrediction>>();
        var test = EvaluateAll(s.Model, s.Built, "test", predictions);
        s.EvalTime += clock.Elapsed;
        folder.WriteTestPredictions(Tasks.Select(t => new TestPredictions.TaskPredictions(t.Name, t.Signature.Kind.Name, predictions[t.Name])));
        long step = s.StepsDone;
        foreach (var t in test.Tasks)
            foreach (var (metric, value) in t.Metrics.Values) s.History.Add(step, (int)(Math.Max(0, step - 1) / s.StepsPerEpoch), "test", t.Task, metric, value);
        return test;
    }

    void LoadAndBuild()
    {
        IReadOnlyList<TextDataset>? sharedColumns = null;
        IReadOnlyList<TaskSplits> loaded;
        var dataTasks = config.Tasks.Select(t => t.ResolveData(sources.DataDir)).ToList();
        if (config.Training.SharedInput) (loaded, sharedColumns) = SharedInputData.Load(dataTasks, config.Seed);
        else loaded = dataTasks.Select(t => TaskData.Load(t, sources, config.Seed)).ToList();
        var splits = config.Tasks.Zip(loaded, (t, s) =>
        {
            Log?.Invoke($"{t.Name}: {s.Train.Count} train, {s.Validation.Count} val, {s.Test.Count} test ({s.Dataset}){(s.Note is null ? "" : "; " + s.Note)}");
            return (t, s);
        }).ToList();
        var built = ModelFactory.Build(config, splits.Select(x => new TaskSignature(x.t.Name, x.s.Kind, x.s.LabelNames)).ToList(), device);
        Built = built;
        Tasks = splits.Select(x => PreparedTask.Prepare(x.t, x.s, built.Tokenizer)).ToList();
        sharedInput = sharedColumns is null ? null : SharedInputData.Prepare(Tasks.Select(t => t.Signature).ToList(), config.Tasks, sharedColumns, built.Tokenizer);
        folder.WriteModelInputs(built.VocabText, DescribeTasks(Tasks));
    }

    /// <summary>What prediction needs to rebuild each task: kind, labels, normaliser, token budget, truncation.</summary>
    public static JsonObject DescribeTasks(IEnumerable<PreparedTask> tasks)
    {
        var o = new JsonObject();
        foreach (var t in tasks)
            o[t.Name] = new JsonObject
            {
                ["dataset"] = t.Splits.Dataset,
                ["kind"] = t.Signature.Kind.Name,
                ["labels"] = new JsonArray(t.Signature.LabelNames.Select(l => (JsonNode)JsonValue.Create(l)!).ToArray()),
                ["normalizer"] = t.Normalizer,
                ["max_tokens"] = t.Config.MaxTokens,
                ["truncation"] = t.Config.Truncation.ToString(),
                ["threshold"] = t.Signature.Threshold,
                ["input"] = t.Config.Dataset == TaskConfig.Conll ? "words" : t.Config.TextPairColumn is null ? "text" : "pair",
                ["train_count"] = t.Splits.Train.Count,
                ["val_count"] = t.Splits.Validation.Count,
                ["test_count"] = t.Splits.Test.Count,
                ["note"] = t.Splits.Note,
            };
        return o;
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

    /// <summary>Scores every task on <c>split</c> ("test" or validation). <c>predictions</c>, when given, receives each
    /// task's predictions (every example's gold label and prediction, as its kind records them: <see cref="TaskKind.Record"/>).</summary>
    MetricsReport EvaluateAll(MultiTaskNetwork model, BuiltModel built, string split, Dictionary<string, List<ExamplePrediction>>? predictions = null)
    {
        var evaluations = Tasks.Select(t =>
        {
            var (examples, data) = split == "test" ? (t.Test, t.Splits.Test) : (t.Validation, t.Splits.Validation);
            List<ExamplePrediction>? rows = predictions is null ? null : predictions[t.Name] = new List<ExamplePrediction>(examples.Count);
            Action<EncodedExample, float[]>? observe = rows is null ? null : (ex, output) => rows.Add(t.Signature.Kind.Record(t.Signature, output, ex));
            var metrics = TaskEvaluator.Evaluate(model, t.Signature, examples, built.Tokenizer.PadId, config.Training.EvalBatchSize, Metrics?.GetValueOrDefault(t.Name), observe);
            return new TaskEvaluation(t.Name, t.Splits.Dataset, data.Split, metrics, t.Splits.Note);
        }).ToList();
        return new MetricsReport(evaluations);
    }

    /// <summary>The score the best checkpoint and early stopping maximise (direction-aware: lower-is-better metrics are negated).</summary>
    public double SelectionScore(MetricsReport report)
    {
        var sel = config.Training.SelectionMetric;
        if (sel == "mean")
            return report.Tasks.Average(t => Tasks.First(p => p.Name == t.Task).Signature.Kind.MainScore(t.Metrics.BuiltIn()));
        var parts = sel.Split('/');
        if (parts.Length != 2) throw new InvalidDataException($"training.selection_metric: expected 'mean' or '<task>/<metric>', found '{sel}'.");
        var task = report[parts[0]];
        if (!task.Metrics.Values.TryGetValue(parts[1], out var v))
            throw new InvalidDataException($"training.selection_metric: task '{parts[0]}' has no metric '{parts[1]}'; it has {string.Join(", ", task.Metrics.Values.Keys)}.");
        bool higher = Metrics?.GetValueOrDefault(parts[0])?.FirstOrDefault(m => m.Name == parts[1]) is { } user
            ? user.HigherIsBetter : MetricDirections.HigherIsBetter(parts[1]);
        return higher ? v : -v;
    }

    public void Dispose() => Built?.Dispose();
}
