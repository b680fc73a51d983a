using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Tests.Cli;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Evaluation;

/// <summary>The evaluated loss: each task's own training loss on held-out examples, beside its metrics.</summary>
[Collection(ProcessStateCollection.Name)]
public class ValidationLossTests
{
    [Fact]
    public void TheEvaluatedLossIsTheHeadsLossOverAllExamples()
    {
        TorchRuntime.EnsureInitialized();
        manual_seed(5);
        var model = new MultiTaskModel(new MlpTrunk(MlpTrunkOptions.ForTokens(30, hiddenSize: 8, layers: 1)),
            new Dictionary<string, TaskHead> { ["cls"] = new ClassificationHead(8, 3), ["reg"] = new RegressionHead(8) }, SharingPlan.Hard);
        var rng = new Random(2);
        // 7 examples of different lengths, so that batches of 3 are uneven and padded differently
        var inputs = Enumerable.Range(0, 7).Select(i => (Ids: Enumerable.Range(0, 2 + i % 4).Select(_ => (long)rng.Next(1, 30)).ToArray(), Class: i % 3, Value: (float)rng.NextDouble())).ToList();
        foreach (var (task, kind, labels) in new[] { ("cls", TaskKind.Classification, new[] { "a", "b", "c" }), ("reg", TaskKind.Regression, Array.Empty<string>()) })
        {
            var signature = new TaskSignature(task, kind, labels);
            var examples = inputs.Select((x, i) => new EncodedExample(i, x.Ids, task == "cls" ? new TaskLabel(Class: x.Class) : new TaskLabel(Value: x.Value))).ToList();
            var evaluated = TaskEvaluator.Evaluate(model, signature, examples, padId: 0, batchSize: 3).Values[TaskEvaluator.LossMetric];
            double expected;
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                model.eval();
                using var all = TaskBatch.Build(signature, examples, 0, TorchRuntime.DefaultDevice);
                var output = model.Forward(new Dictionary<string, TrunkInput> { [task] = all.Input })[task];
                expected = model.Head(task).Loss(output, all.Targets).item<float>();
                model.train();
            }
            Assert.True(double.IsFinite(evaluated) && evaluated > 0, $"{task}: expected a positive loss, found {evaluated}");
            Assert.True(Math.Abs(evaluated - expected) < 1e-5 * Math.Max(1, expected), $"{task}: evaluated loss {evaluated}, the head's loss over all examples {expected}");
        }
        // predictions need no labels: unlabelled examples (no label, as `mtk predict` reads them) get outputs, no loss
        var unlabelled = inputs.Select((x, i) => new EncodedExample(i, x.Ids, null)).ToList();
        Assert.Equal(7, TaskEvaluator.Predict(model, new TaskSignature("cls", TaskKind.Classification, ["a", "b", "c"]), unlabelled, 0, 3).Count());
        Assert.False(MetricDirections.HigherIsBetter(TaskEvaluator.LossMetric));
        Assert.False(DeltaM.HigherIsBetter(TaskEvaluator.LossMetric));
    }

    [Fact]
    public void TheTrainerRecordsEachTasksValidationLossAtEveryEvaluation()
    {
        TorchRuntime.EnsureInitialized();
        var dir = Directory.CreateTempSubdirectory("mtk-val-loss").FullName;
        try
        {
            var config = RunConfig.Load(TinyRun.Write(dir, steps: 9, checkpointEvery: 100, model: """{ "trunk": "mlp", "hidden": 8, "layers": 1 }"""));
            config = config with { Training = config.Training with { EvalEverySteps = 3, EvalPerEpoch = false } };
            using (var trainer = new Trainer(config, Path.Combine(dir, "out"), new DatasetSources { DataDir = dir })) trainer.Run();
            var history = RunHistory.Load(Path.Combine(dir, "out", Trainer.HistoryFile));
            foreach (var task in config.Tasks.Select(t => t.Name))
            {
                var rows = history.Rows.Where(r => r.Kind == "eval" && r.Task == task && r.Metric == TaskEvaluator.LossMetric).ToList();
                Assert.Equal([3L, 6L, 9L], rows.Select(r => r.Step));
                Assert.All(rows, r => Assert.True(double.IsFinite(r.Value) && r.Value > 0, $"{task} at step {r.Step}: {r.Value}"));
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
