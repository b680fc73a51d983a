using System.Diagnostics;

namespace MultiTaskKit.Benchmarks;

/// <summary>Times of repeated runs of one piece of work, in seconds.</summary>
public sealed record Timing(IReadOnlyList<double> Seconds)
{
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
        for (int i = 0; i < steps; i++)
        {
            var sw = Stopwatch.StartNew();
            work();
            times[i] = sw.Elapsed.TotalSeconds;
        }
        return new Timing(times);
    }
}
