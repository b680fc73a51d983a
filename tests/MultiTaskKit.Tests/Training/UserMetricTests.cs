using System.Globalization;
using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Runtime;
using MultiTaskKit.Tests.Cli;
using MultiTaskKit.Training;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Tests.Training;

/// <summary>A task's own metric through the trainer: logged beside the built-in ones and used as the selection metric.</summary>
[Collection(ProcessStateCollection.Name)]
public class UserMetricTests
{
    /// <summary>Counts rows whose true label is the second class, predicted with probability above 0.5, as a share of all
    /// rows: a metric the kit does not have, as an accumulator holding scalars.</summary>
    sealed class ConfidentPositives : IUserMetric
    {
        long rows, hits;
        public string Name => "confident_positives";
        public bool HigherIsBetter => false;                      // lower is better, to check the direction is honoured
        public void Reset() { rows = 0; hits = 0; }
        public void Update(ReadOnlySpan<float> output, EncodedExample example) { rows++; if (example.Label?.Class == 1 && output[1] > 0.5f) hits++; }
        public double Compute() => rows == 0 ? double.NaN : (double)hits / rows;
    }

    [Fact]
    public void AUserMetricIsLoggedAndSelectsTheBestCheckpoint()
    {
        TorchRuntime.EnsureInitialized();
        var dir = Directory.CreateTempSubdirectory("mtk-user-metric").FullName;
        var config = RunConfig.Load(TinyRun.Write(dir, steps: 12, checkpointEvery: 100, model: """{ "trunk": "mlp", "hidden": 8, "layers": 1 }""",
            extraTraining: ", \"selection_metric\": \"sentiment/confident_positives\""));
        config = config with { Training = config.Training with { EvalEverySteps = 3, EvalPerEpoch = false } };
        var meanTarget = new DelegateMetric("mean_prediction", (outputs, _) => outputs.Average(o => o[0]));
        using (var trainer = new Trainer(config, Path.Combine(dir, "out"), new DatasetSources { DataDir = dir })
        {
            Metrics = new Dictionary<string, IReadOnlyList<IUserMetric>> { ["sentiment"] = [new ConfidentPositives()], ["score"] = [meanTarget] },
        }) trainer.Run();

        var history = RunHistory.Load(Path.Combine(dir, "out", Trainer.HistoryFile));
        var user = history.Rows.Where(r => r.Kind == "eval" && r.Metric == "confident_positives").ToList();
        Assert.Equal(4, user.Count);
        Assert.All(user, r => Assert.InRange(r.Value, 0, 1));
        Assert.Contains(history.Rows, r => r.Kind == "test" && r.Task == "score" && r.Metric == "mean_prediction");
        // the selection score is the user metric, negated (lower is better), and the best step is where it was lowest
        var scores = history.Rows.Where(r => r.Metric == "selection_score").ToList();
        Assert.Equal(user.Select(r => -r.Value), scores.Select(r => r.Value));
        var metrics = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "out", Trainer.MetricsFile)))!;
        Assert.NotNull(metrics["tasks"]!["sentiment"]!["metrics"]!["confident_positives"]);
        Assert.NotNull(metrics["tasks"]!["sentiment"]!["per_class"]);    // the built-in figures are still there

        var clash = new DelegateMetric("accuracy", (_, _) => 0);
        using var bad = new Trainer(config, Path.Combine(dir, "out2"), new DatasetSources { DataDir = dir })
        {
            Metrics = new Dictionary<string, IReadOnlyList<IUserMetric>> { ["sentiment"] = [clash] },
        };
        Assert.Contains("user metric 'accuracy' has the name of another metric", Assert.Throws<ArgumentException>(() => bad.Run()).Message);
    }
}
