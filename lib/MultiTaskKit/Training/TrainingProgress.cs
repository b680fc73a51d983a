using MultiTaskKit.Runs;
using MultiTaskKit.Steps;
using MultiTaskKit.Optim;
using MultiTaskKit.Data;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Training;

/// <summary>
/// What the trainer reports after every optimizer step and evaluation: the CLI renders it as a live progress bar and
/// notebooks as an updating display. <see cref="TaskLosses"/> holds the losses of the tasks that ran this step;
/// <see cref="Evaluation"/> is set on evaluation events only.
/// </summary>
public sealed record TrainingProgress(
    string Kind,
    long Step,
    long TotalSteps,
    int Epoch,
    IReadOnlyDictionary<string, double> TaskLosses,
    double StepsPerSecond,
    double TokensPerSecond,
    TimeSpan Elapsed,
    TimeSpan? Eta,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>? Evaluation = null,
    string? Message = null)
{
    public double Fraction => TotalSteps == 0 ? 1 : (double)Step / TotalSteps;

    public override string ToString()
    {
        var losses = string.Join(" ", TaskLosses.Select(kv => $"{kv.Key}={kv.Value:F4}"));
        return Kind == "eval" && Evaluation != null
            ? $"eval @ {Step}: " + string.Join("; ", Evaluation.Select(t => $"{t.Key} " + string.Join(" ", t.Value.Select(m => $"{m.Key}={m.Value:F4}"))))
            : $"step {Step}/{TotalSteps} epoch {Epoch} {losses} {StepsPerSecond:F2} steps/s {TokensPerSecond:F0} tok/s ETA {Eta:hh\\:mm\\:ss}";
    }
}
