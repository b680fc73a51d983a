namespace MultiTaskKit.Tests;

/// <summary>
/// Tests that touch process-wide state run alone, after the parallel ones: they seed torch's global generator and then
/// draw from it (every BERT or head forward in training mode, and every module's initialisation, draws from it too, so
/// no other such test may run beside them), train through <see cref="MultiTaskKit.Training.Trainer"/> or
/// <see cref="MultiTaskKit.Training.SyntheticTraining"/> (which re-seed it), change libtorch's thread count or the
/// process's default device (<see cref="MultiTaskKit.Runtime.TorchRuntime"/>), set environment variables, or change the
/// current directory (the notebook runner). Everything else (parsers, data readers, metrics, the weighting and
/// aggregation methods, which draw from their own seeded generators, the CLI in child processes, loopback servers) runs
/// in parallel. <see cref="Layout.TestIsolationTests"/> holds the test sources to this.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessStateCollection
{
    public const string Name = "process-wide state (torch RNG, threads, environment, current directory)";
}
