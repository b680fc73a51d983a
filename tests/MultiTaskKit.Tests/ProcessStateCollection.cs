namespace MultiTaskKit.Tests;

/// <summary>
/// Tests that touch process-wide state run alone, after the parallel ones: they seed torch's global generator and then
/// draw from it (every BERT or head forward in training mode draws from it too, so no other such test may run beside
/// them), train through <see cref="MultiTaskKit.Training.Trainer"/> (which applies its run's runtime options to the
/// process), set environment variables, or change the current directory (the notebook runner). Everything else (parsers,
/// data readers, metrics, the CLI in child processes, loopback servers) runs in parallel.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessStateCollection
{
    public const string Name = "process-wide state (torch RNG, threads, environment, current directory)";
}
