"""Source of the notebooks: run `python3 notebooks/tools/build_notebooks.py` after editing, and commit the .ipynb files.

Every notebook starts with the cell that loads the kit the way notebooks/README.md tells users to (a local package
feed made by `dotnet pack`), then alternates a markdown cell that explains with a short code cell that does.
The flows live in lib/MultiTaskKit.Tutorials so that notebooks/scripts/NN-*.cs run exactly the same code.
"""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from make_notebook import make

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LOAD = ("cs", """// Load MultiTask Kit from the local package feed that notebooks/pack-kit.sh made (see notebooks/README.md).
#r "nuget: MultiTaskKit.Interactive, *-*"
""")

USINGS = """using MultiTaskKit.Charts;
using MultiTaskKit.Interactive;
using MultiTaskKit.Tutorials;
"""

LOAD_MD = ("md", "Load the kit: its kernel extension prepares TorchSharp, formats tables and draws charts.")

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
    ("md", "The same numbers as bars: each pair of bars is one weighting."),
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
    LOAD_MD,
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
    ("md", "And the time per step:"),
    ("cs", "charts[1]"),
    ("md", """## What to take away

- Sharing the trunk halves the trunk's parameters and training state for two tasks; only the heads are per task.
- Step time drops too, because the trunk runs once per batch rather than once per task. With small trunks, fixed
  per-step overheads dominate and the gap narrows.
- Gradient-aggregation methods (notebook 04) give some of this back: they need one backward pass per task."""),
]


LAB_SETUP = ("cs", USINGS + """using MultiTaskKit.Data.Synthetic;

var settings = MtlLab.Settings.For(TutorialSizes.FromEnvironment());
settings""")

nb03 = [
    ("md", """# 03 · Loss weighting and gradient aggregation, side by side

With hard sharing, the total loss L = Σ wᵢLᵢ needs weights. Two families of methods choose them for you:

- **loss weighting** changes the scalar loss (the weights wᵢ), at the cost of one backward pass;
- **gradient aggregation** changes the update of the shared parameters, from the matrix of per-task gradients
  (one backward pass per task).

This notebook trains every method the kit offers on one synthetic problem, from the same initial weights and the same
batches, and compares their weight trajectories and their final Δm against single-task models."""),
    LOAD_MD,
    LOAD,
    SIZE_MD,
    LAB_SETUP,
    ("md", """## The problem

The synthetic two-regression problem of the MMoE paper (Ma et al., KDD 2018): each target is a noisy non-linear
function of a projection wᵢᵀx, and the cosine p between w₁ and w₂ sets how related the tasks are. Here p = 0.5."""),
    ("cs", """var data = MmoeSynthetic.Make(settings.Inputs, settings.TrainRows, settings.ValRows, correlation: 0.5, seed: settings.Seed);
$"label correlation between the tasks: {data.LabelCorrelation:0.00}\""""),
    ("md", """## The line-up

A fixed weighting for reference, then every method in the kit's method catalogue with its paper's default
settings: the loss weightings (EW, UW, DWA, RLW, FAMO, GradNorm, DB-MTL) and the gradient aggregators on equal
weights (MGDA, MGDA-UB on the shared representation, PCGrad, CAGrad, GradVac, IMTL, Nash-MTL, Aligned-MTL, UPGrad)."""),
    ("cs", """var recipes = Lineups.WeightingMethods();
new KitTable("recipes", ["method (settings)", "plan", "gradients"], recipes.Select(r => (IReadOnlyList<string>)[r.Name, r.Plan.ToString(), r.Gradients.ToString()]))"""),
    ("md", """## Train them all

The single-task baselines (the isolated plan: nothing shared) come first; they are what Δm compares against.
Each run shows one progress line, updated in place."""),
    ("cs", """var (baseline, results) = Lineups.RunAll(data, settings, recipes, name => ProgressView.Show(name));
MtlLab.Table("Final validation MSE and Δm", results.Prepend(baseline), baseline)"""),
    ("md", """## Weight trajectories

How each method moved task 1's effective weight (its loss weight times, for aggregators, its aggregation weight)
over training. Fixed and equal weights are flat lines; adaptive methods move."""),
    ("cs", "MtlLab.WeightTrajectories(results)"),
    ("md", "## Final Δm"),
    ("cs", "MtlCharts.DeltaM(MtlLab.ForCharts(results, baseline))"),
    ("md", "The per-task validation MSE behind those Δm values, single-task models first:"),
    ("cs", "MtlCharts.Comparison(MtlLab.ForCharts(results.Prepend(baseline), baseline), yTitle: \"validation MSE (squared target units)\")"),
    ("md", """## Reading the results

- On a small synthetic problem, differences between methods are often within run-to-run noise: compare Δm with the
  spread you get from a different seed before declaring a winner.
- Adaptive weightings matter most when task losses have different scales or learn at different speeds; aggregators
  matter most when task gradients conflict (notebook 04)."""),
]

nb04 = [
    ("md", """# 04 · Task conflict: measure it, then remedy it

The article's FAQ warns that tasks can *conflict*: their gradients on the shared parameters point in opposing
directions, so a step that helps one task hurts the other. The cosine between the two task gradients measures it:
below zero, the tasks pull the shared weights apart.

The FAQ's remedies are **task weights**, **gradient clipping** and **task isolation**. The MTL literature added
gradient-surgery methods such as PCGrad (Yu et al., NeurIPS 2020). This notebook measures conflict during training
and then tries each remedy on the same problem."""),
    LOAD_MD,
    LOAD,
    SIZE_MD,
    LAB_SETUP,
    ("md", """## A problem with weakly related tasks

The MMoE synthetic problem with p = 0 (orthogonal task directions) and a narrow trunk, so the tasks must compete for
the shared features."""),
    ("cs", """var data = MmoeSynthetic.Make(settings.Inputs, settings.TrainRows, settings.ValRows, correlation: 0.0, seed: settings.Seed);
$"label correlation between the tasks: {data.LabelCorrelation:0.00}\""""),
    ("md", """## Measuring conflict

Train with equal weights and record, at every step, the cosine between the two tasks' gradients on the shared
parameters. The kit computes it from the per-task gradients it already has, without a second pass."""),
    ("cs", """var baselineRun = MtlLab.Train(data, settings, Lineups.ConflictRemedies()[0], ProgressView.Show("equal weights"));
MtlCharts.GradientCosine(baselineRun.History)"""),
    ("md", "The same cosines as a heat map over windows of training steps: red windows are where the tasks conflict."),
    ("cs", "MtlCharts.ConflictHeatmap(baselineRun.History)"),
    ("md", """## The remedies

- **task weights**: down-weight the task that dominates the shared update;
- **per-task gradient clipping**: cap each task's gradient norm on the shared parameters, so neither can swamp the other;
- **task isolation**: stop one task's gradient at the trunk (it trains only its own head);
- **split sharing**: share only the lower layer, give each task its own upper layer;
- and every gradient-aggregation method the kit has (PCGrad and friends), on equal weights.

All start from the same weights and see the same batches; the single-task models are the baseline for Δm."""),
    ("cs", """var (single, remedies) = Lineups.RunAll(data, settings, Lineups.ConflictRemedies(), name => ProgressView.Show(name));
MtlLab.Table("Remedies for task conflict", remedies.Prepend(single), single)"""),
    ("md", "Δm of each remedy against the single-task models:"),
    ("cs", "MtlCharts.DeltaM(MtlLab.ForCharts(remedies, single))"),
    ("md", """## Reading the results

- The share of conflicting steps tells you whether conflict is the problem at all; if it is low, remedies for it
  cannot help much.
- Isolation removes conflict by construction but gives up what the isolated task could learn from sharing.
- Clipping and weights change the balance between tasks, not the direction of their gradients; gradient surgery
  changes the direction."""),
]

nb06 = [
    ("md", """# 06 · When does sharing help?

Hard sharing assumes the tasks need similar features. The MMoE paper (Ma et al., KDD 2018) built a synthetic
problem whose task relatedness is a dial: the cosine p between the two tasks' weight vectors. This notebook turns the
dial and measures, at each setting, hard sharing against two single-task models with the same budget."""),
    LOAD_MD,
    LOAD,
    SIZE_MD,
    LAB_SETUP,
    ("md", """## The dial

At p = 1 the tasks are the same function up to noise; at p = 0 they depend on orthogonal projections of the input;
below zero they are anti-related. The label correlation shows what the dial does to the targets."""),
    ("cs", """var correlations = Lineups.Correlations(TutorialSizes.FromEnvironment());
correlations"""),
    ("md", "## The sweep: for each p, new data, single-task models and one hard-shared model, same seed and budget"),
    ("cs", """var sweep = Lineups.RelatednessSweep(settings, correlations, name => ProgressView.Show(name));
Lineups.SweepTable(sweep)"""),
    ("md", "Δm against the dial:"),
    ("cs", "Lineups.SweepChart(sweep)"),
    ("md", """## Reading the results

- Where the tasks are closely related, sharing acts like more data for each task, and Δm is positive.
- As p falls, the tasks compete for the trunk's capacity and Δm falls, possibly below zero: sharing hurts.
- Where it hurts, split sharing (notebook 04) or gated mixtures of experts (the MMoE paper's answer) give each task
  some capacity of its own."""),
]

make(os.path.join(HERE, "03-loss-weighting.ipynb"), nb03)
make(os.path.join(HERE, "04-task-conflict.ipynb"), nb04)
make(os.path.join(HERE, "06-when-sharing-helps.ipynb"), nb06)

nb02 = [
    ("md", """# 02 · The case study: one BERT, two tasks

The article's case study (sections 4.3 and 5): a BERT trunk shared by two tasks,

- **IMDB** movie reviews (Maas et al. 2011), positive or negative, trained with **cross-entropy**;
- **tweet sentiment**, the VADER tweets' mean human rating in [−4, 4], trained with **mean squared error**;

with the **lower 2 layers shared** and the upper layers copied per task, trained with an Adam-family optimiser.
The trunk is the kit's embedded MiniLM (6 layers, 384 wide). This notebook runs exactly what `mtk casestudy
--preset quick` runs, so for the same seed the numbers match the command's."""),
    LOAD_MD,
    LOAD,
    ("md", """`MTK_NOTEBOOK_SIZE=small` shrinks the run to a few dozen examples and 32 tokens (a minute, for tests); the
default is the quick preset, sized to finish on a 2-core CPU. The data comes from `MTK_DATA_DIR` or a `shared/data`
folder nearby, as for `mtk`."""),
    ("cs", "using System.IO;\n" + USINGS + """using MultiTaskKit.Training;
var config = CaseStudyTutorial.Config(TutorialSizes.FromEnvironment());
var sources = CaseStudyTutorial.Sources();
var runDir = Path.Combine(Path.GetTempPath(), "mtk-notebooks", config.Name);
config"""),
    ("md", """## Training, with live progress

The trainer draws a batch of each task every step, adds the two losses (equal weights), and steps AdamW. One line
below updates in place with the step, the losses and the speed; evaluations on the validation split appear in it."""),
    ("cs", """var (result, tasks) = CaseStudyTutorial.Train(config, runDir, sources, ProgressView.Show("case study, split at layer 2"));
$"{result.Steps} steps in {result.TrainTime:mm\\\\:ss}, {result.TokensPerSecond:0} tokens/s\""""),
    ("md", """## The data

Dataset cards of what was trained on: examples per split, the label or target distribution, lengths and a few
examples (dataset text is shown escaped)."""),
    ("cs", """var cards = CaseStudyTutorial.Cards(tasks);
cards[0]"""),
    ("md", "The tweets:"),
    ("cs", "cards[1]"),
    ("md", """## The section 5.4 curves

Training loss per task, and validation loss where the task's metric is its loss (MSE for the tweets)."""),
    ("cs", """var charts = RunChartsWriter.Charts(RunHistory.Load(Path.Combine(runDir, Trainer.HistoryFile)), result.Test);
charts[0]"""),
    ("md", "Validation metrics per task over training:"),
    ("cs", "charts[1]"),
    ("md", "## Test metrics"),
    ("cs", """CaseStudyTutorial.Metrics(result.Test, "split at layer 2: test metrics")"""),
    ("md", "And where the review classifier goes wrong:"),
    ("cs", """charts.Single(c => c.Title.StartsWith("Confusion"))"""),
    ("md", """## Single-task models versus multi-task, with Δm

The same recipe trained three more ways with the same number of steps: each task alone (the isolated plan: two
single-task models) and hard sharing (every layer shared). Δm is the mean relative change against the single-task
models over the headline metrics; above zero, sharing helped."""),
    ("cs", """var (single, hard) = CaseStudyTutorial.Compare(config, result, runDir, sources, name => ProgressView.Show(name));
var comparison = CaseStudyTutorial.Comparison(single, hard, result.Test);
MtlCharts.DeltaM(comparison)"""),
    ("md", "The metrics behind it:"),
    ("cs", """MtlCharts.Comparison(comparison)"""),
    ("md", """## On a GPU: the full settings, and what the article reports

`mtk casestudy --preset full` (or `CaseStudy.Preset("full")` here) trains on all 25,000 IMDB training reviews at
256 tokens for 3 epochs with dropout and early stopping, and scores the full test set; build with
`-p:MtkDevice=cuda` to run it on a GPU. The article reports **92.3 %** IMDB accuracy and **88.5 %** on its
tweet-sentiment task with a full-size BERT. The quick preset here trains a small MiniLM on a subset for one pass,
so expect lower numbers; the closing note of the training issue gives measured figures."""),
]

nb05 = [
    ("md", """# 05 · Multi-task learning or transfer learning?

The article's FAQ contrasts two ways to use a second task:

- **multi-task learning**: train on both tasks *jointly*, one shared trunk;
- **transfer learning**: train on task A first, then *fine-tune* the same network on task B.

Transfer can be excellent for B, but it is sequential: while fine-tuning on B nothing keeps task A's performance,
which may be *forgotten*. This notebook trains both ways on the synthetic problem of notebook 06 and compares both
tasks, including how much A is forgotten."""),
    LOAD_MD,
    LOAD,
    SIZE_MD,
    LAB_SETUP,
    ("md", "Two related tasks (p = 0.7):"),
    ("cs", """var data = MmoeSynthetic.Make(settings.Inputs, settings.TrainRows, settings.ValRows, correlation: 0.7, seed: settings.Seed);
$"label correlation between the tasks: {data.LabelCorrelation:0.00}\""""),
    ("md", """## Joint, sequential, and each task alone

Same network, same seeds, same total number of steps per task: jointly (both losses every step), sequentially
(task 1 for the whole budget, then task 2 for the whole budget, starting from the task-1 weights), and single-task
models for reference."""),
    ("cs", """var cmp = TransferTutorial.Run(data, settings, name => ProgressView.Show(name));
TransferTutorial.Table(cmp)"""),
    ("md", "Task 1's validation loss over the sequential run: it rises once training switches to task 2 (forgetting)."),
    ("cs", "TransferTutorial.ForgettingChart(cmp)"),
    ("md", """## Reading the results

- Fine-tuning on task 2 gives task 2 the full benefit of the task-1 features, often matching joint training on it.
- Task 1 is what transfer gives up: its loss after fine-tuning (the forgetting column) is the price.
- Joint training keeps both tasks in one model, at the cost of balancing them (notebooks 03 and 04)."""),
]

make(os.path.join(HERE, "02-case-study.ipynb"), nb02)
make(os.path.join(HERE, "05-mtl-vs-transfer.ipynb"), nb05)

make(os.path.join(HERE, "01-why-multitask.ipynb"), nb01)
make(os.path.join(HERE, "07-cost-of-mtl.ipynb"), nb07)
print("notebooks written")
