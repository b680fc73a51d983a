using System.Text.Json.Nodes;
using MultiTaskKit.Charts;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Training;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Tests.Charts;

[Collection(ProcessStateCollection.Name)]
public class RunChartsWriterTests
{
    [Fact]
    public void TrainerRunsGetLossMetricWeightConflictAndConfusionCharts()
    {
        var history = new RunHistory();
        for (int s = 1; s <= 20; s++)
        {
            history.Add(s, 0, "train", "imdb", "loss", 0.7 - s * 0.01);
            history.Add(s, 0, "train", "tweets", "loss", 1.5 - s * 0.02);
            history.Add(s, 0, "train", "imdb", "weight", 1);
            history.Add(s, 0, "train", "tweets", "weight", 1);
            history.Add(s, 0, "train", "imdb|tweets", "grad_cosine", Math.Sin(s));
            history.Add(s, 0, "train", "all", "lr", 1e-4);
            if (s % 10 == 0)
            {
                history.Add(s, 0, "eval", "imdb", "accuracy", 0.6 + s / 100.0);
                history.Add(s, 0, "eval", "tweets", "mse", 1.4 - s / 50.0);
                history.Add(s, 0, "eval", "all", "selection_score", 0.5);
            }
        }
        var acc = new ClassificationAccumulator(["negative", "positive"]);
        acc.Update([0, 1, 1, 0, 1], [0, 1, 0, 0, 1]);
        var reg = new RegressionAccumulator();
        reg.Update([0.1f, 0.5f], [0.2f, 0.4f]);
        var report = new MetricsReport([new TaskEvaluation("imdb", "imdb", "test", acc.Compute()), new TaskEvaluation("tweets", "vader", "test", reg.Compute())]);

        var charts = RunChartsWriter.Charts(history, report);
        Assert.Equal(["Training and validation loss per task", "Validation metrics per task", "Task weights over training",
            "Task-gradient cosine similarity on the shared parameters", "Gradient conflict over training (mean cosine per window)",
            "Confusion matrix: imdb (imdb, test, 5 examples)"], charts.Select(c => c.Title));

        var loss = JsonNode.Parse(charts[0].FigureJson)!["data"]!.AsArray();
        // imdb: train only (no validation loss is logged for classification); tweets: train + validation MSE. Each
        // training curve is drawn twice: per batch (faint) and smoothed.
        Assert.Equal(["train (raw)", "train", "train (raw)", "train", "validation"], loss.Select(t => t!["name"]!.GetValue<string>()));
        var z = JsonNode.Parse(charts[^1].FigureJson)!["data"]![0]!["z"]!.AsArray();
        Assert.Equal(2, z[0]![0]!.GetValue<double>()); // true negative
        Assert.Equal(1, z[0]![1]!.GetValue<double>()); // negative predicted positive

        var dir = Directory.CreateTempSubdirectory("mtk-run-").FullName;
        try
        {
            RunCharts.Write(dir, history, report);
            var html = File.ReadAllText(Path.Combine(dir, RunCharts.Folder, RunCharts.PageFile));
            Assert.Equal(charts.Count, System.Text.RegularExpressions.Regex.Matches(html, "class=\"mtk-chart\"").Count);
        }
        finally { Directory.Delete(dir, true); }
    }
}
