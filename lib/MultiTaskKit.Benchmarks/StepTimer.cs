using System.Diagnostics;

namespace MultiTaskKit.Benchmarks;

/// <summary>Times of repeated runs of one piece of work, in seconds.</summary>
public sealed record Timing(IReadOnlyList<double> Seconds, IReadOnlyList<double>? CpuSeconds = null)
{
    /// <summary>Median CPU time of the whole process per run (all threads, user and kernel): steadier than wall time
    /// on a shared machine, though it also counts spinning worker threads.</summary>
    public double CpuMedian => CpuSeconds is { Count: > 0 } c ? new Timing(c).Median : double.NaN;

    /// <summary>The median: one slow step (a page fault, another process) does not move it.</summary>
    public double Median
    {
        get
        {
            var s = Seconds.Order().ToArray();
            return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        }
    }

    public double Min => Seconds.Count == 0 ? double.NaN : Seconds.Min();
}

/// <summary>Runs work after warm-up and records each run's wall time.</summary>
public static class StepTimer
{
    public static Timing Measure(Action work, int steps, int warmup = 1)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "expected at least 1 timed step");
        for (int i = 0; i < warmup; i++) work();
        var times = new double[steps];
        var cpu = new double[steps];
        using var process = Process.GetCurrentProcess();
        for (int i = 0; i < steps; i++)
        {
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            work();
            times[i] = sw.Elapsed.TotalSeconds;
            process.Refresh();
            cpu[i] = (process.TotalProcessorTime - cpu0).TotalSeconds;
        }
        return new Timing(times, cpu);
    }
}
