namespace MultiTaskKit.Benchmarks;

/// <summary>
/// Wires the kit's own parts (BERT trunk, multi-task model, tokenizer, weighting methods) into the bench runner.
/// A part not yet in the library stays null and is reported as unavailable, with the reason, in every run.
/// </summary>
public static class KitBench
{
    public static KitParts Parts(string? dataDir = null) => new()
    {
        TrainingStep = (shape, tasks) => new KitTrainingStep(shape, tasks),
    };
}
