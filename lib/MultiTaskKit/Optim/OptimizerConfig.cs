namespace MultiTaskKit.Optim;

public enum OptimizerKind { Adamw, Adam, Sgd }

public sealed record OptimizerConfig
{
    public OptimizerKind Name { get; init; } = OptimizerKind.Adamw;
    public double Lr { get; init; } = 5e-5;
    /// <summary>Learning rate of the task heads (null: same as <see cref="Lr"/>). Fresh heads learn faster than pretrained layers.</summary>
    public double? HeadLr { get; init; }
    public double WeightDecay { get; init; } = 0.01;
    public double Momentum { get; init; } = 0.9;
    /// <summary>Share of the total steps spent warming up linearly; then the <see cref="Schedule"/>.</summary>
    public double WarmupFraction { get; init; } = 0.1;
    /// <summary>The decay after warm-up: <c>linear</c> (default), <c>constant</c>, <c>cosine</c> or <c>polynomial</c>
    /// (<see cref="LearningRateSchedule"/>).</summary>
    public ScheduleShape Schedule { get; init; } = ScheduleShape.Linear;
    /// <summary>The rate at the last step, as a fraction of the base rate (linear, cosine, polynomial).</summary>
    public double FinalLrFraction { get; init; }
    /// <summary>The exponent of the polynomial schedule.</summary>
    public double Power { get; init; } = 1.0;
    /// <summary>Reduce-on-plateau: evaluations without improvement of the selection metric before the rate is multiplied
    /// by <see cref="PlateauFactor"/> (0: off). Needs evaluations (<c>training.eval_every_steps</c> or per epoch).</summary>
    public int PlateauPatience { get; init; }
    /// <summary>The multiplier per plateau, in (0, 1).</summary>
    public double PlateauFactor { get; init; } = 0.5;
    /// <summary>The smallest total plateau multiplier.</summary>
    public double PlateauMinFraction { get; init; }
    /// <summary>Global gradient-norm clip (null: none).</summary>
    public double? ClipNorm { get; init; } = 1.0;
}
