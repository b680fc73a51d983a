namespace MultiTaskKit.Tutorials;

/// <summary>One progress report from a tutorial's training loop: step of total, per-task losses, throughput.</summary>
public sealed record TrainingSnapshot(long Step, long TotalSteps, IReadOnlyDictionary<string, double> TaskLosses, double StepsPerSecond = double.NaN, string? Note = null);
