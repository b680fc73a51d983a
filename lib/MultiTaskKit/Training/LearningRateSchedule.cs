namespace MultiTaskKit.Training;

/// <summary>
/// Linear warm-up from 0 to the base rate over <see cref="WarmupSteps"/>, then linear decay to
/// <see cref="FinalFraction"/> of it at <see cref="TotalSteps"/> (the BERT fine-tuning schedule, Devlin et al. 2019).
/// A pure function of the step, so resuming needs no scheduler state.
/// </summary>
public sealed record LearningRateSchedule(long WarmupSteps, long TotalSteps, double FinalFraction = 0.0)
{
    /// <summary>The multiplier for optimizer step <paramref name="step"/> (0-based).</summary>
    public double Factor(long step)
    {
        if (WarmupSteps > 0 && step < WarmupSteps) return (step + 1.0) / WarmupSteps;
        if (TotalSteps <= WarmupSteps) return 1.0;
        var t = Math.Clamp((double)(step - WarmupSteps) / (TotalSteps - WarmupSteps), 0, 1);
        return 1.0 - (1.0 - FinalFraction) * t;
    }
}
