using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MultiTaskKit.Models;
using MultiTaskKit.Steps;
using MultiTaskKit.Tests.Cli;
using MultiTaskKit.Training;
using MultiTaskKit.Weighting;
using MultiTaskKit.Aggregation;
using static TorchSharp.torch;
using MultiTaskKit.Data;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;

namespace MultiTaskKit.Tests.Training;

/// <summary>Tasks that label one shared input, some rows for some tasks only: the loss of a task over its labelled rows,
/// one forward per batch, and <c>mtk train</c> with a rep-grad method over three tasks.</summary>
[Collection(ProcessStateCollection.Name)]
public class SharedInputTests
{
    public SharedInputTests() => MultiTaskKit.Runtime.TorchRuntime.EnsureInitialized();

    static MultiTaskModel Model()
    {
        manual_seed(17);
        var model = new MultiTaskModel(new MlpTrunk(new MlpTrunkOptions(4, 8, 2)), new Dictionary<string, TaskHead>
        {
            ["a"] = new RegressionHead(8),
            ["b"] = new ClassificationHead(8, 3),
        }, SharingPlan.SplitAt(1));
        model.eval();
        return model;
    }

    static Dictionary<string, Tensor> Gradients(MultiTaskModel model, Tensor loss)
    {
        model.zero_grad();
        loss.backward();
        return model.named_parameters().Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.clone());
    }

    [Fact]
    public void AnUnlabelledRowAddsNothingToThatTasksLossOrGradient()
    {
        using var scope = NewDisposeScope();
        var model = Model();
        var x = randn(6, 4);
        var yA = randn(6);
        // task a labels rows 0, 1, 3, 4; row 2 and row 5 carry no label for a
        var rowsA = tensor(new long[] { 0, 1, 3, 4 });
        var targets = new Dictionary<string, Tensor> { ["a"] = yA.index_select(0, rowsA), ["b"] = tensor(new long[] { 2, 0, 1 }) };
        var rows = new Dictionary<string, Tensor> { ["a"] = rowsA, ["b"] = tensor(new long[] { 0, 2, 5 }) };

        var input = x.clone().requires_grad_(true);
        var loss = model.Losses(model.Forward(TrunkInput.FromFeatures(input)), targets, rows)["a"];
        // the loss averages over the labelled rows alone: the same as a batch of only those rows
        var alone = model.Losses(model.Forward(TrunkInput.FromFeatures(x.index_select(0, rowsA))), new Dictionary<string, Tensor> { ["a"] = targets["a"] },
            new Dictionary<string, Tensor> { ["a"] = arange(4L) })["a"];
        Assert.Equal(alone.item<float>(), loss.item<float>(), 6);

        var grads = Gradients(model, loss);
        // no gradient reaches the unlabelled rows' inputs ...
        var inputGrad = input.grad!;
        Assert.Equal(0f, inputGrad[2].abs().max().item<float>());
        Assert.Equal(0f, inputGrad[5].abs().max().item<float>());
        Assert.True(inputGrad[0].abs().max().item<float>() > 0);
        // ... and whatever the unlabelled rows hold, every parameter's gradient of a's loss is the same
        var changed = x.clone();
        changed[2] = randn(4) * 50;
        changed[5] = randn(4) * 50;
        var again = Gradients(model, model.Losses(model.Forward(TrunkInput.FromFeatures(changed)), targets, rows)["a"]);
        Assert.Equal(grads.Keys.Order(), again.Keys.Order());
        foreach (var (name, g) in grads)
            Assert.True(allclose(g, again[name], rtol: 1e-5, atol: 1e-7), $"{name}: the gradient moved when an unlabelled row changed");
        Assert.Contains(grads, kv => kv.Key.StartsWith("trunk", StringComparison.Ordinal) || kv.Key.StartsWith("shared", StringComparison.Ordinal));
    }

    [Fact]
    public void ARepGradStepTakesOneForwardAndSkipsATaskWithNoLabelInTheBatch()
    {
        using var scope = NewDisposeScope();
        var model = Model();
        var optimizer = optim.SGD(model.parameters(), 0.1);
        var step = new TrainingStep(model, new EqualWeighting(["a", "b"]), new MGDA(), optimizer,
            new TrainingStepOptions { Engine = new() { Gradients = GradientMode.Representation } });
        var x = randn(4, 4);
        // task b labels no row of this batch: only a has a loss, and the step still runs
        var batch = StepBatch.Shared(TrunkInput.FromFeatures(x), new Dictionary<string, Tensor> { ["a"] = randn(2) }) with
        {
            LabelledRows = new Dictionary<string, Tensor> { ["a"] = tensor(new long[] { 1, 3 }) },
        };
        var before = model.parameters().Select(p => p.detach().clone()).ToList();
        var result = step.Run(_ => batch);
        Assert.Equal(["a"], result.Losses.Keys);
        Assert.Contains(model.parameters().Zip(before), pb => !pb.First.allclose(pb.Second, 0, 0));
        // both tasks labelled: rep-grad MGDA weighs two representation gradients
        var both = StepBatch.Shared(TrunkInput.FromFeatures(x), new Dictionary<string, Tensor> { ["a"] = randn(3), ["b"] = tensor(new long[] { 1 }) }) with
        {
            LabelledRows = new Dictionary<string, Tensor> { ["a"] = tensor(new long[] { 0, 1, 2 }), ["b"] = tensor(new long[] { 3 }) },
        };
        var second = step.Run(_ => both);
        Assert.Equal(2, second.Last.Weights.Count);
        Assert.Throws<ArgumentException>(() => model.Losses(model.Forward(TrunkInput.FromFeatures(x)),
            new Dictionary<string, Tensor> { ["a"] = randn(3) }, new Dictionary<string, Tensor> { ["a"] = tensor(new long[] { 0, 1 }) }));
    }

    /// <summary>One CSV, three tasks (a class, a score, a topic), each row labelled for some of them.</summary>
    static string WriteSharedRun(string dir, string method, bool shared = true, string textColumnOfTopic = "text")
    {
        Directory.CreateDirectory(dir);
        string[] pos = ["good", "great", "lovely", "fine"], neg = ["bad", "awful", "dull", "poor"], topics = ["film", "food", "music"];
        var rng = new Random(5);
        var csv = new StringBuilder("text,sentiment,score,topic\n");
        for (int i = 0; i < 120; i++)
        {
            bool p = rng.Next(2) == 1;
            var topic = topics[rng.Next(3)];
            double s = (p ? 1 : -1) * (0.5 + rng.NextDouble());
            // about a third of the cells are blank: no label for that task on that row
            string Maybe(string v) => rng.Next(3) == 0 ? "" : v;
            csv.Append($"\"the {topic} was {(p ? pos : neg)[rng.Next(4)]}, {(p ? pos : neg)[rng.Next(4)]}\",{Maybe(p ? "pos" : "neg")},{Maybe(s.ToString("F2", CultureInfo.InvariantCulture))},{Maybe(topic)}\n");
        }
        File.WriteAllText(Path.Combine(dir, "shared.csv"), csv.ToString());
        var config = $$"""
        {
          "name": "shared",
          "seed": 3,
          "model": { "trunk": "random", "hidden": 16, "layers": 2, "heads": 2, "intermediate": 32 },
          "sharing": { "plan": "split", "shared_layers": 1 },
          "method": {{method}},
          "optimizer": { "name": "adamw", "lr": 0.002 },
          "training": { "steps": 12, "eval_every_steps": 6, "shared_input": {{(shared ? "true" : "false")}} },
          "tasks": [
            { "name": "sentiment", "dataset": "csv", "kind": "classification", "train": "shared.csv", "text_column": "text", "label_column": "sentiment", "batch_size": 8, "max_tokens": 12 },
            { "name": "score", "dataset": "csv", "kind": "regression", "train": "shared.csv", "text_column": "text", "label_column": "score", "batch_size": 8, "max_tokens": 12 },
            { "name": "topic", "dataset": "csv", "kind": "classification", "train": "shared.csv", "text_column": "{{textColumnOfTopic}}", "label_column": "topic", "batch_size": 8, "max_tokens": 12 }
          ]
        }
        """;
        var path = Path.Combine(dir, "run.json");
        File.WriteAllText(path, config);
        return path;
    }

    [Fact]
    public void MtkTrainRunsMgdaUbOverThreeTasksOfOneFileWithMissingLabels()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-shared-input").FullName;
        try
        {
            var config = WriteSharedRun(dir, """{ "weighting": "equal", "aggregation": "mgda-ub" }""");
            var run = Path.Combine(dir, "out");
            var (code, output) = MtkProcess.Run(dir, "train", "--config", config, "--out", run);
            Assert.True(code == 0, output);
            Assert.Contains("shared input", output);
            var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!;
            foreach (var task in new[] { "sentiment", "score", "topic" }) Assert.NotNull(metrics["tasks"]![task]);
            Assert.InRange(metrics["tasks"]!["topic"]!["metrics"]!["accuracy"]!.GetValue<double>(), 0, 1);
            // the three tasks were weighed together by MGDA on the representation: weights of all three in one step
            var rows = File.ReadAllLines(Path.Combine(run, "history.csv")).Skip(1).Select(l => l.Split(',')).ToList();
            foreach (var task in new[] { "sentiment", "score", "topic" })
                Assert.Contains(rows, r => r[2] == "train" && r[3] == task && r[4] == "weight");
            // each task's training rows are the rows it labels, fewer than the file's
            var tasks = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "tasks.json")))!;
            Assert.True(tasks["topic"]!["train_count"]!.GetValue<int>() < 100, tasks.ToJsonString());

            // per-task batches cannot take representation gradients: the error says what to do
            var separate = WriteSharedRun(Path.Combine(dir, "separate"), """{ "weighting": "equal", "aggregation": "mgda-ub" }""", shared: false);
            var (code2, output2) = MtkProcess.Run(dir, "train", "--config", separate, "--out", Path.Combine(dir, "out2"));
            Assert.NotEqual(0, code2);
            Assert.Contains("shared.csv, line", output2);
            Assert.Contains("training.shared_input", output2);
            Assert.DoesNotContain("   at ", output2);

            // shared input needs the same text column in every task
            var mismatched = WriteSharedRun(Path.Combine(dir, "mismatch"), """{ "weighting": "equal" }""", textColumnOfTopic: "score");
            var (code3, output3) = MtkProcess.Run(dir, "train", "--config", mismatched, "--out", Path.Combine(dir, "out3"));
            Assert.NotEqual(0, code3);
            Assert.Contains("task 'topic': text_column must equal task 'sentiment''s", output3);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
