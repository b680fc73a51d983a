using MultiTaskKit.Runtime;
using MultiTaskKit.Optim;
using MultiTaskKit.Models;
using MultiTaskKit.Data;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Runs;

/// <summary>
/// The article's case study as run configurations: a BERT trunk shared by IMDB review classification (cross-entropy)
/// and VADER tweet sentiment regression (mean squared error), the lower 2 layers shared and the upper layers per task,
/// trained with AdamW. Every preset asks for <c>auto</c> precision (bf16 products where the machine has native bf16
/// and measured them faster, see <see cref="PrecisionProbe"/>); <c>--precision</c> overrides it.
/// </summary>
public static class CaseStudy
{
    public const string ImdbTask = "imdb";
    public const string TweetsTask = "tweets";

    /// <summary>
    /// <c>quick</c>: sized for a 2-core CPU (a training subset of IMDB, 128 tokens head+tail, one pass, trunk dropout
    /// off because on CPU it doubles the forward cost, IMDB scored on a seeded 2,000-review test subset).
    /// <c>standard</c>: all of IMDB's training reviews (22.5k after the validation split) at 256 tokens head+tail, one
    /// pass, the full 25k test set, trunk dropout off as in quick; sized for about an hour on 2 cores in bf16. The
    /// learning rates are those of one epoch of fine-tuning MiniLM on IMDB (lower than quick's, which must move far in
    /// 250 steps).
    /// <c>full</c>: all of IMDB's training set at 256 tokens for 3 epochs with dropout, the full test set, early stopping
    /// after an epoch without a better validation score; about an hour and a quarter on 2 cores in bf16, or a GPU.
    /// </summary>
    public static RunConfig Preset(string preset, string model = "minilm", ulong seed = 42) => preset.ToLowerInvariant() switch
    {
        "quick" => new RunConfig
        {
            Name = "casestudy-quick",
            Seed = seed,
            Runtime = new KitOptions { Precision = Precision.Auto },
            Model = new ModelConfig { Trunk = model, Pooling = "mean", Dropout = 0.0, HeadDropout = 0.1 },
            Sharing = new SharingConfig { Plan = SharingPlanKind.Split, SharedLayers = 2 },
            Method = new MethodConfig { Weighting = "equal" },
            Optimizer = new OptimizerConfig { Name = OptimizerKind.Adamw, Lr = 1e-4, HeadLr = 1e-3, WeightDecay = 0.01, WarmupFraction = 0.06, ClipNorm = 1.0 },
            Training = new TrainingConfig
            {
                Epochs = 1, Sampling = SamplingMode.AllTasks, LengthBucketing = true, EvalPerEpoch = true,
                CheckpointEverySteps = 50, EvalBatchSize = 64, SelectionMetric = "mean",
            },
            Tasks =
            [
                new TaskConfig { Name = ImdbTask, Dataset = "imdb", MaxTokens = 128, Truncation = TruncationMode.HeadTail, BatchSize = 16, TrainSubset = 4000, ValSubset = 400, TestSubset = 2000 },
                new TaskConfig { Name = TweetsTask, Dataset = "vader", MaxTokens = 64, Truncation = TruncationMode.Head, BatchSize = 16 },
            ],
        },
        "standard" => new RunConfig
        {
            Name = "casestudy-standard",
            Seed = seed,
            Runtime = new KitOptions { Precision = Precision.Auto },
            Model = new ModelConfig { Trunk = model, Pooling = "mean", Dropout = 0.0, HeadDropout = 0.1 },
            Sharing = new SharingConfig { Plan = SharingPlanKind.Split, SharedLayers = 2 },
            Method = new MethodConfig { Weighting = "equal" },
            Optimizer = new OptimizerConfig { Name = OptimizerKind.Adamw, Lr = 5e-5, HeadLr = 5e-4, WeightDecay = 0.01, WarmupFraction = 0.06, ClipNorm = 1.0 },
            Training = new TrainingConfig
            {
                Epochs = 1, Sampling = SamplingMode.AllTasks, LengthBucketing = true, EvalPerEpoch = true,
                CheckpointEverySteps = 200, EvalBatchSize = 64, SelectionMetric = "mean",
            },
            Tasks =
            [
                new TaskConfig { Name = ImdbTask, Dataset = "imdb", MaxTokens = 256, Truncation = TruncationMode.HeadTail, BatchSize = 16, ValSubset = 1000 },
                new TaskConfig { Name = TweetsTask, Dataset = "vader", MaxTokens = 64, Truncation = TruncationMode.Head, BatchSize = 16 },
            ],
        },
        "full" => new RunConfig
        {
            Name = "casestudy-full",
            Seed = seed,
            Runtime = new KitOptions { Precision = Precision.Auto },
            Model = new ModelConfig { Trunk = model, Pooling = "mean", HeadDropout = 0.1 },
            Sharing = new SharingConfig { Plan = SharingPlanKind.Split, SharedLayers = 2 },
            Method = new MethodConfig { Weighting = "equal" },
            Optimizer = new OptimizerConfig { Name = OptimizerKind.Adamw, Lr = 5e-5, HeadLr = 5e-4, WeightDecay = 0.01, WarmupFraction = 0.06, ClipNorm = 1.0 },
            Training = new TrainingConfig
            {
                Epochs = 3, Sampling = SamplingMode.AllTasks, LengthBucketing = true, EvalPerEpoch = true,
                CheckpointEverySteps = 200, EvalBatchSize = 64, SelectionMetric = "mean", EarlyStoppingPatience = 1,
            },
            Tasks =
            [
                new TaskConfig { Name = ImdbTask, Dataset = "imdb", MaxTokens = 256, Truncation = TruncationMode.HeadTail, BatchSize = 16, ValSubset = 2000 },
                new TaskConfig { Name = TweetsTask, Dataset = "vader", MaxTokens = 64, Truncation = TruncationMode.Head, BatchSize = 16 },
            ],
        },
        _ => throw new ArgumentException($"--preset: expected quick, standard or full, found '{preset}'.", nameof(preset)),
    };

    /// <summary>The same run with another sharing plan (hard sharing for --compare).</summary>
    public static RunConfig WithPlan(RunConfig config, string plan, string suffix) =>
        config with { Name = $"{config.Name}-{suffix}", Sharing = config.Sharing with { Plan = plan } };

    /// <summary>
    /// The single-task baseline of <paramref name="task"/>: the same trunk, recipe and number of optimizer steps, the task
    /// alone (so "same budget" means the same steps and batches of that task).
    /// </summary>
    public static RunConfig SingleTask(RunConfig config, string task, long steps) =>
        config with
        {
            Name = $"{config.Name}-single-{task}",
            Sharing = config.Sharing with { Plan = SharingPlanKind.Isolated },
            Tasks = config.Tasks.Where(t => t.Name == task).ToList(),
            Training = config.Training with { Steps = steps },
        };
}
