using System.Text.Json.Nodes;
using MultiTaskKit.Evaluation;

namespace MultiTaskKit.Tests.Evaluation;

public class MetricsTests
{
    [Fact]
    public void ClassificationByHand()
    {
        // true:      0 0 0 1 1 2
        // predicted: 0 1 0 1 2 2
        var acc = new ClassificationAccumulator(["neg", "neu", "pos"]);
        acc.Update([0, 1, 0], [0, 0, 0]);
        acc.Update([1, 2, 2], [1, 1, 2]);
        var m = acc.Compute();
        Assert.Equal(6, m.Count);
        Assert.Equal(4.0 / 6, m.Accuracy, 12);
        // neg: P=2/2 R=2/3; neu: P=1/2 R=1/2; pos: P=1/2 R=1/1
        Assert.Equal((1 + 0.5 + 0.5) / 3, m.MacroPrecision, 12);
        Assert.Equal((2.0 / 3 + 0.5 + 1) / 3, m.MacroRecall, 12);
        double f(double p, double r) => 2 * p * r / (p + r);
        Assert.Equal((f(1, 2.0 / 3) + f(0.5, 0.5) + f(0.5, 1)) / 3, m.MacroF1, 12);
        Assert.Equal([2L, 1, 0], m.ConfusionMatrix[0]);
        Assert.Equal(3, m.PerClass[0].Support);
        acc.Reset();
        Assert.Equal(0, acc.Compute().Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => acc.Update(3, 0));
    }

    [Fact]
    public void ScoresUseArgMax()
    {
        var acc = new ClassificationAccumulator(["a", "b"]);
        acc.UpdateFromScores([0.1f, 0.9f, 2f, -1f], [1, 1]);
        Assert.Equal(0.5, acc.Compute().Accuracy);
    }

    [Fact]
    public void RegressionByHand()
    {
        var acc = new RegressionAccumulator();
        float[] y = [1, -2, 0, 3];
        float[] p = [2, -1, 1, -1];
        acc.Update(p, y);
        var m = acc.Compute();
        Assert.Equal((1 + 1 + 1 + 16) / 4.0, m.Mse, 12);
        Assert.Equal((1 + 1 + 1 + 4) / 4.0, m.Mae, 12);
        // Pearson by the textbook formula.
        double my = y.Average(x => (double)x), mp = p.Average(x => (double)x);
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < 4; i++) { sxy += (p[i] - mp) * (y[i] - my); sxx += (p[i] - mp) * (p[i] - mp); syy += (y[i] - my) * (y[i] - my); }
        Assert.Equal(sxy / Math.Sqrt(sxx * syy), m.Pearson, 10);
        // ranks y: 3,1,2,4; p (two tied at -1): 4,1.5,3,1.5 -> r = 0.5 / sqrt(4.5 * 5)
        Assert.Equal(0.5 / Math.Sqrt(22.5), m.Spearman, 10);
        // target 0 left out: signs agree on rows 0,1, disagree on 3.
        Assert.Equal(3, m.PolarityCount);
        Assert.Equal(2.0 / 3, m.PolarityAccuracy, 12);
    }

    [Fact]
    public void TiesGetAverageRanks()
    {
        Assert.Equal([1.5, 1.5, 3], RegressionAccumulator.Ranks([5, 5, 7]));
    }

    [Fact]
    public void ReportAsFrameAndSnakeCaseJson()
    {
        var c = new ClassificationAccumulator(["neg", "pos"]);
        c.Update([0, 1], [0, 0]);
        var r = new RegressionAccumulator();
        r.Update([1f, 2f, 3f], [1f, 2f, 4f]);
        var report = new MetricsReport([
            new TaskEvaluation("imdb", "imdb", "test", c.Compute(), "seeded subset"),
            new TaskEvaluation("tweets", "vader-tweets", "test", r.Compute()),
        ], DeltaM: 1.5);
        var frame = report.ToDataFrame();
        Assert.Equal(4 + 5 + 1, frame.Rows.Count);
        var json = JsonNode.Parse(report.ToJsonString())!;
        Assert.Equal(0.5, json["tasks"]!["imdb"]!["metrics"]!["accuracy"]!.GetValue<double>());
        Assert.NotNull(json["tasks"]!["imdb"]!["metrics"]!["macro_f1"]);
        Assert.NotNull(json["tasks"]!["imdb"]!["metrics"]!["macro_recall"]);
        foreach (var k in new[] { "mse", "pearson", "spearman", "polarity_accuracy" })
            Assert.NotNull(json["tasks"]!["tweets"]!["metrics"]![k]);
        Assert.Equal(1.5, json["delta_m"]!.GetValue<double>());
        Assert.Equal("seeded subset", json["tasks"]!["imdb"]!["note"]!.GetValue<string>());
        Assert.False(MetricDirections.HigherIsBetter("mse"));
        Assert.True(MetricDirections.HigherIsBetter("pearson"));
    }
}
