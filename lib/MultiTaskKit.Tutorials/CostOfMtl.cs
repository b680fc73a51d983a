using System.Diagnostics;
using MultiTaskKit.Charts;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tutorials;

/// <summary>
/// Notebook 07 (the article's FAQ on resources): parameters, training memory and time per step of two single-task
/// models against one multi-task model with a shared trunk, measured on this machine.
/// </summary>
public static class CostOfMtl
{
    /// <summary>Sizes for notebook 07: trunk widths to measure, batch and timed steps.</summary>
    public sealed record Settings(int Inputs, int[] Hidden, int BatchSize, int Steps, long Seed)
    {
        public static Settings For(TutorialSize size) => size == TutorialSize.Small
            ? new(Inputs: 32, Hidden: [64, 128], BatchSize: 64, Steps: 10, Seed: 1)
            : new(Inputs: 256, Hidden: [256, 1024, 2048], BatchSize: 256, Steps: 100, Seed: 1);
    }

    sealed class OneTask : nn.Module<Tensor, Tensor>
    {
        readonly nn.Module<Tensor, Tensor> trunk, head;
        public OneTask(int inputs, int hidden) : base(nameof(OneTask))
        {
            trunk = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU());
            head = nn.Linear(hidden, 1);
            RegisterComponents();
        }
        public override Tensor forward(Tensor x) => head.forward(trunk.forward(x)).squeeze(-1);
    }

    /// <summary>One measured configuration.</summary>
    /// <param name="Setup">"two single-task models" or "one multi-task model".</param>
    /// <param name="Hidden">Trunk width.</param>
    /// <param name="Parameters">Trainable parameters.</param>
    /// <param name="TrainingStateMiB">Weights + gradients + Adam's two moments, fp32 (4 × 4 bytes per parameter).</param>
    /// <param name="MsPerStep">Wall time of one optimiser step covering both tasks (median of the timed steps).</param>
    public sealed record Measurement(string Setup, int Hidden, long Parameters, double TrainingStateMiB, double MsPerStep);

    public static List<Measurement> Measure(Settings s, IProgress<TrainingSnapshot>? progress = null)
    {
        var results = new List<Measurement>();
        int done = 0, total = s.Hidden.Length * 2;
        foreach (var h in s.Hidden)
        {
            using var scope = NewDisposeScope();
            torch.manual_seed(s.Seed);
            var x = randn(s.BatchSize, s.Inputs); var y1 = randn(s.BatchSize); var y2 = randn(s.BatchSize);

            var a = new OneTask(s.Inputs, h); var b = new OneTask(s.Inputs, h);
            var optA = optim.Adam(a.parameters()); var optB = optim.Adam(b.parameters());
            double single = Time(s.Steps, () =>
            {
                optA.zero_grad(); nn.functional.mse_loss(a.forward(x), y1).backward(); optA.step();
                optB.zero_grad(); nn.functional.mse_loss(b.forward(x), y2).backward(); optB.step();
            });
            long pSingle = Count(a) + Count(b);
            results.Add(new("two single-task models", h, pSingle, pSingle * 16 / 1048576.0, single));
            progress?.Report(new TrainingSnapshot(++done, total, new Dictionary<string, double>(), Note: $"hidden {h}: single-task measured"));

            var m = new TwoTaskToy(s.Inputs, h, s.Seed);
            var opt = optim.Adam(m.parameters());
            double multi = Time(s.Steps, () =>
            {
                opt.zero_grad();
                var (p1, p2) = m.forward(x);
                (nn.functional.mse_loss(p1, y1) + nn.functional.mse_loss(p2, y2)).backward();
                opt.step();
            });
            long pMulti = Count(m);
            results.Add(new("one multi-task model", h, pMulti, pMulti * 16 / 1048576.0, multi));
            progress?.Report(new TrainingSnapshot(++done, total, new Dictionary<string, double>(), Note: $"hidden {h}: multi-task measured"));
        }
        return results;
    }

    static long Count(nn.Module m) => m.parameters().Sum(p => p.numel());

    static double Time(int steps, Action step)
    {
        for (int i = 0; i < 3; i++) { using var warm = NewDisposeScope(); step(); }
        var times = new List<double>();
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            step();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    public static KitTable Table(IEnumerable<Measurement> ms) =>
        new("Cost of two single-task models versus one multi-task model (both tasks, one step each)",
            ["setup", "hidden", "parameters", "training state (MiB)", "ms per step"],
            ms.Select(m => (IReadOnlyList<string>)[m.Setup, m.Hidden.ToString(), m.Parameters.ToString("N0"), KitTable.Num(m.TrainingStateMiB), KitTable.Num(m.MsPerStep)]),
            $"Measured on {Environment.ProcessorCount} cores, {TorchRuntime.Threads} libtorch threads; median step time.");

    public static KitChart[] Charts(IReadOnlyList<Measurement> ms)
    {
        var widths = ms.Select(m => m.Hidden).Distinct().Select(h => $"hidden {h}").ToArray();
        BarGroup Group(string setup, Func<Measurement, double> f) => new(setup, ms.Where(m => m.Setup == setup).Select(f).ToArray());
        var setups = ms.Select(m => m.Setup).Distinct().ToArray();
        return
        [
            MtlCharts.Bars("Parameters", "trunk width", "trainable parameters (count)", widths, setups.Select(su => Group(su, m => m.Parameters))),
            MtlCharts.Bars("Time per training step (both tasks)", "trunk width", "time per step (ms)", widths, setups.Select(su => Group(su, m => m.MsPerStep))),
        ];
    }
}
