using System.Text.Json.Nodes;
using MultiTaskKit.Evaluation;

namespace MultiTaskKit.Tests.Evaluation;

/// <summary>
/// The direction table and the report's two shapes, field by field. Mutation testing (<c>.ci/mutation evaluation</c>)
/// found both unread by the tests: any name in the direction table, and any key of metrics.json, could be changed
/// without a test failing.
/// </summary>
public class MetricsReportTests
{
    public static TheoryData<string, bool> Directions => new()
    {
        { "accuracy", true }, { "macro_f1", true }, { "micro_f1", true }, { "f1", true }, { "precision", true },
        { "recall", true }, { "macro_precision", true }, { "macro_recall", true }, { "micro_precision", true },
        { "micro_recall", true }, { "pearson", true }, { "spearman", true }, { "polarity_accuracy", true },
        { "r2", true }, { "auc", true }, { "map", true }, { "entity_f1", true }, { "entity_precision", true },
        { "entity_recall", true }, { "token_accuracy", true }, { "subset_accuracy", true },
        { "mse", false }, { "mae", false }, { "rmse", false }, { "loss", false }, { "error", false },
        { "cross_entropy", false }, { "hamming_loss", false },
    };

    [Theory]
    [MemberData(nameof(Directions))]
    public void EveryKnownMetricHasItsDirection(string metric, bool higher)
    {
        Assert.True(MetricDirections.TryHigherIsBetter(metric, out var found));
        Assert.Equal(higher, found);
        Assert.Equal(higher, MetricDirections.HigherIsBetter(metric.ToUpperInvariant()));
        Assert.Equal(higher, MetricDirections.HigherIsBetter(metric + "/PER")); // per-type figures take the name's direction
        Assert.Contains(metric, MetricDirections.Known);
    }

    [Fact]
    public void TheTableKnowsExactlyItsNamesAndReadsSuffixesAndUnknownNames()
    {
        Assert.Equal(Directions.Count(), MetricDirections.Known.Count);
        Assert.Equal(MetricDirections.Known.Count, MetricDirections.Known.Distinct().Count());
        Assert.True(MetricDirections.TryHigherIsBetter("contrastive_loss", out var lossHigher));
        Assert.False(lossHigher);
        Assert.False(MetricDirections.TryHigherIsBetter("my_score", out _));
        Assert.True(MetricDirections.HigherIsBetter("my_score")); // a user's score counts as higher-is-better
        Assert.False(MetricDirections.TryHigherIsBetter("/mse", out _)); // a slash first names no metric
        Assert.Throws<ArgumentNullException>(() => MetricDirections.TryHigherIsBetter(null!, out _));
    }

    static MetricsReport Report()
    {
        var c = new ClassificationAccumulator(["neg", "pos"]);
        c.Update([0, 1, 1], [0, 0, 1]); // true 0 0 1, predicted 0 1 1
        var r = new RegressionAccumulator();
        r.Update([1f, 2f, -1f], [2f, 2f, 2f]); // a constant target: Pearson and Spearman are undefined (NaN)
        return new MetricsReport([
            new TaskEvaluation("imdb", "imdb", "test", c.Compute()),
            new TaskEvaluation("tweets", "vader-tweets", "val", r.Compute()),
        ], DeltaM: -2.5, Note: "one seed");
    }

    [Fact]
    public void JsonNamesEveryFieldAndWritesUndefinedAsNull()
    {
        var text = Report().ToJsonString();
        Assert.Contains("\n  \"tasks\"", text); // indented
        var json = JsonNode.Parse(text)!;
        var imdb = json["tasks"]!["imdb"]!;
        Assert.Equal("imdb", imdb["dataset"]!.GetValue<string>());
        Assert.Equal("test", imdb["split"]!.GetValue<string>());
        Assert.Equal(3, imdb["count"]!.GetValue<long>());
        Assert.Null(imdb["note"]);
        var neg = imdb["per_class"]![0]!;
        Assert.Equal("neg", neg["label"]!.GetValue<string>());
        Assert.Equal(1.0, neg["precision"]!.GetValue<double>(), 12);
        Assert.Equal(0.5, neg["recall"]!.GetValue<double>(), 12);
        Assert.Equal(2.0 / 3, neg["f1"]!.GetValue<double>(), 12);
        Assert.Equal(2, neg["support"]!.GetValue<long>());
        Assert.Equal("pos", imdb["per_class"]![1]!["label"]!.GetValue<string>());
        Assert.Equal("[[1,1],[0,1]]", imdb["confusion_matrix"]!.ToJsonString());

        var tweets = json["tasks"]!["tweets"]!;
        Assert.Equal("vader-tweets", tweets["dataset"]!.GetValue<string>());
        Assert.Equal("val", tweets["split"]!.GetValue<string>());
        Assert.Equal(3, tweets["polarity_count"]!.GetValue<long>());
        Assert.True(tweets["metrics"]!.AsObject().ContainsKey("pearson"));
        Assert.Null(tweets["metrics"]!["pearson"]); // NaN is written as null
        Assert.Equal(2.0 / 3, tweets["metrics"]!["polarity_accuracy"]!.GetValue<double>(), 12);

        Assert.Equal(-2.5, json["delta_m"]!.GetValue<double>());
        Assert.Equal("one seed", json["note"]!.GetValue<string>());
        Assert.Null(JsonNode.Parse((Report() with { Note = null }).ToJsonString())!["note"]);
    }

    [Fact]
    public void FrameHasItsColumnsAndTheDeltaMRow()
    {
        var frame = Report().ToDataFrame();
        Assert.Equal(new[] { "task", "dataset", "split", "count", "metric", "value" }, frame.Columns.Select(c => c.Name));
        Assert.Equal(4 + 5 + 1, frame.Rows.Count);
        var first = frame.Rows[0];
        Assert.Equal(new object[] { "imdb", "imdb", "test", 3L, "accuracy" }, first.Take(5));
        var last = frame.Rows[frame.Rows.Count - 1];
        Assert.Equal(new object[] { "all", "", "", 0L, "delta_m", -2.5 }, last);
        var tweetRow = frame.Rows[4];
        Assert.Equal(new object[] { "tweets", "vader-tweets", "val", 3L }, tweetRow.Take(4));
    }

    [Fact]
    public void AnUnknownTaskIsRefusedNamingTheTasks()
    {
        var report = Report();
        Assert.Equal("vader-tweets", report["tweets"].Dataset);
        var e = Assert.Throws<KeyNotFoundException>(() => report["nope"]);
        Assert.Contains("imdb, tweets", e.Message);
        Assert.Contains("'nope'", e.Message);
    }

    [Fact]
    public void RegressionFiguresByHand()
    {
        var r = new RegressionAccumulator();
        r.Update([1f, 2f, 3f, 4f], [1f, 3f, 2f, 4f]); // errors 0, −1, 1, 0; ranks equal the values
        var m = r.Compute();
        Assert.Equal(0.5, m.Mse, 12);
        Assert.Equal(0.5, m.Mae, 12);
        Assert.Equal(0.8, m.Pearson, 12); // Σdxdy = 4, Σdx² = Σdy² = 5
        Assert.Equal(0.8, m.Spearman, 12);
        Assert.Equal(new[] { "mse", "mae", "pearson", "spearman", "polarity_accuracy" }, m.Values.Keys);
        Assert.Equal(0.5, m.Values["mae"], 12);

        r.Reset();
        r.Update([1f, 2f, 3f, 10f], [1f, 2f, 3f, 4f]); // monotone but not linear: ρ = 1, r < 1
        m = r.Compute();
        Assert.Equal(1.0, m.Spearman, 12);
        Assert.InRange(m.Pearson, 0.5, 0.99);

        r.Reset();
        r.Update([1f, -1f], [0f, 0f]); // no target has a sign, and the targets do not vary
        m = r.Compute();
        Assert.Equal(0, m.PolarityCount);
        Assert.True(double.IsNaN(m.PolarityAccuracy));
        Assert.True(double.IsNaN(m.Pearson));
        Assert.True(double.IsNaN(m.Spearman));
    }

    [Fact]
    public void ClassificationEdges()
    {
        var c = new ClassificationAccumulator(["a", "b", "c"]);
        Assert.True(double.IsNaN(c.Compute().Accuracy)); // nothing counted yet
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Update(0, 3)); // a label equal to the class count
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => c.Update(3, 0));
        Assert.Contains("expected a prediction in 0..2", e.Message);
        Assert.Equal(0, c.Count);

        c.UpdateFromScores([0.5f, 0.5f, 0.1f, 0f, 2f, 2f], [1, 2]); // ties go to the first class: predicted 0 and 1
        var m = c.Compute();
        Assert.Equal(new long[] { 1, 0, 0 }, m.ConfusionMatrix[1]);
        Assert.Equal(new long[] { 0, 1, 0 }, m.ConfusionMatrix[2]);
        Assert.Equal(0.0, m.Accuracy);
        Assert.Equal(0.0, m.PerClass[2].Precision); // never predicted: 0, not NaN
        Assert.Equal(new[] { "accuracy", "macro_precision", "macro_recall", "macro_f1" }, m.Values.Keys);

        c.Reset();
        Assert.Equal(0, c.Count);
        Assert.All(c.Compute().ConfusionMatrix, row => Assert.All(row, x => Assert.Equal(0, x)));
    }

    [Fact]
    public void DeltaMRefusesWhatItCannotCompareNamingIt()
    {
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Of(string task, string metric, double v) =>
            new Dictionary<string, IReadOnlyDictionary<string, double>> { [task] = new Dictionary<string, double> { [metric] = v } };
        Assert.Throws<ArgumentNullException>(() => DeltaM.Compute(null!, Of("a", "accuracy", 1)));
        Assert.Throws<ArgumentNullException>(() => DeltaM.Compute(Of("a", "accuracy", 1), null!));
        var missing = Assert.Throws<ArgumentException>(() => DeltaM.Compute(Of("a", "accuracy", 1), Of("b", "accuracy", 1)));
        Assert.Contains("no single-task baseline for task 'a' (baselines: b)", missing.Message);
        var unknown = Assert.Throws<ArgumentException>(() => DeltaM.Compute(Of("a", "bleu", 1), Of("a", "bleu", 2)));
        Assert.Contains("unknown metric 'bleu'", unknown.Message);
        Assert.Contains("accuracy", unknown.Message); // the known names are listed
        Assert.Equal(50.0, DeltaM.Compute(Of("a", "bleu", 3), Of("a", "bleu", 2), new Dictionary<string, bool> { ["bleu"] = true }), 12);
    }
}
