using System.Diagnostics;
using MultiTaskKit.Charts;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tutorials;

/// <summary>
/// The smallest multi-task network, written out in plain TorchSharp so every gradient can be inspected: a shared
/// trunk (two Linear+ReLU layers) and one linear head per task. Used by notebooks 01 and 07.
/// </summary>
public sealed class TwoTaskToy : nn.Module<Tensor, (Tensor, Tensor)>
{
    readonly nn.Module<Tensor, Tensor> trunk;
    readonly nn.Module<Tensor, Tensor> head1, head2;

    public TwoTaskToy(int inputs, int hidden, long seed) : base(nameof(TwoTaskToy))
    {
        torch.manual_seed(seed);
        trunk = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU());
        head1 = nn.Linear(hidden, 1);
        head2 = nn.Linear(hidden, 1);
        RegisterComponents();
    }

    public override (Tensor, Tensor) forward(Tensor x)
    {
        var z = trunk.forward(x);
        return (head1.forward(z).squeeze(-1), head2.forward(z).squeeze(-1));
    }

    /// <summary>Parameters every task updates.</summary>
    public IEnumerable<Tensor> SharedParameters => trunk.parameters();
    /// <summary>Parameters only task 1 (or 2) updates.</summary>
    public IEnumerable<Tensor> Head1Parameters => head1.parameters();
    public IEnumerable<Tensor> Head2Parameters => head2.parameters();
}

/// <summary>
/// A synthetic pair of regression tasks that share structure: both targets are linear read-outs of one hidden
/// non-linear feature map of x, with a dial for how related the read-outs are (cosine of the two read-out vectors).
/// </summary>
public sealed record ToyData(Tensor TrainX, Tensor TrainY1, Tensor TrainY2, Tensor ValX, Tensor ValY1, Tensor ValY2)
{
    public static ToyData Make(int inputs, int trainRows, int valRows, double relatedness, long seed, double noise = 0.1)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator((ulong)seed);
        var w = randn(new long[] { inputs, 16 }, generator: gen) / Math.Sqrt(inputs);
        var a = randn(new long[] { 16 }, generator: gen); a /= a.norm();
        var r = randn(new long[] { 16 }, generator: gen); r -= (r * a).sum() * a; r /= r.norm();
        var b = relatedness * a + Math.Sqrt(Math.Max(0, 1 - relatedness * relatedness)) * r;
        (Tensor x, Tensor y1, Tensor y2) Rows(int n)
        {
            var x = randn(new long[] { n, inputs }, generator: gen);
            var z = tanh(x.matmul(w) * 2);
            return (x, z.matmul(a) + noise * randn(new long[] { n }, generator: gen), z.matmul(b) + noise * randn(new long[] { n }, generator: gen));
        }
        var (tx, ty1, ty2) = Rows(trainRows);
        var (vx, vy1, vy2) = Rows(valRows);
        return new ToyData(tx.MoveToOuterDisposeScope(), ty1.MoveToOuterDisposeScope(), ty2.MoveToOuterDisposeScope(),
            vx.MoveToOuterDisposeScope(), vy1.MoveToOuterDisposeScope(), vy2.MoveToOuterDisposeScope());
    }
}

/// <summary>The flows of notebook 01 (why multi-task) on <see cref="TwoTaskToy"/>; the script calls the same methods.</summary>
public static class WhyMultitask
{
    /// <summary>Sizes for notebook 01.</summary>
    public sealed record Settings(int Inputs, int Hidden, int TrainRows, int ValRows, int Steps, int BatchSize, double LearningRate, long Seed)
    {
        public static Settings For(TutorialSize size) => size == TutorialSize.Small
            ? new(Inputs: 8, Hidden: 32, TrainRows: 512, ValRows: 256, Steps: 60, BatchSize: 64, LearningRate: 3e-3, Seed: 1)
            : new(Inputs: 8, Hidden: 64, TrainRows: 4096, ValRows: 1024, Steps: 1500, BatchSize: 64, LearningRate: 3e-3, Seed: 1);
    }

    /// <summary>
    /// One batch, L = w1·L1 + w2·L2, one backward pass; then each task's gradient alone. Shows numerically that the
    /// shared parameters receive w1·∇L1 + w2·∇L2 while each head receives only its own task's gradient.
    /// </summary>
    public static KitTable GradientSplit(ToyData data, Settings s, double w1, double w2)
    {
        using var scope = NewDisposeScope();
        var model = new TwoTaskToy(s.Inputs, s.Hidden, s.Seed);
        var x = data.TrainX[..s.BatchSize]; var y1 = data.TrainY1[..s.BatchSize]; var y2 = data.TrainY2[..s.BatchSize];

        Tensor Flat(IEnumerable<Tensor> ps) => cat(ps.Select(p => p.grad is null ? zeros_like(p).flatten() : p.grad.flatten()).ToList());
        Dictionary<string, Tensor> Grads(Func<Tensor, Tensor, Tensor> loss)
        {
            model.zero_grad();
            var (p1, p2) = model.forward(x);
            loss(nn.functional.mse_loss(p1, y1), nn.functional.mse_loss(p2, y2)).backward();
            return new() { ["shared trunk"] = Flat(model.SharedParameters).clone(), ["head 1"] = Flat(model.Head1Parameters).clone(), ["head 2"] = Flat(model.Head2Parameters).clone() };
        }
        var total = Grads((l1, l2) => w1 * l1 + w2 * l2);
        var g1 = Grads((l1, _) => l1);
        var g2 = Grads((_, l2) => l2);
        var rows = total.Keys.Select(part =>
        {
            var combined = w1 * g1[part] + w2 * g2[part];
            return (IReadOnlyList<string>)[part,
                KitTable.Num(g1[part].norm().item<float>()), KitTable.Num(g2[part].norm().item<float>()),
                KitTable.Num(total[part].norm().item<float>()),
                KitTable.Num((total[part] - combined).abs().max().item<float>())];
        });
        return new KitTable($"Gradient of L = {w1}·L1 + {w2}·L2, split by parameter group (one batch of {s.BatchSize})",
            ["parameters", "‖∇L1‖", "‖∇L2‖", "‖∇L‖", "max |∇L − (w1∇L1 + w2∇L2)|"], rows,
            "Each head gets only its own task's gradient (the other norm is 0); the trunk gets the weighted sum.");
    }

    /// <summary>Result of one training run: final validation MSE per task and the history.</summary>
    public sealed record Run(double W1, double W2, double ValMse1, double ValMse2, List<HistoryPoint> History, TimeSpan Elapsed);

    /// <summary>Trains a fresh <see cref="TwoTaskToy"/> with L = w1·L1 + w2·L2 (Adam), evaluating every tenth of the run.</summary>
    public static Run Train(ToyData data, Settings s, double w1, double w2, IProgress<TrainingSnapshot>? progress = null)
    {
        using var outer = NewDisposeScope();
        var model = new TwoTaskToy(s.Inputs, s.Hidden, s.Seed);
        var opt = optim.Adam(model.parameters(), s.LearningRate);
        var gen = new Generator((ulong)s.Seed + 1);
        var history = new List<HistoryPoint>();
        long n = data.TrainX.shape[0];
        int evalEvery = Math.Max(1, s.Steps / 10);
        var clock = Stopwatch.StartNew();
        for (int step = 1; step <= s.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var idx = randint(n, new long[] { s.BatchSize }, generator: gen);
            var (p1, p2) = model.forward(data.TrainX[idx]);
            var l1 = nn.functional.mse_loss(p1, data.TrainY1[idx]);
            var l2 = nn.functional.mse_loss(p2, data.TrainY2[idx]);
            opt.zero_grad();
            (w1 * l1 + w2 * l2).backward();
            opt.step();
            double epoch = step * (double)s.BatchSize / n;
            history.Add(new(step, epoch, HistoryPoint.Train, "task1", "loss", l1.item<float>()));
            history.Add(new(step, epoch, HistoryPoint.Train, "task2", "loss", l2.item<float>()));
            if (step % evalEvery == 0 || step == s.Steps)
            {
                var (v1, v2) = Evaluate(model, data);
                history.Add(new(step, epoch, HistoryPoint.Eval, "task1", "loss", v1));
                history.Add(new(step, epoch, HistoryPoint.Eval, "task2", "loss", v2));
                progress?.Report(new TrainingSnapshot(step, s.Steps, new Dictionary<string, double> { ["task1"] = v1, ["task2"] = v2 },
                    step / clock.Elapsed.TotalSeconds, $"w1={w1}, w2={w2}"));
            }
        }
        var (f1, f2) = Evaluate(model, data);
        return new Run(w1, w2, f1, f2, history, clock.Elapsed);
    }

    static (double, double) Evaluate(TwoTaskToy model, ToyData data)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (p1, p2) = model.forward(data.ValX);
        return (nn.functional.mse_loss(p1, data.ValY1).item<float>(), nn.functional.mse_loss(p2, data.ValY2).item<float>());
    }

    /// <summary>A table of runs: weights and final validation MSE per task.</summary>
    public static KitTable Summary(IEnumerable<Run> runs) =>
        new("Final validation MSE for each weighting", ["w1", "w2", "task1 MSE", "task2 MSE", "seconds"],
            runs.Select(r => (IReadOnlyList<string>)[KitTable.Num(r.W1), KitTable.Num(r.W2), KitTable.Num(r.ValMse1), KitTable.Num(r.ValMse2), KitTable.Num(r.Elapsed.TotalSeconds)]));

    /// <summary>Bars of final validation MSE per task for each (w1, w2).</summary>
    public static KitChart WeightsChart(IEnumerable<Run> runs)
    {
        var list = runs.ToList();
        return MtlCharts.Bars("What changing w1/w2 does: final validation MSE per task", "weights (w1, w2)", "validation MSE (squared target units)",
            list.Select(r => $"({r.W1}, {r.W2})").ToArray(),
            [new BarGroup("task1", list.Select(r => r.ValMse1).ToArray()), new BarGroup("task2", list.Select(r => r.ValMse2).ToArray())]);
    }
}
