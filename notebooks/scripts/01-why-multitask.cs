// Generated from notebooks/01-why-multitask.ipynb by `mtk notebook export-scripts`: edit the notebook, not this file
// (CI fails when this file differs from what the notebook makes).
// Run: dotnet run notebooks/scripts/01-why-multitask.cs     (MTK_NOTEBOOK_SIZE=small for a quick run)
// Tables print to the console; charts and diagrams go to runs/notebooks/01-why-multitask.html (or $MTK_SCRIPT_OUT).
#:project ../../lib/MultiTaskKit.Charts
// The kit writes its run configurations with reflection-based System.Text.Json, which file-based programs turn off by default.
#:property PublishAot=false
using System.Text;
using MultiTaskKit.Charts;
using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Charts.Scripts;
using MultiTaskKit.Models;
using MultiTaskKit.Steps;
using MultiTaskKit.Training;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;

// What the kit's kernel extension does when the notebook loads the kit: TorchSharp's native libraries, before any cell.
MultiTaskKit.Runtime.TorchRuntime.EnsureInitialized();

// # 01 · Why multi-task learning?
//
// *Default run: 17 s in `mtk notebook run`, on a 2-core Intel Xeon with AVX-512 (fp32: `auto` measured bf16 slower
// there), measured 2026-12-05. `MTK_NOTEBOOK_SIZE=small` makes a shorter run; a script's first `dotnet run` adds its
// build.*
//
// One network, several tasks. In **hard parameter sharing** the lower part of the network, the *trunk*, is shared by
// every task, and each task has its own small *head* on top. Training minimises one number,
//
// **L = w₁·L₁ + w₂·L₂**,
//
// a weighted sum of the task losses. This notebook builds the smallest such network in plain TorchSharp, trains it with
// a loop you can read and change, and checks with numbers where the gradient of that sum goes.
//
// **You will be able to**
// 1. write a shared trunk with two heads as a TorchSharp module, and say which parameters each task updates;
// 2. write the multi-task training loop: two losses, their weighted sum, `backward()`, `optimizer.step()`;
// 3. show numerically that the trunk receives w₁∇L₁ + w₂∇L₂ while each head receives only its own task's term;
// 4. predict what changing w₁ and w₂ does to each task.
//
// First, load the kit from the local package feed (`bash notebooks/pack-kit.sh`, or `pwsh notebooks/pack-kit.ps1` on any
// platform, makes it; see `notebooks/README.md`, which also gives the way without an editor: `dotnet run` of this
// notebook's script). Its kernel extension prepares TorchSharp, and draws the kit's tables and charts. After packing
// the kit again, restart the kernel before running this cell: a running kernel keeps the kit it loaded.
//
// ## Parameters
//
// Everything this notebook runs is set here: edit a value and run the notebook again. `MTK_NOTEBOOK_SIZE=small` (what
// CI sets) shrinks the run to a few seconds.
//
var small = Environment.GetEnvironmentVariable("MTK_NOTEBOOK_SIZE") == "small";
int inputs = 16, hidden = small ? 32 : 64;            // input features, trunk width
int trainRows = small ? 512 : 4096, valRows = small ? 256 : 1024;
int steps = small ? 60 : 1500, batchSize = 64;
double learningRate = 3e-3, relatedness = 0.8;        // relatedness: cosine between the two tasks' directions
double? maxGradNorm = 1.0;                            // global gradient-norm cap in the loop (null: no clipping)
int fewRows = 128;                                    // training rows of the over-fitting experiment
long seed = 1;
$"{(small ? "small" : "default")} size: {steps} steps of {batchSize} rows, trunk width {hidden}".Display();

// ## The data: two related regression tasks
//
// The synthetic problem of the MMoE paper (Ma et al., KDD 2018), which the kit ships in `MultiTaskKit.Data.Synthetic`:
// each target is a projection wᵢᵀx of the input plus a sum of ten sines of that projection plus noise,
// yᵢ = wᵢᵀx + Σⱼ sin(αⱼ·wᵢᵀx + βⱼ) + ε (the αⱼ, βⱼ are random and the same for both tasks), and the cosine between w₁
// and w₂ is the *relatedness*. A shared trunk can learn features both tasks use.
//
var data = MmoeSynthetic.Make(inputs, trainRows, valRows, relatedness, seed);
$"x: [{string.Join(", ", data.TrainX.shape)}], y₁ and y₂: [{data.TrainY1.shape[0]}]; correlation of y₁ with y₂: {data.LabelCorrelation:0.00}".Display();

// Build one and count its parameters: most of them are in the trunk, which both tasks share.
//
manual_seed(seed);
var net = new TwoTaskNet(inputs, hidden);
long Count(nn.Module m) => m.parameters().Sum(p => p.numel());
new KitTable("Parameters of the two-task network", ["part", "parameters", "updated by"],
    [["trunk", $"{Count(net.trunk):N0}", "both tasks"], ["head 1", $"{Count(net.head1):N0}", "task 1 only"], ["head 2", $"{Count(net.head2):N0}", "task 2 only"]]).Display();

// ## Where the gradient of L goes
//
// Write θₛ for the trunk's parameters and θ₁, θ₂ for the heads'. L₁ depends on θₛ and θ₁ only, L₂ on θₛ and θ₂ only, so
//
// - ∇θₛ L = w₁ ∇θₛ L₁ + w₂ ∇θₛ L₂ (the trunk gets the weighted sum),
// - ∇θ₁ L = w₁ ∇θ₁ L₁ and ∇θ₂ L = w₂ ∇θ₂ L₂ (each head gets its own term only).
//
// > **⚠ Correction to the article (§4.2).** The article writes the gradient of the total loss as the plain sum of the
// > task gradients, dropping w₁ and w₂, and uses *w* both for the task weights and for the network's parameters. With
// > weights, each task's gradient is scaled by its own wᵢ (above); here *w* is only ever a task weight, and θ is a parameter.
//
// The cell below checks this on one batch: one backward pass of L, then one of L₁ alone and one of L₂ alone, and
// compares the gradient of L with w₁∇L₁ + w₂∇L₂ for each part of the network.
//
double w1 = 1.0, w2 = 0.3;
var (xb, y1b, y2b) = (data.TrainX[..batchSize], data.TrainY1[..batchSize], data.TrainY2[..batchSize]);
Tensor Flat(nn.Module part) => cat(part.parameters().Select(p => p.grad is null ? zeros_like(p).flatten() : p.grad.flatten()).ToList());
Dictionary<string, Tensor> GradientsOf(Func<Tensor, Tensor, Tensor> loss)
{
    net.zero_grad();
    var (p1, p2) = net.forward(xb);
    loss(nn.functional.mse_loss(p1, y1b), nn.functional.mse_loss(p2, y2b)).backward();
    return new() { ["trunk"] = Flat(net.trunk), ["head 1"] = Flat(net.head1), ["head 2"] = Flat(net.head2) };
}
var gL = GradientsOf((l1, l2) => w1 * l1 + w2 * l2);
var g1 = GradientsOf((l1, l2) => l1);
var g2 = GradientsOf((l1, l2) => l2);

// Each row is one part of the network. A head's gradient from the *other* task is exactly zero, and the last column
// (the largest difference between ∇L and w₁∇L₁ + w₂∇L₂) is zero up to float rounding.
//
string Num(Tensor t) => KitTable.Num(t.item<float>());
new KitTable($"Gradient of L = {w1}·L₁ + {w2}·L₂ on one batch of {batchSize}", ["part", "‖∇L₁‖", "‖∇L₂‖", "‖∇L‖", "max |∇L − (w₁∇L₁ + w₂∇L₂)|"],
    gL.Keys.Select(part => (IReadOnlyList<string>)[part, Num(g1[part].norm()), Num(g2[part].norm()), Num(gL[part].norm()),
        Num((gL[part] - (w1 * g1[part] + w2 * g2[part])).abs().max())])).Display();

// **Knowledge transfer and task fusion (the article's §2.3), in these terms.** *Task fusion* (任务融合) is putting the
// tasks into one model with one objective: one network, one total loss L = w₁L₁ + w₂L₂, one optimizer step.
// *Knowledge transfer* (知识转移) is what the shared trunk then does: the table shows the trunk's gradient carrying
// w₂∇L₂, so features learned from task 2's labels are there for task 1's head too. That helps when the tasks need
// similar features and labels are few (the over-fitting experiment below), and hurts when they need different ones
// (notebooks 04 and 06).
//
// ## The training loop
//
// Every step draws a batch, runs the network once, computes both losses, adds them with the weights, runs `backward()`,
// **clips the gradient** and steps Adam. Clipping (梯度裁剪) caps the length of the whole gradient, every parameter's
// gradient seen as one vector g: when ‖g‖ exceeds `maxGradNorm`, every gradient is multiplied by
// maxGradNorm / ‖g‖, so the step keeps its direction and loses only length. It guards against the rare batch whose
// gradient is huge. `ClipByGlobalNorm` writes it out; the check after the loop compares it with the kit's.
//
// ‖g‖ = the L2 norm of all gradients together; each is scaled by min(1, max / (‖g‖ + 1e-6)), as torch's
// clip_grad_norm_ does. Returns ‖g‖ before clipping.
double ClipByGlobalNorm(IEnumerable<Tensor> parameters, double max)
{
    var grads = parameters.Where(p => p.grad is not null).Select(p => p.grad!).ToList();
    double norm = Math.Sqrt(grads.Sum(g => g.pow(2).sum().item<float>()));
    double scale = Math.Min(1.0, max / (norm + 1e-6));
    using (no_grad()) foreach (var g in grads) g.mul_(scale);
    return norm;
}
TwoTaskNet? trained = null;                              // the last network Train made (the over-fitting experiment reads it)
double FinalMse(List<HistoryPoint> history, string task) => history.Last(p => p.Kind == HistoryPoint.Eval && p.Task == task).Value;

// The loop itself, with the clipping after `backward()`. `Train` keeps its last network in `trained` (declared above,
// with `FinalMse`, the last validation MSE of a task), which the over-fitting experiment below reads.
//
List<HistoryPoint> Train(double w1, double w2, MmoeSynthetic? on = null)
{
    var d = on ?? data;
    manual_seed(seed);
    var model = trained = new TwoTaskNet(inputs, hidden);
    var optimizer = optim.Adam(model.parameters(), learningRate);
    var batches = new Generator((ulong)seed + 1);
    var history = new List<HistoryPoint>();
    for (int step = 1; step <= steps; step++)
    {
        using var scope = NewDisposeScope();
        var rows = randint(d.TrainX.shape[0], [batchSize], generator: batches);
        var (p1, p2) = model.forward(d.TrainX[rows]);
        var l1 = nn.functional.mse_loss(p1, d.TrainY1[rows]);
        var l2 = nn.functional.mse_loss(p2, d.TrainY2[rows]);
        optimizer.zero_grad();
        (w1 * l1 + w2 * l2).backward();
        if (maxGradNorm is { } max) ClipByGlobalNorm(model.parameters(), max);
        optimizer.step();
        history.Add(new(step, 0, HistoryPoint.Train, "task1", "loss", l1.item<float>()));
        history.Add(new(step, 0, HistoryPoint.Train, "task2", "loss", l2.item<float>()));
        if (step % (steps / 10) != 0) continue;
        using var noGrad = no_grad();
        var (v1, v2) = model.forward(d.ValX);
        history.Add(new(step, 0, HistoryPoint.Eval, "task1", "loss", nn.functional.mse_loss(v1, d.ValY1).item<float>()));
        history.Add(new(step, 0, HistoryPoint.Eval, "task2", "loss", nn.functional.mse_loss(v2, d.ValY2).item<float>()));
    }
    Console.WriteLine($"w₁ = {w1}, w₂ = {w2}: {steps} steps, final validation MSE {FinalMse(history, "task1"):0.000} and {FinalMse(history, "task2"):0.000}");
    return history;
}

// ## Clipping, checked against the kit
//
// The kit clips the same way: `StepOptions.MaxGradNorm` in its step engine, which its trainer sets from the run's
// `optimizer.clip_norm` (`ClipNorm`: 1.0 in the case-study presets). On one batch, a kit network (an MLP trunk of the
// same shape, two regression heads) takes the gradient of L = L₁ + L₂ twice: once clipped by `ClipByGlobalNorm`, once
// by `MultiTaskStep.Backward` with `MaxGradNorm`. The cap is half the gradient's norm, so that clipping really happens.
//
manual_seed(seed);
var kitNet = new MultiTaskModel(new MlpTrunk(new MlpTrunkOptions(InputSize: inputs, HiddenSize: hidden, Layers: 1)),
    new Dictionary<string, TaskHead> { ["task1"] = new RegressionHead(hidden), ["task2"] = new RegressionHead(hidden) }, SharingPlan.Hard);
var batchTargets = new Dictionary<string, Tensor> { ["task1"] = y1b, ["task2"] = y2b };
Dictionary<string, Tensor> KitLosses() => kitNet.Losses(kitNet.forward(TrunkInput.FromFeatures(xb)), batchTargets);
Tensor KitGradient() => cat(kitNet.ModelParameters().Select(p => p.grad!.flatten()).ToList());
kitNet.zero_grad();
var byHand = KitLosses();
(byHand["task1"] + byHand["task2"]).backward();
double cap = 0.5 * ClipByGlobalNorm(kitNet.ModelParameters(), double.PositiveInfinity);
double normBefore = ClipByGlobalNorm(kitNet.ModelParameters(), cap);
var mine = KitGradient();
var kitClip = MultiTaskStep.Backward(kitNet, KitLosses(), new EqualWeighting(kitNet.Tasks), options: new StepOptions { MaxGradNorm = cap });
var kits = KitGradient();
new KitTable($"Global-norm clipping at {KitTable.Num(cap)}: by hand and in the kit", ["", "‖g‖ before", "‖g‖ after"],
    [["by hand (ClipByGlobalNorm)", KitTable.Num(normBefore), KitTable.Num(mine.norm().item<float>())],
     ["kit (StepOptions.MaxGradNorm)", KitTable.Num(kitClip.GradientNorm!.Value), KitTable.Num(kits.norm().item<float>())]],
    $"largest difference between the two clipped gradients: {(mine - kits).abs().max().item<float>():0.0e+0} (float rounding)").Display();

// Train with equal weights and look at the curves: the training loss per batch (faint) and its moving average, and
// the validation loss.
//
var equal = Train(1, 1);
MtlCharts.LossCurves(equal, new Dictionary<string, string> { ["task1"] = "MSE", ["task2"] = "MSE" }).Display();

// ## What changing w₁ and w₂ does
//
// Train the same network (same initial weights, same batches) twice more, favouring one task each time.
//
var runs = new List<(double W1, double W2, List<HistoryPoint> History)> { (1, 1, equal), (1, 0.1, Train(1, 0.1)), (0.1, 1, Train(0.1, 1)) };
MtlCharts.Bars("Final validation MSE per task for each weighting", "weights (w₁, w₂)", "validation MSE (squared target units)",
    runs.Select(r => $"({r.W1}, {r.W2})").ToArray(),
    [new BarGroup("task1", runs.Select(r => FinalMse(r.History, "task1")).ToArray()), new BarGroup("task2", runs.Select(r => FinalMse(r.History, "task2")).ToArray())]).Display();

// ## Does a second task reduce over-fitting?
//
// The article (§3.3, §9.1) says that multi-task learning generalises better: a second task's labels act as a
// regulariser, since the trunk must serve both. Measure it. Give task 1 only `fewRows` training rows (new data from the
// same generator), and train the network twice with the same steps: on task 1 alone (w₂ = 0, so the trunk serves task 1
// only) and on both tasks. Over-fitting (过拟合) shows as a gap between the training and the validation MSE.
//
var few = MmoeSynthetic.Make(inputs, fewRows, valRows, relatedness, seed);
double Task1Mse(Tensor x, Tensor y) { using var _ = no_grad(); return nn.functional.mse_loss(trained!.forward(x).Item1, y).item<float>(); }
var gaps = new[] { ("task 1 alone (w₂ = 0)", 0.0), ("task 1 and task 2 (w₂ = 1)", 1.0) }.Select(r =>
{
    Train(1, r.Item2, few);
    double fit = Task1Mse(few.TrainX, few.TrainY1), val = Task1Mse(few.ValX, few.ValY1);
    return (IReadOnlyList<string>)[r.Item1, KitTable.Num(fit), KitTable.Num(val), KitTable.Num(val - fit)];
}).ToList();
new KitTable($"Task 1 trained on {fewRows} rows: training versus validation MSE", ["training", "training MSE", "validation MSE", "gap"], gaps).Display();

// Read the gap and the validation MSE together. The argument for a second task: the trunk cannot memorise task 1's few
// rows as freely when it must also fit task 2, and task 2's labels teach it the direction both tasks share. Whether that
// happens is an empirical question, and on these settings the answer is no. Measured on 2026-12-05 (seed 1; the third
// decimal moves between CPUs, since AVX2 and AVX-512 kernels round differently):
//
// | size | task 1 alone: validation MSE (gap) | with task 2: validation MSE (gap) |
// |---|---|---|
// | default (width 64, 1,500 steps) | 0.95 (0.95) | 1.03 (1.03) |
// | `small` (width 32, 60 steps) | 1.37 (1.09) | 1.45 (1.03) |
//
// At the default size both runs fit the 128 rows almost exactly (training MSE below 1e-3): a trunk of width 64 has room
// to learn task 2's 4,096 rows and memorise task 1's rows at once, so task 2 constrains nothing, and task 1 ends slightly
// worse. At the small size the second task narrows the gap a little, but only because it raises the training MSE more
// than the validation MSE: task 1 is still worse. A second task is a possible regulariser, not a guaranteed one: measure
// the validation error, not only the gap, before believing it (and with unrelated tasks, `relatedness = 0`, it mostly
// takes capacity away; notebook 06 turns that dial).
//
// ## What to take away
//
// - The total loss is a weighted sum, so its gradient is the same weighted sum of the task gradients: heads see only
//   their own task, the shared trunk sees the mixture. That is where tasks help or hurt each other.
// - The weights set a trade-off: the favoured task usually ends a little better, the other worse. A weight also
//   scales the task's step size on its own head (with Adam, much less so: Adam divides by the gradient's scale).
// - Clipping caps the gradient's length and keeps its direction: a guard against rare huge steps, not a way to
//   balance tasks (per-task clipping, in notebook 04, is one).
// - A second task can act as a regulariser when data are few, and here it did not: measure the validation error before
//   believing it.
// - Notebook 03 writes methods that set the weights (or the update) for you; notebook 04 measures when tasks conflict.
//
// ## Glossary: the article's terms and the kit's names
//
// | article | English | in the kit |
// |---|---|---|
// | 参数共享 | parameter sharing | hard sharing: one trunk for all tasks (`SharingPlan.Hard`); soft sharing: each task its own parameters, tied by learned mixing (MMoE, cross-stitch, notebook 06) |
// | 共享层 | shared layers | the trunk; `MultiTaskNetwork.SharedParameters()`; `SharingPlan.Hard`, `SharingPlan.SplitAt(k)` |
// | 独立层 | task-specific layers | the heads (and, with split@k, the upper layers); `TaskParameters(task)`, `TaskHead` |
// | 任务权重 | task weights | w₁, w₂; `FixedWeighting`, any `ILossWeighting` (notebook 03) |
// | 任务融合 | task fusion | one model and one objective for all tasks: L = Σ wᵢLᵢ (above) |
// | 知识转移 | knowledge transfer | what one task's labels teach the shared trunk, which the other task's head then reads (above; Δm measures whether it helped) |
// | 梯度聚合 | gradient aggregation | **in the article**: adding the task gradients, which `backward()` of L does by itself (above). **In the kit**: `IGradientAggregator`, methods that combine the per-task gradient matrix differently from a sum (MGDA, PCGrad, CAGrad, …, notebooks 03–04) |
// | 梯度裁剪 | gradient clipping | `ClipByGlobalNorm` above; `StepOptions.MaxGradNorm` (all parameters; the run's `optimizer.clip_norm`), `StepOptions.MaxTaskGradNorm` (each task's shared gradient, notebook 04) |
// | 任务隔离 | task isolation | `MultiTaskNetwork.StopGradientIntoTrunk(task)` (a `detach()`, notebook 04); the `isolated` plan (nothing shared) |
// | 任务冲突 | task conflict | task gradients with a negative cosine on the shared parameters; `StepDiagnostics.Cosine` (notebook 04) |
// | 迁移学习 | transfer learning | train on one task, then fine-tune on the other (notebook 05) |
// | 损失函数 | loss function | `TaskHead.Loss`: 交叉熵 (cross-entropy) for classification, 均方误差 (mean squared error, MSE) for regression, binary cross-entropy for multi-label |
// | 准确率, 召回率 | accuracy, recall | `accuracy`; recall of a class = TP / (TP + FN), `ClassMetrics.Recall`, `macro_recall` (notebook 02) |
// | 泛化, 过拟合 | generalisation, over-fitting | the gap between training and validation loss (the experiment above; notebook 02's curves) |
// | 预训练 | pre-training | `PretrainedBert.Load`: the case study's trunk starts from pretrained MiniLM weights, the heads from random ones (notebook 02) |
//
// Terms these notebooks use that the article does not:
//
// | term | English | in the kit |
// |---|---|---|
// | 主干, 任务头 | trunk, task head | `ISplittableTrunk` (`MlpTrunk`, `BertTrunk`), `TaskHead` |
// | 灾难性遗忘 | catastrophic forgetting | the first task's loss rising while fine-tuning on the second (notebook 05) |
// | Δm | multi-task performance | `DeltaM.Compute`: the mean relative change of each task's metrics against single-task models, in percent; above zero, sharing helped (notebooks 02–06) |
//
// ## Exercises
//
// 1. Set `relatedness` to 0 in the parameters cell and run again. *You should see* the correlation of y₁ with y₂ drop
//    near zero and the final validation MSE of both tasks rise a little: the trunk must now serve two unrelated functions.
//    <details><summary>Why</summary>With relatedness 0 the tasks read orthogonal directions of x; the trunk's
//    features for one are of no use to the other, so the same width is split between them.</details>
// 2. In the gradient check, set `w2 = 0`. *You should see* ‖∇L‖ equal w₁‖∇L₁‖ on the trunk and head 1, and 0 on head 2.
//    <details><summary>Why</summary>With w₂ = 0 task 2 contributes nothing to L, so nothing flows to head 2, and the
//    trunk's gradient is task 1's alone.</details>
// 3. In `Train`, replace `(w1 * l1 + w2 * l2).backward()` with `l1.backward()` and run the weighting cell. *You should
//    see* task 2's MSE stay near its starting value whatever the weights.
//    <details><summary>Why</summary>Head 2 then never receives a gradient (it keeps its initial weights), and the trunk
//    learns features for task 1 only.</details>
// 4. Double `hidden`. Does the gap between the weightings shrink? <details><summary>What to expect</summary>Yes, at
//    default size (2026-12-05): a weight of 0.1 cost task 1 0.081 of validation MSE at width 64 and 0.042 at width 128
//    (task 2: 0.034 and 0.020). With more capacity the trunk can serve both tasks, so favouring one costs the other
//    less.</details>
//

// Types declared in the notebook's cells (a C# program declares them after its statements).

// ## The model: a shared trunk and two heads
//
// The trunk is two Linear+ReLU layers; each head is one Linear layer reading the trunk's output *z*. This is all of
// hard parameter sharing: both heads read the same *z*.
//
class TwoTaskNet : nn.Module<Tensor, (Tensor, Tensor)>
{
    public readonly nn.Module<Tensor, Tensor> trunk, head1, head2;

    public TwoTaskNet(int inputs, int hidden) : base("two_task_net")
    {
        trunk = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU());
        head1 = nn.Linear(hidden, 1);
        head2 = nn.Linear(hidden, 1);
        RegisterComponents();
    }

    public override (Tensor, Tensor) forward(Tensor x)
    {
        var z = trunk.forward(x);                    // the shared representation
        return (head1.forward(z).squeeze(-1), head2.forward(z).squeeze(-1));
    }
}
