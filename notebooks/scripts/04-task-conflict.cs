// Generated from notebooks/04-task-conflict.ipynb by `mtk notebook export-scripts`: edit the notebook, not this file
// (CI fails when this file differs from what the notebook makes).
// Run: dotnet run notebooks/scripts/04-task-conflict.cs     (MTK_NOTEBOOK_SIZE=small for a quick run)
// Tables print to the console; charts and diagrams go to runs/notebooks/04-task-conflict.html (or $MTK_SCRIPT_OUT).
#:project ../../lib/MultiTaskKit.Charts
// The kit writes its run configurations with reflection-based System.Text.Json, which file-based programs turn off by default.
#:property PublishAot=false
using System.Text;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Charts;
using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Charts.Scripts;
using MultiTaskKit.Models;
using MultiTaskKit.Steps;
using MultiTaskKit.Training;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;

// What the kit's kernel extension does when the notebook loads the kit: TorchSharp's native libraries, before any cell.
MultiTaskKit.Runtime.TorchRuntime.EnsureInitialized();

// # 04 · Task conflict: measure it, then remedy it
//
// *Default run: 12 s in `mtk notebook run`, on a 2-core Intel Xeon with AVX-512 (fp32: `auto` measured bf16 slower
// there), measured 2026-12-05. `MTK_NOTEBOOK_SIZE=small` makes a shorter run; a script's first `dotnet run` adds its
// build.*
//
// The article's FAQ warns that tasks can *conflict*: their gradients on the shared parameters point in opposing
// directions, so a step that helps one task hurts the other. The cosine between the two task gradients measures it:
// below zero, the tasks pull the shared weights apart.
//
// **You will be able to**
// 1. compute the task-gradient cosine yourself from the two gradients, and read the kit's diagnostic of it;
// 2. say what task weights, per-task clipping, isolation, split sharing and PCGrad each change in the update;
// 3. compare those remedies on one problem with Δm.
//
// Load the kit.
//
// ## Parameters
//
// A two-task regression problem from the kit: task k's target is tanh(2·aₖᵀx) plus noise, and the `conflict` dial sets
// the angle between the tasks' directions, conflict × 90° (0: the same function; 1: orthogonal directions, tasks that share
// nothing and compete for the trunk). Relatedness here is |cos(a₁, a₂)|: tanh is odd, so a task at 180° would be the negated first task,
// which a linear head fits from the same trunk, and its gradients would align with task 1's once the heads adapt. That is
// why the dial stops at 90°; the sweep below measures what it does to the gradients. A narrow trunk makes the tasks
// compete for it. `dials` are the settings of the sweep.
//
var small = Environment.GetEnvironmentVariable("MTK_NOTEBOOK_SIZE") == "small";
int samples = small ? 256 : 1024, steps = small ? 40 : 400, hidden = 8, batchSize = 64;
double conflict = 0.7, learningRate = 1e-2;
double[] dials = small ? [0.0, 1.0] : [0.0, 0.25, 0.5, 0.75, 1.0];
var problem = new SyntheticRegression(new SyntheticRegressionOptions(Tasks: 2, InputSize: 8, Samples: samples, Conflict: conflict, Seed: 1));
var tasks = problem.TaskNames;
$"tasks {string.Join(", ", tasks)}, conflict {conflict}: {samples} rows, trunk width {hidden}, {steps} steps per run".Display();

// ## The cosine, by hand
//
// Build a hard-shared network, compute each task's gradient on the shared parameters, and their cosine
// cos(g₁, g₂) = g₁·g₂ / (‖g₁‖‖g₂‖).
//
MultiTaskModel NewModel(SharingPlan plan)
{
    manual_seed(1);
    return new MultiTaskModel(new MlpTrunk(new MlpTrunkOptions(InputSize: 8, HiddenSize: hidden)),
        tasks.Select(t => KeyValuePair.Create(t, (TaskHead)new RegressionHead(hidden))), plan);
}
var net = NewModel(SharingPlan.Hard);
var losses = net.Losses(net.forward(TrunkInput.FromFeatures(problem.Features)), problem.Targets);
var shared = net.SharedParameters().Select(p => (Tensor)p).ToList();
Tensor GradientOf(Tensor loss) => cat(torch.autograd.grad([loss], shared, retain_graph: true).Select(g => g.flatten()).ToList());
var (g1, g2) = (GradientOf(losses[tasks[0]]), GradientOf(losses[tasks[1]]));
double cosine = ((g1 * g2).sum() / (g1.norm() * g2.norm())).item<float>();
$"cos(g₁, g₂) = {cosine:0.0000}".Display();

// The kit's step engine measures the same number when asked for diagnostics. It needs each task's gradient, so it
// runs **one backward pass per task** (here 2), not one. The cosine needs g₁ and g₂ separately, and one backward
// pass of L gives only their weighted sum.
//
net.zero_grad();
var diag = MultiTaskStep.Backward(net, losses, new EqualWeighting(tasks), options: new StepOptions { TaskGradientDiagnostics = true });
$"kit: cos = {diag.Cosine(tasks[0], tasks[1]):0.0000} with {diag.BackwardPasses} backward passes; mine: {cosine:0.0000}".Display();

// ## Do weights change the direction?
//
// The shared update is d = w₁g₁ + w₂g₂. Unless g₁ and g₂ are parallel, changing the weights turns d, not only
// lengthens it. Per-task clipping does too: it rescales each task's gᵢ, which is a change of weights. With two tasks,
// gradient surgery's update (PCGrad, UPGrad) is also a combination a·g₁ + b·g₂ with a, b ≥ 0; what differs is how a
// and b are chosen: from the gradients themselves, so that the conflicting component is removed and, to first order,
// no task's loss rises.
//
Tensor Unit(Tensor v) => v / v.norm();
double Cos(Tensor a, Tensor b) => (Unit(a) * Unit(b)).sum().item<float>();
new KitTable("Direction of d = w₁g₁ + w₂g₂ for three weightings", ["w₁, w₂", "cos(d, g₁ + g₂)", "d·g₁ (task 1 improves if > 0)", "d·g₂"],
    new[] { (1.0, 1.0), (1.0, 0.3), (0.3, 1.0) }.Select(w => { var d = w.Item1 * g1 + w.Item2 * g2;
        return (IReadOnlyList<string>)[$"{w.Item1}, {w.Item2}", KitTable.Num(Cos(d, g1 + g2)), KitTable.Num((d * g1).sum().item<float>()), KitTable.Num((d * g2).sum().item<float>())]; })).Display();

// ## Two remedies by hand: per-task clipping and isolation
//
// **Per-task clipping** caps each task's gradient on the shared parameters separately: each row gᵢ of the gradient
// matrix G is scaled by min(1, c / ‖gᵢ‖), and then the rows are combined (summed, with equal weights). Unlike global
// clipping (notebook 01), which shortens the whole update and keeps its direction, this rescales the tasks against each
// other: a task with a large gradient no longer dominates. The kit's version is `StepOptions.MaxTaskGradNorm`. Below,
// the cap c is half the smaller norm, so both rows are clipped, and a fresh forward pass feeds the kit's step.
//
double cap = 0.5 * Math.Min(g1.norm().item<float>(), g2.norm().item<float>());
Tensor ClipRow(Tensor g, double max) => g * Math.Min(1.0, max / g.norm().item<float>());
var clippedByHand = ClipRow(g1, cap) + ClipRow(g2, cap);
Tensor SharedGradient() => cat(shared.Select(p => p.grad!.flatten()).ToList());
var fresh = net.Losses(net.forward(TrunkInput.FromFeatures(problem.Features)), problem.Targets);
var clipDiag = MultiTaskStep.Backward(net, fresh, new EqualWeighting(tasks), options: new StepOptions { MaxTaskGradNorm = cap });
var clippedByKit = SharedGradient();
$"cap {cap:0.0000}: rows clipped by the kit: {string.Join(", ", clipDiag.ClippedTasks)}; ‖update‖ mine {clippedByHand.norm().item<float>():0.0000}, kit {clippedByKit.norm().item<float>():0.0000}; largest difference {(clippedByHand - clippedByKit).abs().max().item<float>():0.0e+0}".Display();

// **Task isolation** (任务隔离) stops one task's gradient at the trunk: its head reads a *detached* copy of the shared
// representation z, so backpropagation of its loss ends at the copy and the trunk learns from the other task only; the
// isolated task still trains its own head. By hand that is one `detach()`; the kit's switch is
// `StopGradientIntoTrunk(task)`. Both give every parameter's gradient, compared below.
//
Tensor AllGradients() => cat(net.ModelParameters().Select(p => p.grad is null ? zeros(p.numel()) : p.grad.flatten()).ToList());
net.zero_grad();
var z = net.RunShared(TrunkInput.FromFeatures(problem.Features)).Hidden;
var (head1, head2) = (net.Head(tasks[0]), net.Head(tasks[1]));
(head1.Loss(head1.forward(z), problem.Targets[tasks[0]]) + head2.Loss(head2.forward(z.detach()), problem.Targets[tasks[1]])).backward();
var isolatedByHand = AllGradients();
net.StopGradientIntoTrunk(tasks[1]);
var isoDiag = MultiTaskStep.Backward(net, net.Losses(net.forward(TrunkInput.FromFeatures(problem.Features)), problem.Targets),
    new EqualWeighting(tasks), options: new StepOptions { TaskGradientDiagnostics = true });
var isolatedByKit = AllGradients();
net.StopGradientIntoTrunk(tasks[1], stop: false);
$"{tasks[1]}'s gradient on the shared parameters: {isoDiag.SharedGradientNorms![tasks[1]]:0.0000}; largest difference over all {isolatedByHand.numel()} gradients, mine against the kit's: {(isolatedByHand - isolatedByKit).abs().max().item<float>():0.0e+0}".Display();

// ## A training loop that records the conflict
//
// The loop the kit's trainer runs, written out: a batch, the forward pass, the two losses, `MultiTaskStep.Backward`
// with the remedy's options, the optimizer step, and the cosine of every step. It returns the final full-data MSE per
// task and the per-step cosines in the kit's history format. `on` trains on another problem (the dial sweep below).
//
(Dictionary<string, double> Mse, List<HistoryPoint> History) Train(SharingPlan plan, MethodSpec method, StepOptions stepOptions, string? isolate = null, SyntheticRegression? on = null)
{
    var data = on ?? problem;
    using var outer = NewDisposeScope();
    var model = NewModel(plan);
    if (isolate != null) model.StopGradientIntoTrunk(isolate);
    model.AttachStrategy(method.Weighting);
    model.AttachStrategy(method.Aggregator, "aggregator");
    var optimizer = optim.Adam(model.parameters(), learningRate);
    var batches = new Generator(7);
    var history = new List<HistoryPoint>();
    for (int step = 1; step <= steps; step++)
    {
        using var scope = NewDisposeScope();
        var rows = randint(samples, [batchSize], generator: batches);
        var output = model.forward(TrunkInput.FromFeatures(data.Features[rows]));
        var stepLosses = model.Losses(output, data.Targets.ToDictionary(kv => kv.Key, kv => kv.Value[rows]));
        optimizer.zero_grad();
        var d = MultiTaskStep.Backward(model, stepLosses, method.Weighting, method.Aggregator, stepOptions with { Step = step, TaskGradientDiagnostics = true });
        optimizer.step();
        if (d.Cosine(tasks[0], tasks[1]) is { } c) history.Add(new(step, 0, HistoryPoint.Train, $"{tasks[0]}|{tasks[1]}", "grad_cosine", c));
    }
    return (SyntheticTraining.Evaluate(model, data.Features, data.Targets), history);
}

// Equal weights first: the cosine over training, and as a heat map over windows of steps (red: conflict).
//
var plain = Train(SharingPlan.Hard, MethodCatalog.Create("ew", tasks), new StepOptions());
MtlCharts.GradientCosine(plain.History).Display();
MtlCharts.ConflictHeatmap(plain.History).Display();

// ## The dial against the measured conflict
//
// Does turning the dial make the gradients conflict? Train equal weights once per setting of the dial (new data each
// time, same network, same batches) and average the per-step cosine over training, with the share of steps whose
// cosine is negative.
//
var dialRuns = dials.Select(dial => (Dial: dial, Run: Train(SharingPlan.Hard, MethodCatalog.Create("ew", tasks), new StepOptions(),
    on: new SyntheticRegression(new SyntheticRegressionOptions(Tasks: 2, InputSize: 8, Samples: samples, Conflict: dial, Seed: 1))))).ToList();
double MeanCosine(List<HistoryPoint> h) => h.Average(p => p.Value);
double ConflictShare(List<HistoryPoint> h) => 100.0 * h.Count(p => p.Value < 0) / h.Count;
MtlCharts.Lines("Measured gradient cosine against the relatedness dial", "dial: conflict (angle between the tasks' directions / 90°)", "task-gradient cosine, mean over training (unitless)",
    [new Series("mean cosine (equal weights)", dials, dialRuns.Select(r => MeanCosine(r.Run.History)).ToArray())], markers: true).Display();
new KitTable("The dial against the measured conflict", ["conflict", "mean cosine", "steps with conflict", $"{tasks[0]} MSE", $"{tasks[1]} MSE"],
    dialRuns.Select(r => (IReadOnlyList<string>)[KitTable.Num(r.Dial), KitTable.Num(MeanCosine(r.Run.History)), $"{ConflictShare(r.Run.History):0} %",
        KitTable.Num(r.Run.Mse[tasks[0]]), KitTable.Num(r.Run.Mse[tasks[1]])])).Display();

// Read the table with the MSE columns: a cosine near zero with both tasks fitted well means the trunk serves two
// unrelated functions side by side, not that they fight. Conflict in the sense of the remedies below is a *negative*
// cosine: one task's step undoes the other's.
//
// ## The remedies
//
// - **task weights**: down-weight one task (w₂ = 0.3);
// - **per-task gradient clipping**: cap each task's gradient norm on the shared parameters (`StepOptions.MaxTaskGradNorm`);
// - **task isolation**: stop task 2's gradient at the trunk (`StopGradientIntoTrunk`): it trains only its head;
// - **split sharing**: share only the lower layer (`SharingPlan.SplitAt(1)`);
// - **PCGrad** and **UPGrad**: gradient surgery on equal weights.
//
// All start from the same weights and see the same batches; the single-task models (`isolated` plan) are the baseline.
//
var ew = MethodCatalog.Create("ew", tasks);
var remedies = new List<(string Name, (Dictionary<string, double> Mse, List<HistoryPoint> History) Run)>
{
    ("equal weights", plain),
    ("task weights (1, 0.3)", Train(SharingPlan.Hard, new MethodSpec("fixed", new FixedWeighting(tasks, [1.0, 0.3]), null, GradientMode.Parameters), new StepOptions())),
    ("per-task clipping (‖gᵢ‖ ≤ 0.5)", Train(SharingPlan.Hard, ew, new StepOptions { MaxTaskGradNorm = 0.5 })),
    ($"isolation ({tasks[1]} stops at the trunk)", Train(SharingPlan.Hard, ew, new StepOptions(), isolate: tasks[1])),
    ("split at layer 1", Train(SharingPlan.SplitAt(1), ew, new StepOptions())),
    ("PCGrad", Train(SharingPlan.Hard, MethodCatalog.Create("pcgrad", tasks), new StepOptions())),
    ("UPGrad", Train(SharingPlan.Hard, MethodCatalog.Create("upgrad", tasks), new StepOptions())),
};
var single = Train(SharingPlan.Isolated, ew, new StepOptions());
IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> AsMetrics(Dictionary<string, double> mse) =>
    mse.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, double>)new Dictionary<string, double> { ["mse"] = kv.Value });
new KitTable("Remedies for task conflict", ["remedy", $"{tasks[0]} MSE", $"{tasks[1]} MSE", "Δm vs single-task", "steps with conflict"],
    remedies.Select(r => (IReadOnlyList<string>)[r.Name, KitTable.Num(r.Run.Mse[tasks[0]]), KitTable.Num(r.Run.Mse[tasks[1]]),
        $"{DeltaM.Compute(AsMetrics(r.Run.Mse), AsMetrics(single.Mse)):+0.0;-0.0} %",
        r.Run.History.Count == 0 ? "–" : $"{100.0 * r.Run.History.Count(p => p.Value < 0) / r.Run.History.Count:0} %"]),
    $"single-task models: {tasks[0]} MSE {KitTable.Num(single.Mse[tasks[0]])}, {tasks[1]} MSE {KitTable.Num(single.Mse[tasks[1]])}").Display();

// Δm of each remedy:
//
MtlCharts.DeltaM(remedies.Select(r => new MethodResult(r.Name, r.Run.Mse.ToDictionary(kv => $"{kv.Key} MSE", kv => kv.Value),
    DeltaM.Compute(AsMetrics(r.Run.Mse), AsMetrics(single.Mse))))).Display();

// ## Reading the results
//
// - The share of conflicting steps says whether conflict is the problem at all; if it is low, remedies for it cannot help much.
// - Isolation removes conflict by construction (the isolated task's gradient on the shared parameters is zero), but
//   gives up what task 2 could learn from sharing.
// - With two tasks every remedy here stays in the cone of weighted sums a·g₁ + b·g₂ (a, b ≥ 0): weights and clipping
//   pick a and b by hand or by norm, surgery (PCGrad, UPGrad) from the gradients' angle. Isolation sets task 2's
//   b to 0 on the shared parameters; split sharing changes which parameters are shared at all.
//
// ## Exercises
//
// 1. Set `conflict = 0.0`. *You should see* few conflicting steps, PCGrad and UPGrad next to equal weights, and the
//    remedies that take something from a task (down-weighting it, isolating it) below equal weights. Measured at default
//    size (2026-12-05): 0–8 % of steps in conflict; Δm +5.4 % for equal weights, +3.7 % for PCGrad and UPGrad, −26 % for
//    the weights (1, 0.3) and −27 % for isolation. <details><summary>Why</summary>Identical tasks have aligned gradients:
//    there is nothing to project, and whatever a remedy withholds from one task is help lost.</details>
// 2. Set `hidden = 32`. Does the share of conflicting steps fall? <details><summary>What to expect</summary>Measured at
//    default size (2026-12-05): the share fell from 50 % to 38 % of steps, and Δm of equal weights rose from −300 % to
//    −36 %. A wider trunk can serve the two tasks in different units, so fewer steps fight and each task loses less; the
//    conflict does not vanish, because it is in the targets.</details>
// 3. In the direction table, add the weighting (1, 0). *You should see* cos(d, g₁ + g₂) equal cos(g₁, g₁ + g₂), and
//    d·g₂ take the sign of the cosine above. <details><summary>Why</summary>With w₂ = 0 the update is g₁ alone.</details>
//
