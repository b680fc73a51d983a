using MultiTaskKit.Evaluation;

namespace MultiTaskKit.Runs;

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
