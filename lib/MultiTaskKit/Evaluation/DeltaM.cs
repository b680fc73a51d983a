namespace MultiTaskKit.Evaluation;

/// <summary>
/// Δm, the multi-task performance measure of LibMTL (Maninis et al. 2019; Vandenhende et al. 2021; Lin &amp; Zhang,
/// LibMTL, JMLR 2023): the mean over tasks of the mean over each task's metrics of the relative change against the
/// single-task baseline, signed so that an improvement is positive:
/// Δm = (100/T) Σₜ (1/Nₜ) Σₘ (−1)^{sₜ,ₘ} (Mₜ,ₘ − Bₜ,ₘ) / Bₜ,ₘ, with sₜ,ₘ = 1 when lower is better, 0 when higher is better.
/// <para>Unit: percent, everywhere in the kit (+2.5 means 2.5 % better than the baselines on average): this
/// class, <see cref="MetricsReport.DeltaM"/>, <c>delta_m</c> in <c>metrics.json</c>, the charts and the tables.</para>
/// </summary>
public static class DeltaM
{
    /// <summary>Whether a larger value of the (snake_case) metric is better, from <see cref="MetricDirections"/>; throws
    /// for a metric it does not know, naming it (Δm must not guess a direction).</summary>
    public static bool HigherIsBetter(string metric) =>
        MetricDirections.TryHigherIsBetter(metric, out var higher) ? higher
        : throw new ArgumentException($"Δm: unknown metric '{metric}'; pass its direction explicitly (known: {string.Join(", ", MetricDirections.Known)})", nameof(metric));

    /// <summary>Δm in percent of <paramref name="multiTask"/> against <paramref name="singleTask"/>, both task → metric → value.
    /// Every metric of the multi-task result needs a baseline value; directions come from <paramref name="higherIsBetter"/>
    /// (metric → bool) or else <see cref="HigherIsBetter"/>.</summary>
    public static double Compute(
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> multiTask,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> singleTask,
        IReadOnlyDictionary<string, bool>? higherIsBetter = null)
    {
        ArgumentNullException.ThrowIfNull(multiTask);
        ArgumentNullException.ThrowIfNull(singleTask);
        if (multiTask.Count == 0) throw new ArgumentException("Δm: expected results for at least one task, found none", nameof(multiTask));
        double total = 0;
        foreach (var (task, metrics) in multiTask)
        {
            if (!singleTask.TryGetValue(task, out var baseline))
                throw new ArgumentException($"Δm: no single-task baseline for task '{task}' (baselines: {string.Join(", ", singleTask.Keys)})", nameof(singleTask));
            if (metrics.Count == 0) throw new ArgumentException($"Δm: task '{task}' has no metrics", nameof(multiTask));
            double sum = 0;
            foreach (var (metric, value) in metrics)
            {
                if (!baseline.TryGetValue(metric, out var b))
                    throw new ArgumentException($"Δm: the baseline of task '{task}' has no metric '{metric}' (it has: {string.Join(", ", baseline.Keys)})", nameof(singleTask));
                if (b == 0 || !double.IsFinite(b))
                    throw new ArgumentException($"Δm: the baseline {metric} of task '{task}' is {b}; a relative change needs a finite non-zero baseline", nameof(singleTask));
                bool higher = higherIsBetter is not null && higherIsBetter.TryGetValue(metric, out var h) ? h : HigherIsBetter(metric);
                sum += (higher ? 1 : -1) * (value - b) / b;
            }
            total += sum / metrics.Count;
        }
        return 100 * total / multiTask.Count;
    }
}
