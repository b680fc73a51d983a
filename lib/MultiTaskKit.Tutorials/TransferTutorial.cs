using MultiTaskKit.Charts;
using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Models;
using MultiTaskKit.Steps;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tutorials;

/// <summary>Notebook 05 (the article's FAQ on MTL versus transfer learning): joint versus sequential training, with forgetting.</summary>
public static class TransferTutorial
{
    /// <summary>The three ways trained, and task 1's loss before and after fine-tuning on task 2.</summary>
    public sealed record Outcome(MtlLab.Result Joint, MtlLab.Result SingleTask, IReadOnlyDictionary<string, double> Sequential,
        double Task1BeforeFineTuning, List<HistoryPoint> SequentialHistory, long SwitchStep)
    {
        /// <summary>How much task 1's validation MSE rose while fine-tuning on task 2.</summary>
        public double Forgetting => Sequential["task1"] - Task1BeforeFineTuning;
    }

    public static Outcome Run(MmoeSynthetic data, MtlLab.Settings s, Func<string, IProgress<TrainingSnapshot>?> progress)
    {
        var joint = MtlLab.Train(data, s, new MtlLab.Recipe("joint (multi-task)", SharingPlan.Hard, t => new EqualWeighting(t)), progress("joint (multi-task)"));
        var single = MtlLab.Train(data, s, Lineups.SingleTask, progress("single-task"));

        using var outer = NewDisposeScope();
        var model = MtlLab.NewModel(s, SharingPlan.Hard);
        var weighting = new EqualWeighting(MtlLab.Tasks);
        var opt = optim.Adam(model.parameters(), s.LearningRate);
        var gen = new Generator((ulong)s.Seed + 7);
        var history = new List<HistoryPoint>();
        var report = progress("sequential: task 1, then task 2");
        long n = data.TrainX.shape[0];
        int evalEvery = Math.Max(1, s.Steps / 10);
        double before = double.NaN;
        var trainingStep = new Training.TrainingStep(model, weighting, null, opt);
        for (int step = 1; step <= 2 * s.Steps; step++)
        {
            string task = step <= s.Steps ? "task1" : "task2";
            var diag = trainingStep.Run(_ =>
            {
                var idx = randint(n, new long[] { s.BatchSize }, generator: gen);
                var target = task == "task1" ? data.TrainY1[idx] : data.TrainY2[idx];
                // Only the task being trained reads the batch, so only its loss is formed.
                return Training.StepBatch.PerTask(new Dictionary<string, TrunkInput> { [task] = TrunkInput.FromFeatures(data.TrainX[idx]) },
                    new Dictionary<string, Tensor> { [task] = target });
            }).Last;
            history.Add(new(step, step * (double)s.BatchSize / n, HistoryPoint.Train, task, "loss", diag.Losses[task]));
            if (step % evalEvery == 0 || step == s.Steps || step == 2 * s.Steps)
            {
                var val = MtlLab.Evaluate(model, data);
                foreach (var (t, v) in val) history.Add(new(step, step * (double)s.BatchSize / n, HistoryPoint.Eval, t, "loss", v));
                if (step == s.Steps) before = val["task1"];
                report?.Report(new TrainingSnapshot(step, 2 * s.Steps, val, Note: $"training {task}"));
            }
        }
        return new Outcome(joint, single, MtlLab.Evaluate(model, data), before, history, s.Steps);
    }

    public static KitTable Table(Outcome o) =>
        new("Joint versus sequential training (validation MSE, lower is better)",
            ["approach", "task1 MSE", "task2 MSE", "Δm vs single-task", "task1 forgetting"],
            [
                ["single-task models", KitTable.Num(o.SingleTask.ValMse["task1"]), KitTable.Num(o.SingleTask.ValMse["task2"]), "0.0 %", "–"],
                ["joint (multi-task)", KitTable.Num(o.Joint.ValMse["task1"]), KitTable.Num(o.Joint.ValMse["task2"]),
                    $"{MtlLab.DeltaM(o.Joint.ValMse, o.SingleTask.ValMse):+0.0;-0.0;0.0} %", "–"],
                ["sequential (task 1 → task 2)", KitTable.Num(o.Sequential["task1"]), KitTable.Num(o.Sequential["task2"]),
                    $"{MtlLab.DeltaM(o.Sequential, o.SingleTask.ValMse):+0.0;-0.0;0.0} %",
                    $"{KitTable.Num(o.Task1BeforeFineTuning)} → {KitTable.Num(o.Sequential["task1"])} ({o.Forgetting:+0.###;-0.###})"],
            ],
            "Forgetting: task 1's validation MSE when training switched to task 2, and after fine-tuning on task 2.");

    public static KitChart ForgettingChart(Outcome o)
    {
        Series Line(string name, string task) => new(name,
            o.SequentialHistory.Where(p => p.Kind == HistoryPoint.Eval && p.Task == task).Select(p => (double)p.Step).ToArray(),
            o.SequentialHistory.Where(p => p.Kind == HistoryPoint.Eval && p.Task == task).Select(p => p.Value).ToArray());
        return MtlCharts.Lines($"Sequential training: switch to task 2 at step {o.SwitchStep}", "optimiser step",
            "validation MSE (squared target units)", [Line("task1 (validation)", "task1"), Line("task2 (validation)", "task2")], markers: true);
    }
}
