namespace MultiTaskKit.Weighting;

/// <summary>
/// Task losses of earlier steps and epochs, kept by the caller and handed to methods in <see cref="StepContext.History"/>.
/// Record every step with <see cref="Record(IReadOnlyDictionary{string, double})"/> (or from the step engine's diagnostics) and close each
/// epoch with <see cref="EndEpoch"/>. Holds doubles only, never tensors.
/// </summary>
public sealed class LossHistory
{
    readonly Dictionary<string, double> first = new();
    readonly Dictionary<string, (double Sum, int Count)> running = new();
    readonly List<IReadOnlyDictionary<string, double>> epochMeans = new();

    /// <summary>The latest recorded loss of each task.</summary>
    public IReadOnlyDictionary<string, double> Last => last;
    readonly Dictionary<string, double> last = new();

    /// <summary>The first recorded loss of each task (GradNorm's L(0)).</summary>
    public IReadOnlyDictionary<string, double> First => first;

    /// <summary>Mean loss per task of each finished epoch, oldest first (DWA).</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, double>> EpochMeans => epochMeans;

    public long Steps { get; private set; }

    public void Record(IReadOnlyDictionary<string, double> losses)
    {
        foreach (var (task, value) in losses)
        {
            if (!double.IsFinite(value)) continue;
            first.TryAdd(task, value);
            last[task] = value;
            running[task] = running.TryGetValue(task, out var r) ? (r.Sum + value, r.Count + 1) : (value, 1);
        }
        Steps++;
    }

    /// <summary>Closes the epoch: the mean of each task's losses since the last call becomes a new entry of <see cref="EpochMeans"/>.</summary>
    public void EndEpoch()
    {
        epochMeans.Add(running.ToDictionary(kv => kv.Key, kv => kv.Value.Sum / kv.Value.Count));
        running.Clear();
    }
}
