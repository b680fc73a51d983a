"""Source of the notebooks: run `python3 notebooks/tools/build_notebooks.py` after editing, and commit the .ipynb files.

Every notebook starts with the cell that loads the kit the way notebooks/README.md tells users to (a local package
feed made by `dotnet pack`), then alternates a markdown cell that explains with a short code cell that does.
The flows live in lib/MultiTaskKit/Tutorials so that notebooks/scripts/NN-*.cs run exactly the same code.
"""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from make_notebook import make

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LOAD = ("cs", """// Load MultiTask Kit from the local package feed that `dotnet pack` wrote (see notebooks/README.md).
#i "nuget: ../artifacts/feed"
#r "nuget: MultiTaskKit.Interactive, *-*"
""")

USINGS = """using MultiTaskKit.Charts;
using MultiTaskKit.Interactive;
using MultiTaskKit.Tutorials;
"""

SIZE_MD = ("md", """Runs are sized by the environment variable `MTK_NOTEBOOK_SIZE`: unset (or `default`) gives the real,
teaching-sized runs; `small` gives a run of a few seconds, which is what the tests use.""")

nb01 = [
    ("md", """# 01 · Why multi-task learning?

One network, several tasks. In **hard parameter sharing** the lower part of the network, the *trunk*, is shared by
every task, and each task has its own small *head* on top. Training minimises one scalar,

**L = w₁·L₁ + w₂·L₂**,

a weighted sum of the task losses. This notebook builds the smallest such network on a synthetic problem and looks
at what that sum does to the gradients, then at what changing w₁, w₂ does to the result."""),
    ("md", "First, load the kit. The kernel extension it brings also prepares TorchSharp, formats tables and draws charts."),
    LOAD,
    SIZE_MD,
    ("cs", USINGS + """
var settings = WhyMultitask.Settings.For(TutorialSizes.FromEnvironment());
settings"""),
    ("md", """## The data: two related regression tasks

Both targets are read out of the same hidden non-linear features of the input *x*, along two directions whose
cosine is the *relatedness* (here 0.8). A shared trunk can learn those features once for both tasks."""),
    ("cs", """var data = ToyData.Make(settings.Inputs, settings.TrainRows, settings.ValRows, relatedness: 0.8, seed: settings.Seed);
$"train x: [{string.Join(", ", data.TrainX.shape)}], validation x: [{string.Join(", ", data.ValX.shape)}]\""""),
    ("md", """## The gradient of the total loss

One backward pass of L gives every parameter its gradient. Because the heads only appear in their own task's loss,
head 1 receives w₁∇L₁ and nothing from task 2. The trunk appears in both, so it receives
w₁∇L₁ + w₂∇L₂. The table checks this numerically on one batch: the last column is the largest
difference between the gradient of L and the weighted sum of the separate task gradients."""),
    ("cs", "WhyMultitask.GradientSplit(data, settings, w1: 1.0, w2: 1.0)"),
    ("md", """Now shrink w₂ to 0.1. The heads' gradients scale with their own weight; the trunk's gradient is pulled
towards task 1, because task 2 now contributes a tenth as much to the shared update."""),
    ("cs", "WhyMultitask.GradientSplit(data, settings, w1: 1.0, w2: 0.1)"),
    ("md", """## Training with equal weights

Adam, mini-batches of 64, both losses every step. The progress line below updates in place."""),
    ("cs", """var equal = WhyMultitask.Train(data, settings, w1: 1, w2: 1, ProgressView.Show("equal weights"));
equal.Elapsed"""),
    ("md", """Training and validation loss per task, against the optimiser step (the kind of plot the article's
section 5.4 shows). Validation loss is measured on held-out rows ten times per run."""),
    ("cs", """MtlCharts.LossCurves(equal.History, new Dictionary<string, string> { ["task1"] = "MSE", ["task2"] = "MSE" })"""),
    ("md", """## What changing w₁, w₂ does

Train the same network twice more, favouring one task each time, and compare the final validation MSE."""),
    ("cs", """var runs = new[]
{
    equal,
    WhyMultitask.Train(data, settings, w1: 1, w2: 0.1, ProgressView.Show("w2 = 0.1")),
    WhyMultitask.Train(data, settings, w1: 0.1, w2: 1, ProgressView.Show("w1 = 0.1")),
};
WhyMultitask.Summary(runs)"""),
    ("cs", "WhyMultitask.WeightsChart(runs)"),
    ("md", """## What to take away

- The total loss is a weighted sum, so its gradient is the same weighted sum of task gradients.
- Heads see only their own task; the shared trunk sees the weighted mixture, which is where tasks help or hurt each other.
- The weights set the trade-off: the favoured task usually ends up a little better, the other worse. Notebook 03
  compares methods that set the weights (or the update) automatically."""),
]

nb07 = [
    ("md", """# 07 · What does multi-task learning cost?

The article's FAQ asks about resources. With a shared trunk, one multi-task model replaces several single-task
models: fewer parameters, less memory for weights, gradients and optimiser state, and one forward/backward through
the trunk per step instead of one per task. This notebook measures all three on this machine."""),
    LOAD,
    SIZE_MD,
    ("cs", USINGS + """
var settings = CostOfMtl.Settings.For(TutorialSizes.FromEnvironment());
settings"""),
    ("md", """## Measure

For each trunk width, time one training step covering both tasks: two single-task models (each its own trunk and
head, each its own Adam step) against one multi-task model (one trunk, two heads, one Adam step on L₁ + L₂).
Training state counts fp32 weights, gradients and Adam's two moment buffers: 16 bytes per parameter."""),
    ("cs", """var measurements = CostOfMtl.Measure(settings, ProgressView.Show("measuring"));
CostOfMtl.Table(measurements)"""),
    ("md", "Parameters and step time side by side:"),
    ("cs", """var charts = CostOfMtl.Charts(measurements);
charts[0]"""),
    ("cs", "charts[1]"),
    ("md", """## What to take away

- Sharing the trunk halves the trunk's parameters and training state for two tasks; only the heads are per task.
- Step time drops too, because the trunk runs once per batch rather than once per task. With small trunks, fixed
  per-step overheads dominate and the gap narrows.
- Gradient-aggregation methods (notebook 04) give some of this back: they need one backward pass per task."""),
]

make(os.path.join(HERE, "01-why-multitask.ipynb"), nb01)
make(os.path.join(HERE, "07-cost-of-mtl.ipynb"), nb07)
print("notebooks written")
