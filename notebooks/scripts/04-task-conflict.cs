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
// A two-task regression problem from the kit whose `conflict` dial sets the angle between the tasks' directions
// (0: the same function; 1: opposite functions of the same feature). A narrow trunk makes the tasks compete for it.
//
var small = Environment.GetEnvironmentVariable("MTK_NOTEBOOK_SIZE") == "small";
int samples = small ? 256 : 1024, steps = small ? 40 : 400, hidden = 8, batchSize = 64;
double conflict = 0.7, learningRate = 1e-2;
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
// runs **one backward pass per task** (here 2), not one.
//
// > **⚠ Fix (earlier version of this notebook).** It said the kit measures the cosine "without a second pass". It
// > cannot: the cosine needs g₁ and g₂ separately, and one backward pass of L gives only their weighted sum.
//
net.zero_grad();
var diag = MultiTaskStep.Backward(net, losses, new EqualWeighting(tasks), options: new StepOptions { TaskGradientDiagnostics = true });
$"kit: cos = {diag.Cosine(tasks[0], tasks[1]):0.0000} with {diag.BackwardPasses} backward passes; mine: {cosine:0.0000}".Display();

// ## Do weights change the direction?
//
// The shared update is d = w₁g₁ + w₂g₂. Unless g₁ and g₂ are parallel, changing the weights turns d, not only
// lengthens it:
//
// > **⚠ Fix (earlier version of this notebook).** It said weights and clipping change "the balance, not the
// > direction". Both change the direction of the shared update (clipping rescales each task's gᵢ, which is a change of
// > weights). With two tasks, gradient surgery's update is also a combination a·g₁ + b·g₂; what differs is how a and b
// > are chosen: from the gradients themselves, so that the conflicting component is removed and, to first order, no
// > task's loss rises.
//
Tensor Unit(Tensor v) => v / v.norm();
double Cos(Tensor a, Tensor b) => (Unit(a) * Unit(b)).sum().item<float>();
new KitTable("Direction of d = w₁g₁ + w₂g₂ for three weightings", ["w₁, w₂", "cos(d, g₁ + g₂)", "d·g₁ (task 1 improves if > 0)", "d·g₂"],
    new[] { (1.0, 1.0), (1.0, 0.3), (0.3, 1.0) }.Select(w => { var d = w.Item1 * g1 + w.Item2 * g2;
        return (IReadOnlyList<string>)[$"{w.Item1}, {w.Item2}", KitTable.Num(Cos(d, g1 + g2)), KitTable.Num((d * g1).sum().item<float>()), KitTable.Num((d * g2).sum().item<float>())]; })).Display();

// ## A training loop that records the conflict
//
// The loop the kit's trainer runs, written out: a batch, the forward pass, the two losses, `MultiTaskStep.Backward`
// with the remedy's options, the optimizer step, and the cosine of every step. It returns the final full-data MSE per
// task and the per-step cosines in the kit's history format.
//
(Dictionary<string, double> Mse, List<HistoryPoint> History) Train(SharingPlan plan, MethodSpec method, StepOptions stepOptions, string? isolate = null)
{
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
        var output = model.forward(TrunkInput.FromFeatures(problem.Features[rows]));
        var stepLosses = model.Losses(output, problem.Targets.ToDictionary(kv => kv.Key, kv => kv.Value[rows]));
        optimizer.zero_grad();
        var d = MultiTaskStep.Backward(model, stepLosses, method.Weighting, method.Aggregator, stepOptions with { Step = step, TaskGradientDiagnostics = true });
        optimizer.step();
        if (d.Cosine(tasks[0], tasks[1]) is { } c) history.Add(new(step, 0, HistoryPoint.Train, $"{tasks[0]}|{tasks[1]}", "grad_cosine", c));
    }
    return (SyntheticTraining.Evaluate(model, problem.Features, problem.Targets), history);
}

// Equal weights first: the cosine over training, and as a heat map over windows of steps (red: conflict).
//
var plain = Train(SharingPlan.Hard, MethodCatalog.Create("ew", tasks), new StepOptions());
MtlCharts.GradientCosine(plain.History).Display();
MtlCharts.ConflictHeatmap(plain.History).Display();

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
