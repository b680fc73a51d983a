using System.Diagnostics;
using TorchSharp;

namespace MultiTaskKit.Benchmarks;

/// <summary>What a long run did to memory: resident set size at two checkpoints and the live tensor count before and after.</summary>
public sealed record SoakResult(string Model, int Steps, int EarlyStep, double RssMiBAtEarly, double RssMiBAtEnd, double GrowthPercent,
    long LiveTensorsAtStart, long LiveTensorsAtEnd, double SecondsPerStep)
{
    public bool TensorCountReturned => LiveTensorsAtEnd == LiveTensorsAtStart;
}

/// <summary>
/// Runs many training steps and watches for leaks. Live tensors are TorchSharp's count of undisposed tensor handles
/// made on the stepping thread (<see cref="LiveTensors"/>), which a leak of one tensor per step makes climb and which
/// other threads' work (a parallel test) does not move; resident memory is the kernel's VmRSS, which catches native
/// leaks that hold no handle.
/// </summary>
public static class Soak
{
    public static SoakResult Run(BenchStep step, int steps, int earlyStep = 100, IProgress<int>? progress = null)
    {
        if (steps < earlyStep) throw new ArgumentOutOfRangeException(nameof(steps), steps, $"expected at least {earlyStep} steps, the early checkpoint");
        // The first step allocates the optimiser's state and autograd's buffers: count from after it, as a user would.
        step.Step();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long tensorsAtStart = LiveTensors;
        double rssEarly = 0;
        var sw = Stopwatch.StartNew();
        for (int i = 1; i <= steps; i++)
        {
            step.Step();
            if (i == earlyStep) rssEarly = ResidentMiB();
            if (i % 50 == 0) progress?.Report(i);
        }
        var seconds = sw.Elapsed.TotalSeconds / steps;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var rssEnd = ResidentMiB();
        return new SoakResult(step.Name, steps, earlyStep, rssEarly, rssEnd, 100.0 * (rssEnd - rssEarly) / rssEarly,
            tensorsAtStart, LiveTensors, seconds);
    }

    /// <summary>Tensors created on this thread and not yet disposed.</summary>
    public static long LiveTensors => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    /// <summary>This process's resident set size in MiB (Linux /proc; elsewhere the working set .NET reports).</summary>
    public static double ResidentMiB()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
            foreach (var line in File.ReadLines(status))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0; // "VmRSS:\t  1234 kB"
        using var p = Process.GetCurrentProcess();
        p.Refresh();
        return p.WorkingSet64 / (1024.0 * 1024.0);
    }
}
