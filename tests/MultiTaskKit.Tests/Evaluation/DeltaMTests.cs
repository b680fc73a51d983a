using MultiTaskKit.Evaluation;

namespace MultiTaskKit.Tests.Evaluation;

public class DeltaMTests
{
    static IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> R(params (string Task, string Metric, double Value)[] rows) =>
        rows.GroupBy(r => r.Task).ToDictionary(g => g.Key, g => (IReadOnlyDictionary<string, double>)g.ToDictionary(r => r.Metric, r => r.Value));

    [Fact]
    public void DeltaMIsTheMeanSignedRelativeChangeInPercent()
    {
        // imdb: accuracy 0.90 vs 0.88 → +2.2727%; tweets: mse 0.5 vs 0.4 → −25%, pearson 0.8 vs 0.8 → 0; task mean −12.5%
        var mtl = R(("imdb", "accuracy", 0.90), ("tweets", "mse", 0.5), ("tweets", "pearson", 0.8));
        var stl = R(("imdb", "accuracy", 0.88), ("tweets", "mse", 0.4), ("tweets", "pearson", 0.8));
        double expected = (100 * 0.02 / 0.88 + (-25.0 + 0) / 2) / 2;
        Assert.Equal(expected, DeltaM.Compute(mtl, stl), 9);
    }

    [Fact]
    public void BadInputNamesWhatIsMissing()
    {
        var ex = Assert.Throws<ArgumentException>(() => DeltaM.Compute(R(("a", "accuracy", 1)), R(("b", "accuracy", 1))));
        Assert.Contains("'a'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => DeltaM.Compute(R(("a", "bleu", 1)), R(("a", "bleu", 1))));
        Assert.Contains("bleu", ex.Message);
        Assert.Equal(-50, DeltaM.Compute(R(("a", "bleu", 1)), R(("a", "bleu", 2)), new Dictionary<string, bool> { ["bleu"] = true }), 9);
        ex = Assert.Throws<ArgumentException>(() => DeltaM.Compute(R(("a", "mse", 1)), R(("a", "mse", 0))));
        Assert.Contains("non-zero", ex.Message);
    }
}
