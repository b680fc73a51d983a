// Generated from notebooks/03-loss-weighting.ipynb by `mtk notebook export-scripts`: edit the notebook, not this file
// (CI fails when this file differs from what the notebook makes).
// Run: dotnet run notebooks/scripts/03-loss-weighting.cs     (MTK_NOTEBOOK_SIZE=small for a quick run)
// Tables print to the console; charts and diagrams go to runs/notebooks/03-loss-weighting.html (or $MTK_SCRIPT_OUT).
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

// # 03 · Loss weighting and gradient aggregation
//
// *Default run: 18 s in `mtk notebook run`, on a 2-core Intel Xeon with AVX-512 (fp32: `auto` measured bf16 slower
// there), measured 2026-12-05. `MTK_NOTEBOOK_SIZE=small` makes a shorter run; a script's first `dotnet run` adds its
// build.*
//
// With hard sharing, the update of the shared trunk mixes the tasks' gradients. Two families of methods decide the mix:
//
// - **loss weighting** sets the weights wᵢ of L = Σ wᵢLᵢ (one backward pass of L, except for the methods that read the
//   per-task gradients: GradNorm and DB-MTL need one backward pass per task);
// - **gradient aggregation** takes the matrix of per-task gradients on the shared parameters, G = [g₁; g₂], and
//   returns the update d (always one backward pass per task).
//
// **You will be able to**
// 1. write uncertainty weighting, two-task PCGrad and the two-task MGDA closed form in a few lines each;
// 2. check your versions against the kit's on the same gradients;
// 3. compare the kit's whole catalogue on a problem where the methods visibly differ, and read Δm.
//
// Load the kit.
//
// ## Parameters
//
// A two-task regression problem whose task 2 has targets **10× larger** than task 1's, so its MSE is about 100× larger:
// with equal weights task 2 dominates the shared update, which is what weighting methods are for. `conflict` sets the
// angle between the tasks' directions, conflict × 90° (0: the same function; 1: orthogonal directions, tasks that share
// nothing and compete for the trunk). `MTK_NOTEBOOK_SIZE=small` (CI) shortens the runs.
//
var small = Environment.GetEnvironmentVariable("MTK_NOTEBOOK_SIZE") == "small";
int samples = small ? 256 : 1024, steps = small ? 30 : 300, hidden = 16;
double conflict = 0.6;
double[] scales = [1.0, 10.0];
var problem = new SyntheticRegression(new SyntheticRegressionOptions(Tasks: 2, InputSize: 8, Samples: samples, Conflict: conflict, Scales: scales, Seed: 1));
var tasks = problem.TaskNames;
$"tasks {string.Join(", ", tasks)}: {samples} rows, target scales {string.Join(" and ", scales)}, conflict {conflict}; {steps} steps per run".Display();

// ## The task gradients on the shared parameters
//
// A small hard-shared network from the kit (an MLP trunk and two regression heads), one forward pass, the two losses,
// and each task's gradient with respect to the **shared** parameters, flattened into one row of G.
//
manual_seed(1);
var net = new MultiTaskModel(new MlpTrunk(new MlpTrunkOptions(InputSize: 8, HiddenSize: hidden)),
    tasks.Select(t => KeyValuePair.Create(t, (TaskHead)new RegressionHead(hidden))), SharingPlan.Hard);
var losses = net.Losses(net.forward(TrunkInput.FromFeatures(problem.Features)), problem.Targets);
var shared = net.SharedParameters().Select(p => (Tensor)p).ToList();
Tensor GradientOf(Tensor loss) => cat(torch.autograd.grad([loss], shared, retain_graph: true).Select(g => g.flatten()).ToList());
var (g1, g2) = (GradientOf(losses[tasks[0]]), GradientOf(losses[tasks[1]]));
var G = stack([g1, g2]);
double Dot(Tensor a, Tensor b) => (a * b).sum().item<float>();
$"L₁ = {losses[tasks[0]].item<float>():0.000}, L₂ = {losses[tasks[1]].item<float>():0.000}; ‖g₁‖ = {g1.norm().item<float>():0.000}, ‖g₂‖ = {g2.norm().item<float>():0.000}, cos = {Dot(g1, g2) / (g1.norm() * g2.norm()).item<float>():0.000}".Display();

// The kit's aggregators receive G and its Gramian GGᵀ (the engine computes it once per step):
//
var gramian = new double[2, 2] { { Dot(g1, g1), Dot(g1, g2) }, { Dot(g2, g1), Dot(g2, g2) } };
var aggregationInput = new AggregationInput(tasks, gramian, [losses[tasks[0]].item<float>(), losses[tasks[1]].item<float>()], new StepContext());
string MaxDiff(Tensor a, Tensor b) => KitTable.Num((a - b).abs().max().item<float>());

// ## Uncertainty weighting (UW)
//
// Kendall, Gal & Cipolla (CVPR 2018): each task has a learned noise level σᵢ; with sᵢ = log σᵢ²,
// **L = Σᵢ ½·exp(−sᵢ)·Lᵢ + ½·sᵢ**. A noisy (or large-scale) task gets a small weight ½·exp(−sᵢ); the ½·sᵢ term stops
// every σᵢ from growing without bound. The sᵢ are trained by the same optimizer as the network.
//
var s = tensor(new float[] { 0.3f, -0.5f }, requires_grad: true);
var L = stack([losses[tasks[0]], losses[tasks[1]]]).detach();
var mine = (0.5 * exp(-s) * L + 0.5 * s).sum();
mine.backward();
var uw = new UncertaintyWeighting(tasks);
using (no_grad()) uw.get_parameter("log_variances")!.copy_(s);
var uwResult = uw.Weigh(new WeightingInput(tasks, L, [L[0].item<float>(), L[1].item<float>()], new StepContext()));
var kitTotal = (uwResult.Weights * L).sum() + uwResult.ExtraLoss!;
kitTotal.backward();
$"UW: total loss mine {mine.item<float>():0.00000} vs kit {kitTotal.item<float>():0.00000}; largest difference of ∂L/∂s: {MaxDiff(s.grad!, uw.get_parameter("log_variances")!.grad!)}".Display();

// ## PCGrad, two tasks
//
// Yu et al. (NeurIPS 2020), "gradient surgery": when two task gradients conflict (g₁·g₂ < 0), project each onto the
// normal plane of the other, **g₁′ = g₁ − (g₁·g₂ / ‖g₂‖²)·g₂** (and the same for g₂ against the original g₁), then add
// them: d = g₁′ + g₂′. Without conflict, d = g₁ + g₂.
//
Tensor PcGrad(Tensor a, Tensor b)
{
    double ab = Dot(a, b);
    var a2 = ab < 0 ? a - ab / Dot(b, b) * b : a;
    var b2 = ab < 0 ? b - ab / Dot(a, a) * a : b;
    return a2 + b2;
}
var pcMine = PcGrad(g1, g2);
var pcKit = new PCGrad().Aggregate(G, aggregationInput).Update;
$"PCGrad: g₁·g₂ = {Dot(g1, g2):0.0000}; largest difference between my update and the kit's: {MaxDiff(pcMine, pcKit)}".Display();

// ## MGDA, two tasks: the closed form
//
// Sener & Koltun (NeurIPS 2018): the update is the point of smallest norm on the segment between g₁ and g₂,
// d = α·g₁ + (1−α)·g₂ with **α = clip((g₂ − g₁)·g₂ / ‖g₁ − g₂‖², 0, 1)**. If a direction that lowers both losses
// exists, d is one; here the large-scale task no longer wins by its size alone.
//
double alpha = Math.Clamp(Dot(g2 - g1, g2) / Dot(g1 - g2, g1 - g2), 0, 1);
var mgdaMine = alpha * g1 + (1 - alpha) * g2;
var mgdaKit = new MGDA().Aggregate(G, aggregationInput);
$"MGDA: α = {alpha:0.0000} (kit's weights {string.Join(", ", mgdaKit.Weights!.Select(w => w.ToString("0.0000")))}); largest difference of the updates: {MaxDiff(mgdaMine, mgdaKit.Update)}".Display();

// ## The kit's catalogue, one sentence each
//
// Each method's cost in backward passes per step is measured by the step engine in the results table below.
//
// | method | what it does |
// |---|---|
// | EW | equal weights, wᵢ = 1 |
// | UW | wᵢ = ½·exp(−sᵢ), sᵢ learned (above) |
// | DWA | wᵢ ∝ T·softmax(rᵢ/τ), rᵢ = Lᵢ(t−1)/Lᵢ(t−2): slow tasks get more weight |
// | RLW | random weights, a softmax of Gaussian noise, each step |
// | FAMO | weights updated so that every task's log-loss falls at the same rate |
// | GradNorm | learned wᵢ such that ‖wᵢ∇Lᵢ‖ tracks each task's relative training rate (reads the per-task gradients) |
// | DB-MTL | log losses, and each task's gradient rescaled to the largest gradient norm (reads the per-task gradients) |
// | GLS | the geometric mean of the losses, (Π Lᵢ)^(1/T): scale-free |
// | STCH | smooth Tchebycheff: a soft maximum of the tasks' losses, so the worst task leads |
// | IMTL-L | learned scales that make the scaled losses equal |
// | ExcessMTL | weights by each task's estimated excess risk (how far it is from its best) |
// | MGDA | min-norm point of the convex hull of the gᵢ (above) |
// | MGDA-UB | MGDA on the gradients w.r.t. the shared representation (cheaper) |
// | PCGrad | project conflicting gradients (above) |
// | CAGrad | maximise the worst task's improvement within a ball around the average gradient |
// | GradVac (and its per-layer, per-parameter variants) | like PCGrad, but towards an adaptive target cosine |
// | IMTL, IMTL-G | the update has equal projections on every task's unit gradient |
// | Nash-MTL | the Nash bargaining solution between tasks |
// | Aligned-MTL | align the gradients' singular values (condition number 1) |
// | UPGrad, DualProj | project onto the dual cone of the gᵢ: no task gets worse to first order |
// | ConFIG | an update at equal angles to every task's gradient |
// | FairGrad | an α-fair share of the improvement between tasks |
// | MoCo | MGDA on momentum-tracked gradients, which corrects its bias |
// | GradDrop | drops gradient components at random by the consistency of their signs |
// | Krum, trimmed mean | robust aggregation (the gradient closest to the others; a coordinate-wise mean without extremes): they need at least three tasks, and are skipped here |
//
// Loss weighting needs one backward pass of L, except GradNorm and DB-MTL, which read the per-task gradients and need
// T. Per-task gradient diagnostics would force T passes on every method and hide that difference, so the runs below
// ask for none: the `backward passes` column is what each method costs, measured by the step engine.
//
// ## Train the catalogue
//
// `SyntheticTraining.Train` (the kit's small training loop: an MLP trunk cut by a sharing plan, Adam,
// `MultiTaskStep.Backward`) trains each method from the same initial weights on the same batches. The single-task
// baseline is the `isolated` plan (each task its own trunk), which Δm compares against.
//
var options = new SyntheticTrainingOptions(Steps: steps, BatchSize: 64, HiddenSize: hidden, Seed: 1);
var baseline = SyntheticTraining.Train(problem, SharingPlan.Isolated, MethodCatalog.Create("ew", tasks), options);
var runs = new Dictionary<string, SyntheticRun>();
foreach (var name in MethodCatalog.Names)
{
    MethodSpec method;
    try { method = MethodCatalog.Create(name, tasks); }
    catch (ArgumentException e) { Console.WriteLine($"{name}: skipped ({e.Message})"); continue; }
    runs[name] = SyntheticTraining.Train(problem, SharingPlan.Hard, method, options);
}
IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Mse(SyntheticRun r) =>
    r.FinalLoss.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, double>)new Dictionary<string, double> { ["mse"] = kv.Value });
$"trained {runs.Count} methods and the single-task baseline, {steps} steps each".Display();

// Final full-data MSE per task, Δm against the single-task models, the last step's effective weights and the cost.
//
string Effective(StepDiagnostics d, string t) => KitTable.Num(d.Weights[t] * (d.AggregationWeights?.GetValueOrDefault(t, 1.0) ?? 1.0));
new KitTable("The catalogue on tasks of very different scales", ["method", $"{tasks[0]} MSE", $"{tasks[1]} MSE", "Δm", $"last weight {tasks[0]}", $"last weight {tasks[1]}", "backward passes", "ms per step"],
    runs.Select(kv => (IReadOnlyList<string>)[kv.Key, KitTable.Num(kv.Value.FinalLoss[tasks[0]]), KitTable.Num(kv.Value.FinalLoss[tasks[1]]),
        $"{DeltaM.Compute(Mse(kv.Value), Mse(baseline)):+0.0;-0.0} %", Effective(kv.Value.Steps[^1], tasks[0]), Effective(kv.Value.Steps[^1], tasks[1]),
        kv.Value.Steps[^1].BackwardPasses.ToString(), KitTable.Num(1000 * kv.Value.SecondsPerStep)]),
    $"single-task baseline: {tasks[0]} MSE {KitTable.Num(baseline.FinalLoss[tasks[0]])}, {tasks[1]} MSE {KitTable.Num(baseline.FinalLoss[tasks[1]])}").Display();

// Δm of each method (above zero: better than the single-task models on average over the two tasks):
//
MtlCharts.DeltaM(runs.Select(kv => new MethodResult(kv.Key,
    kv.Value.FinalLoss.ToDictionary(l => $"{l.Key} MSE", l => l.Value), DeltaM.Compute(Mse(kv.Value), Mse(baseline))))).Display();

// How the small task's effective weight (loss weight × aggregation weight) moved during training:
//
MtlCharts.Lines($"Effective weight of {tasks[0]} over training", "optimiser step", $"weight of {tasks[0]} (unitless)",
    runs.Select(kv => new Series(kv.Key, kv.Value.Steps.Select((d, i) => (double)i + 1).ToArray(),
        kv.Value.Steps.Select(d => d.Weights[tasks[0]] * (d.AggregationWeights?.GetValueOrDefault(tasks[0], 1.0) ?? 1.0)).ToArray()))).Display();

// ## Reading the results
//
// - With a 100× loss-scale gap, EW serves the large task and neglects the small one. Methods built not to care about
//   a task's scale lift the small task: UW (its weight ½·exp(−sᵢ) settles near 1/(2Lᵢ)), DB-MTL (every task's
//   gradient rescaled to the same norm), GLS (the geometric mean of the losses is scale-free), IMTL and Nash-MTL (their
//   updates do not change when one task's gradient is multiplied by a constant). Δm rewards only those that keep the
//   large task too. Measured at default size (2026-12-05): UW, IMTL and Nash-MTL end far above EW; GLS and FAMO bring
//   the small task down to its single-task MSE while the large one is hardly learned (MSE near 50), and DB-MTL leaves it
//   at 6, so their Δm is far below EW's. Scale-free is not the same as balanced.
// - No method beats the single-task models here (every Δm is negative at 300 steps): read the ranking, not the sign.
// - Two gradient methods are often listed with them but do something else. MGDA does not normalise: its min-norm point
//   leans towards the *smaller* gradient, so here it favours the small task, possibly more than balance would. UPGrad
//   is linear under scaling (multiply every gradient by c and its update is multiplied by c), and where the two
//   gradients do not conflict it returns their mean, EW's direction: it removes conflict, not scale. Read the table
//   rather than the labels.
// - The cost column is real: aggregators and gradient-reading weightings pay one backward pass per task.
// - On a small synthetic problem, differences between close methods are within seed noise: rerun with another `Seed`
//   before ranking them.
//
// ## Exercises
//
// 1. Set `scales = [1.0, 1.0]`. *You should see* most methods' Δm move close together (at default size, 2026-12-05:
//    26 of the 28 between −99 % and −620 %, against −73 % to −71,000 % at scales 1 and 10), with DB-MTL and MoCo far
//    behind. <details><summary>Why</summary> With equal scales, equal weights are already balanced; the methods then
//    differ mainly in how they handle conflict. DB-MTL's log losses and MoCo's momentum-tracked gradients are the
//    exceptions worth reading about.</details>
// 2. In the PCGrad cell, call `PcGrad(g1, -g1)`. *You should see* a zero update. <details><summary>Why</summary>Each
//    gradient is projected onto the normal plane of its exact opposite, leaving nothing.</details>
// 3. Set `conflict = 1.0` (orthogonal directions: unrelated tasks) and compare the catalogue's Δm with the run at 0.6.
//    <details><summary>What to expect</summary>The argument: the trunk now has nothing to share between the tasks, only
//    width to split, so Δm against the single-task models should fall. Measured at default size (2026-12-05), it fell
//    for 14 of the 28 methods and rose for the other 14: with a 100× scale gap, how a method treats scale moves Δm more
//    than relatedness does, and task 2's single-task baseline changed too (MSE 0.060 against 0.035). Set
//    `scales = [1.0, 1.0]` as well to see relatedness alone. The per-step gradient cosine sits near zero rather than
//    below it: notebook 04 measures it against the dial.</details>
//
