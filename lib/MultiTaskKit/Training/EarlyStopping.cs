using MultiTaskKit.Runs;
using MultiTaskKit.Steps;
using MultiTaskKit.Optim;
using MultiTaskKit.Data;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Training;

/// <summary>
/// The best validation score so far and patience: <see cref="Observe"/> each evaluation's selection score (higher is
/// better); <see cref="ShouldStop"/> once <see cref="Patience"/> evaluations in a row brought no improvement. Its state
/// is saved in the checkpoint, so a resumed run keeps counting.
/// </summary>
public sealed class EarlyStopping(int patience, double? best = null, long? bestStep = null, int evalsWithoutImprovement = 0)
{
    /// <summary>Evaluations without improvement before stopping; 0 never stops.</summary>
    public int Patience { get; } = patience;

    public double? Best { get; private set; } = best;

    public long? BestStep { get; private set; } = bestStep;

    public int EvalsWithoutImprovement { get; private set; } = evalsWithoutImprovement;

    /// <summary>True once <see cref="Stop"/> was called.</summary>
    public bool Stopped { get; private set; }

    public bool ShouldStop => Patience > 0 && EvalsWithoutImprovement >= Patience;

    /// <summary>Records an evaluation's score at <paramref name="step"/>; true when it is a new best.</summary>
    public bool Observe(long step, double score)
    {
        if (Best is null || score > Best)
        {
            Best = score; BestStep = step; EvalsWithoutImprovement = 0;
            return true;
        }
        EvalsWithoutImprovement++;
        return false;
    }

    public void Stop() => Stopped = true;
}
