using MultiTaskKit.Data;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Data;

/// <summary>How a multi-task step chooses which tasks get a batch.</summary>
public enum SamplingMode
{
    /// <summary>Every task gets one batch every step (the article's joint loss L = Σ wᵢ Lᵢ).</summary>
    AllTasks,
    /// <summary>One task per step, in turn.</summary>
    RoundRobin,
    /// <summary>One task per step, drawn with probability proportional to its training-set size.</summary>
    Proportional,
    /// <summary>One task per step, drawn with probability ∝ size^(1/T) (temperature sampling, Arivazhagan et al. 2019); T = 1 is proportional, large T tends to uniform.</summary>
    Temperature,
}

/// <summary>
/// Chooses the tasks of each step. The draw for step s depends only on (seed, s), never on earlier draws, so a resumed
/// run makes the same choices without saving any sampler state beyond the step number.
/// </summary>
public sealed class TaskSampler
{
    readonly double[] cumulative;

    public TaskSampler(IReadOnlyList<string> tasks, IReadOnlyList<int> sizes, SamplingMode mode, ulong seed, double temperature = 2.0)
    {
        if (tasks.Count == 0) throw new ArgumentException("tasks: expected at least one task, found none.", nameof(tasks));
        if (sizes.Count != tasks.Count) throw new ArgumentException($"sizes: expected {tasks.Count} sizes, found {sizes.Count}.", nameof(sizes));
        if (mode == SamplingMode.Temperature && !(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "expected a positive temperature");
        Tasks = tasks;
        Mode = mode;
        Seed = seed;
        Temperature = temperature;
        var weights = sizes.Select(n => mode switch
        {
            SamplingMode.Proportional => (double)n,
            SamplingMode.Temperature => Math.Pow(n, 1.0 / temperature),
            _ => 1.0,
        }).ToArray();
        var total = weights.Sum();
        cumulative = new double[weights.Length];
        double acc = 0;
        for (int i = 0; i < weights.Length; i++) { acc += weights[i] / total; cumulative[i] = acc; }
    }

    public IReadOnlyList<string> Tasks { get; }
    public SamplingMode Mode { get; }
    public ulong Seed { get; }
    public double Temperature { get; }

    /// <summary>Probability that a one-task-per-step sampler picks each task.</summary>
    public IReadOnlyList<double> Probabilities => cumulative.Select((c, i) => i == 0 ? c : c - cumulative[i - 1]).ToList();

    /// <summary>The tasks that get a batch at step <paramref name="step"/> (0-based).</summary>
    public IReadOnlyList<string> TasksAt(long step) => Mode switch
    {
        SamplingMode.AllTasks => Tasks,
        SamplingMode.RoundRobin => [Tasks[(int)(step % Tasks.Count)]],
        _ => [Tasks[Draw(step)]],
    };

    int Draw(long step)
    {
        var u = new SeededRandom(SeededRandom.Derive(Seed, $"sampler:{step}")).NextDouble();
        for (int i = 0; i < cumulative.Length; i++) if (u < cumulative[i]) return i;
        return cumulative.Length - 1;
    }
}
