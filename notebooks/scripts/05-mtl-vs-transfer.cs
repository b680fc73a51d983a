// Generated from notebooks/05-mtl-vs-transfer.ipynb by `mtk notebook export-scripts`: edit the notebook, not this file
// (CI fails when this file differs from what the notebook makes).
// Run: dotnet run notebooks/scripts/05-mtl-vs-transfer.cs     (MTK_NOTEBOOK_SIZE=small for a quick run)
// Tables print to the console; charts and diagrams go to runs/notebooks/05-mtl-vs-transfer.html (or $MTK_SCRIPT_OUT).
#:project ../../lib/MultiTaskKit.Charts
// The kit writes its run configurations with reflection-based System.Text.Json, which file-based programs turn off by default.
#:property PublishAot=false
using System.Text;
using MultiTaskKit.Charts;
using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Charts.Scripts;
using MultiTaskKit.Models;
using MultiTaskKit.Training;
using TorchSharp;
using static TorchSharp.torch;

// What the kit's kernel extension does when the notebook loads the kit: TorchSharp's native libraries, before any cell.
MultiTaskKit.Runtime.TorchRuntime.EnsureInitialized();

// # 05 · Multi-task learning or transfer learning?
//
// *Default run: 9 s in `mtk notebook run`, on a 2-core Intel Xeon with AVX-512 (fp32: `auto` measured bf16 slower
// there), measured 2026-12-05. `MTK_NOTEBOOK_SIZE=small` makes a shorter run; a script's first `dotnet run` adds its
// build.*
//
// The article's FAQ contrasts two ways to use a second task:
//
// - **multi-task learning**: train on both tasks *jointly*, one shared trunk, both losses every step;
// - **transfer learning**: train on task 1 first, then *fine-tune* the same network on task 2.
//
// Transfer can be excellent for task 2, but it is sequential: while fine-tuning on task 2 nothing keeps task 1's
// performance, which may be *forgotten* (灾难性遗忘, catastrophic forgetting).
//
// **You will be able to**
// 1. write the sequential fine-tuning loop and the joint loop, and see that they differ in one line: which losses enter the step;
// 2. measure forgetting: task 1's error before and after fine-tuning on task 2;
// 3. say when each approach is the better choice.
//
// Load the kit.
//
// ## Parameters
//
// The kit's synthetic regression problem with two related tasks: task k's target is scaleₖ·tanh(2·aₖᵀx) plus noise,
// and `conflict` sets the angle between the directions a₁ and a₂, conflict × 90° (0: the same function; 1: orthogonal
// directions; 0.3: related, not identical).
//
var small = Environment.GetEnvironmentVariable("MTK_NOTEBOOK_SIZE") == "small";
int samples = small ? 256 : 1024, stepsPerTask = small ? 60 : 600, hidden = 16, batchSize = 64;
double conflict = 0.3, learningRate = 1e-2;
var problem = new SyntheticRegression(new SyntheticRegressionOptions(Tasks: 2, InputSize: 8, Samples: samples, Conflict: conflict, Seed: 1));
var tasks = problem.TaskNames;
$"tasks {string.Join(", ", tasks)}, conflict {conflict}; {stepsPerTask} steps per task".Display();

// ## One loop for both approaches
//
// A hard-shared network (MLP trunk, a regression head per task). Each step draws a batch, runs the network, and
// backpropagates the losses of the tasks that `schedule(step)` names. Sequential training names task 1 for the first
// half and task 2 for the second; joint training names both every step. The full-data MSE of both tasks is recorded
// twenty times per run.
//
(Dictionary<string, double> Final, List<HistoryPoint> Curve) Train(Func<int, string[]> schedule, int totalSteps, SharingPlan plan)
{
    manual_seed(1);
    var model = new MultiTaskModel(new MlpTrunk(new MlpTrunkOptions(InputSize: 8, HiddenSize: hidden)),
        tasks.Select(t => KeyValuePair.Create(t, (TaskHead)new RegressionHead(hidden))), plan);
    var optimizer = optim.Adam(model.parameters(), learningRate);
    var batches = new Generator(7);
    var curve = new List<HistoryPoint>();
    for (int step = 1; step <= totalSteps; step++)
    {
        using var scope = NewDisposeScope();
        var rows = randint(samples, [batchSize], generator: batches);
        var output = model.forward(TrunkInput.FromFeatures(problem.Features[rows]));
        var loss = schedule(step).Select(t => model.Head(t).Loss(output[t], problem.Targets[t][rows])).Aggregate((a, b) => a + b);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        if (step % (totalSteps / 20) == 0)
            foreach (var (t, mse) in SyntheticTraining.Evaluate(model, problem.Features, problem.Targets))
                curve.Add(new(step, 0, HistoryPoint.Eval, t, "loss", mse));
    }
    return (SyntheticTraining.Evaluate(model, problem.Features, problem.Targets), curve);
}

// Sequential (transfer) training: task 1 for `stepsPerTask` steps, then fine-tuning on task 2 for as many.
//
var sequential = Train(step => step <= stepsPerTask ? [tasks[0]] : [tasks[1]], 2 * stepsPerTask, SharingPlan.Hard);
double before = sequential.Curve.Last(p => p.Task == tasks[0] && p.Step <= stepsPerTask).Value;
$"task 1 MSE when fine-tuning starts: {before:0.0000}; after fine-tuning on task 2: {sequential.Final[tasks[0]]:0.0000} (forgetting: {sequential.Final[tasks[0]] - before:+0.0000;-0.0000})".Display();

// Task 1's error over the sequential run: it rises once training switches to task 2.
//
Series Line(List<HistoryPoint> curve, string task) =>
    new($"{task} (full-data MSE)", curve.Where(p => p.Task == task).Select(p => (double)p.Step).ToArray(), curve.Where(p => p.Task == task).Select(p => p.Value).ToArray());
MtlCharts.Lines($"Sequential training: task 2 from step {stepsPerTask + 1}", "optimiser step", "MSE (squared target units)",
    [Line(sequential.Curve, tasks[0]), Line(sequential.Curve, tasks[1])], markers: true).Display();

// Joint (multi-task) training for the same number of steps, both losses every step; and the single-task models
// (`isolated` plan: each task its own trunk, trained on its own loss only) for Δm.
//
var joint = Train(step => [tasks[0], tasks[1]], 2 * stepsPerTask, SharingPlan.Hard);
var single = Train(step => [tasks[0], tasks[1]], 2 * stepsPerTask, SharingPlan.Isolated);
IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> AsMetrics(Dictionary<string, double> mse) =>
    mse.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, double>)new Dictionary<string, double> { ["mse"] = kv.Value });
new KitTable("Joint versus sequential training (full-data MSE, lower is better)", ["approach", $"{tasks[0]} MSE", $"{tasks[1]} MSE", "Δm vs single-task"],
    new[] { ("single-task models", single.Final), ("joint (multi-task)", joint.Final), ("sequential (task 1 → task 2)", sequential.Final) }
        .Select(r => (IReadOnlyList<string>)[r.Item1, KitTable.Num(r.Item2[tasks[0]]), KitTable.Num(r.Item2[tasks[1]]), $"{DeltaM.Compute(AsMetrics(r.Item2), AsMetrics(single.Final)):+0.0;-0.0} %"])).Display();

// ## Reading the results
//
// - Fine-tuning gives task 2 a head start from task 1's features; on task 2 alone it is often as good as joint training.
// - Task 1 is what transfer gives up: its error after fine-tuning, against its error when fine-tuning began.
// - Joint training keeps both tasks in one model, at the cost of balancing them (notebooks 03 and 04). Choose transfer
//   when only the second task matters at the end; choose multi-task learning when both must keep working.
//
// ## Exercises
//
// 1. Set `conflict = 0.0` (identical directions). *You should see* far less forgetting than at 0.3, but not none:
//    measured at default size (2026-12-05), task 1's MSE rose by 0.023 against 0.203. <details><summary>Why</summary>
//    The tasks want the same features, so fine-tuning on task 2 keeps most of what task 1 needs. The trunk still moves
//    to suit task 2's new head, and task 1's head, left as it was, matches it a little less.</details>
// 2. Set `conflict = 1.0` (orthogonal directions). *You should see* more forgetting than at 0.3: task 1's MSE after
//    fine-tuning rises further above its value at the switch (measured at default size, 2026-12-05: by 0.86, against
//    0.20 at 0.3). <details><summary>Why</summary>Task 2 then reads a
//    direction of x that task 1 does not use. Fine-tuning turns the trunk's units towards it, and task 1's head, left as
//    it was, no longer matches the trunk. (Under an angle of 180° there would be far less to forget: tanh is odd, so
//    that task 2 is the negated task 1, and a new head fits it from the same trunk.)</details>
// 3. Freeze the trunk during fine-tuning: in `Train`, after step `stepsPerTask`, call `model.FreezeShared()`.
//    *You should see* forgetting vanish and task 2's MSE rise. <details><summary>Why</summary>Only task 2's head then
//    learns; task 1's path through the network is untouched, but task 2 must make do with task 1's features.</details>
//
