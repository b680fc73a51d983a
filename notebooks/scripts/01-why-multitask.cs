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
using MultiTaskKit.Training;
using TorchSharp;
using static TorchSharp.torch;

// What the kit's kernel extension does when the notebook loads the kit: TorchSharp's native libraries, before any cell.
MultiTaskKit.Runtime.TorchRuntime.EnsureInitialized();

// # 01 · Why multi-task learning?
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
// First, load the kit from the local package feed (`bash notebooks/pack-kit.sh` makes it, see `notebooks/README.md`).
// Its kernel extension prepares TorchSharp, and draws the kit's tables and charts.
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
long seed = 1;
$"{(small ? "small" : "default")} size: {steps} steps of {batchSize} rows, trunk width {hidden}".Display();

// ## The data: two related regression tasks
//
// The synthetic problem of the MMoE paper (Ma et al., KDD 2018), which the kit ships in `MultiTaskKit.Data.Synthetic`:
// each target is a noisy sum of sines of a projection wᵢᵀx of the input, and the cosine between w₁ and w₂ is the
// *relatedness*. A shared trunk can learn features both tasks use.
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

// ## The training loop
//
// Every step draws a batch, runs the network once, computes both losses, adds them with the weights, and steps Adam.
// The validation losses (on held-out rows) are measured ten times per run and kept with the training losses in the
// kit's history format, which its charts read. One dispose scope per step frees the step's tensors.
//
List<HistoryPoint> Train(double w1, double w2)
{
    manual_seed(seed);
    var model = new TwoTaskNet(inputs, hidden);
    var optimizer = optim.Adam(model.parameters(), learningRate);
    var batches = new Generator((ulong)seed + 1);
    var history = new List<HistoryPoint>();
    for (int step = 1; step <= steps; step++)
    {
        using var scope = NewDisposeScope();
        var rows = randint(trainRows, [batchSize], generator: batches);
        var (p1, p2) = model.forward(data.TrainX[rows]);
        var l1 = nn.functional.mse_loss(p1, data.TrainY1[rows]);
        var l2 = nn.functional.mse_loss(p2, data.TrainY2[rows]);
        optimizer.zero_grad();
        (w1 * l1 + w2 * l2).backward();
        optimizer.step();
        history.Add(new(step, 0, HistoryPoint.Train, "task1", "loss", l1.item<float>()));
        history.Add(new(step, 0, HistoryPoint.Train, "task2", "loss", l2.item<float>()));
        if (step % (steps / 10) != 0) continue;
        using var noGrad = no_grad();
        var (v1, v2) = model.forward(data.ValX);
        history.Add(new(step, 0, HistoryPoint.Eval, "task1", "loss", nn.functional.mse_loss(v1, data.ValY1).item<float>()));
        history.Add(new(step, 0, HistoryPoint.Eval, "task2", "loss", nn.functional.mse_loss(v2, data.ValY2).item<float>()));
    }
    Console.WriteLine($"w₁ = {w1}, w₂ = {w2}: {steps} steps, final validation MSE {FinalMse(history, "task1"):0.000} and {FinalMse(history, "task2"):0.000}");
    return history;
}
double FinalMse(List<HistoryPoint> history, string task) => history.Last(p => p.Kind == HistoryPoint.Eval && p.Task == task).Value;

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
