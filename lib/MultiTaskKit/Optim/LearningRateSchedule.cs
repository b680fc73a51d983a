namespace MultiTaskKit.Optim;

/// <summary>The shape of the learning rate after warm-up (<c>optimizer.schedule</c>).</summary>
public enum ScheduleShape
{
    /// <summary>The base rate throughout.</summary>
    Constant,
    /// <summary>Linear decay to the final fraction (the BERT fine-tuning schedule, Devlin et al. 2019).</summary>
    Linear,
    /// <summary>Half a cosine from the base rate to the final fraction (Loshchilov and Hutter, SGDR, ICLR 2017, without restarts).</summary>
    Cosine,
    /// <summary>(1 − t)^power from the base rate to the final fraction (Hugging Face's polynomial decay).</summary>
    Polynomial,
}

/// <summary>
/// Linear warm-up from 0 to the base rate over <see cref="WarmupSteps"/>, then the <see cref="Shape"/> (linear by
/// default) from the base rate down to <see cref="FinalFraction"/> of it at <see cref="TotalSteps"/>. A pure function of
/// the step, so resuming needs no scheduler state. Reduce-on-plateau (<see cref="PlateauReducer"/>) multiplies on top.
/// </summary>
public sealed record LearningRateSchedule(long WarmupSteps, long TotalSteps, double FinalFraction = 0.0)
{
    /// <summary>The decay after warm-up.</summary>
    public ScheduleShape Shape { get; init; } = ScheduleShape.Linear;

    /// <summary>The exponent of <see cref="ScheduleShape.Polynomial"/> (1 is linear).</summary>
    public double Power { get; init; } = 1.0;

    /// <summary>The multiplier for optimizer step <paramref name="step"/> (0-based).</summary>
    public double Factor(long step)
    {
        if (WarmupSteps > 0 && step < WarmupSteps) return (step + 1.0) / WarmupSteps;
        if (Shape == ScheduleShape.Constant || TotalSteps <= WarmupSteps) return 1.0;
        var t = Math.Clamp((double)(step - WarmupSteps) / (TotalSteps - WarmupSteps), 0, 1);
        double decay = Shape switch
        {
            ScheduleShape.Cosine => 0.5 * (1 + Math.Cos(Math.PI * t)),
            ScheduleShape.Polynomial => Math.Pow(1 - t, Power),
            _ => 1 - t,
        };
        return FinalFraction + (1.0 - FinalFraction) * decay;
    }

    /// <summary>The schedule <paramref name="o"/> configures for a run of <paramref name="totalSteps"/>.</summary>
    public static LearningRateSchedule From(OptimizerConfig o, long totalSteps) =>
        new((long)Math.Round(o.WarmupFraction * totalSteps), totalSteps, o.FinalLrFraction) { Shape = o.Schedule, Power = o.Power };
}

/// <summary>
/// Reduce-on-plateau driven by the validation selection metric (as PyTorch's <c>ReduceLROnPlateau</c>): after
/// <see cref="Patience"/> evaluations in a row without improvement of the best score, the learning rate is multiplied by
/// <see cref="Factor"/> (on top of the schedule), down to <see cref="MinMultiplier"/>, and the count starts again.
/// Its state is a function of the evaluation scores so far, so a resumed run replays them from its history.
/// </summary>
public sealed class PlateauReducer
{
    double best = double.NegativeInfinity;
    int bad;

    /// <param name="patience">Evaluations without improvement before a reduction (at least 1).</param>
    /// <param name="factor">The multiplier per reduction, in (0, 1).</param>
    /// <param name="minMultiplier">The smallest total multiplier.</param>
    public PlateauReducer(int patience, double factor = 0.5, double minMultiplier = 0.0)
    {
        if (patience < 1) throw new ArgumentOutOfRangeException(nameof(patience), patience, "expected at least 1 evaluation");
        if (!(factor > 0 && factor < 1)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "expected a factor in (0, 1)");
        Patience = patience; Factor = factor; MinMultiplier = minMultiplier;
    }

    public int Patience { get; }
    public double Factor { get; }
    public double MinMultiplier { get; }

    /// <summary>The current multiplier of the learning rate (1 until the first plateau).</summary>
    public double Multiplier { get; private set; } = 1.0;

    /// <summary>Times the rate was reduced.</summary>
    public int Reductions { get; private set; }

    /// <summary>The reducer <paramref name="o"/> configures (null when <c>plateau_patience</c> is 0), with the selection
    /// scores a resumed run has seen so far (<paramref name="scores"/>, in order) replayed.</summary>
    public static PlateauReducer? From(OptimizerConfig o, IEnumerable<double>? scores = null)
    {
        if (o.PlateauPatience <= 0) return null;
        var reducer = new PlateauReducer(o.PlateauPatience, o.PlateauFactor, o.PlateauMinFraction);
        foreach (var score in scores ?? []) reducer.Observe(score);
        return reducer;
    }

    /// <summary>Takes one evaluation's selection score (higher is better, as the trainer's selection score).</summary>
    public void Observe(double score)
    {
        if (double.IsNaN(score)) return;
        if (score > best) { best = score; bad = 0; return; }
        if (++bad < Patience) return;
        bad = 0;
        Multiplier = Math.Max(MinMultiplier, Multiplier * Factor);
        Reductions++;
    }
}
