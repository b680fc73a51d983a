using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Runtime;
using MultiTaskKit.Tutorials;

namespace MultiTaskKit.Tests.Notebooks;

/// <summary>The notebooks' shared flows (lib/MultiTaskKit.Tutorials) on tiny sizes.</summary>
[Collection(ProcessStateCollection.Name)]
public class TutorialTests
{

    static readonly MtlLab.Settings Tiny = new(Inputs: 8, Hidden: 8, Layers: 2, TrainRows: 64, ValRows: 32, Steps: 4, BatchSize: 16, LearningRate: 3e-3, Seed: 3);

    [Fact]
    public void EveryRecipeOfNotebooks03And04TrainsToFiniteLosses()
    {
        var data = MmoeSynthetic.Make(Tiny.Inputs, Tiny.TrainRows, Tiny.ValRows, correlation: 0.5, seed: Tiny.Seed);
        var recipes = Lineups.WeightingMethods().Concat(Lineups.ConflictRemedies()).ToList();
        Assert.Contains(recipes, r => r.Name.Contains("PCGrad", StringComparison.OrdinalIgnoreCase));
        foreach (var r in recipes)
        {
            var result = MtlLab.Train(data, Tiny, r);
            Assert.True(result.ValMse.Values.All(double.IsFinite), $"{r.Name}: validation MSE {string.Join(", ", result.ValMse)}");
            Assert.Contains(result.History, p => p.Metric == "grad_cosine");
        }
    }

    [Fact]
    public void TheMmoeDialControlsLabelCorrelationAndRunsAreSeeded()
    {
        var same = MmoeSynthetic.Make(16, 2000, 10, correlation: 1.0, seed: 5);
        var orthogonal = MmoeSynthetic.Make(16, 2000, 10, correlation: 0.0, seed: 5);
        Assert.True(same.LabelCorrelation > 0.9, $"p = 1 should give nearly identical targets, found label correlation {same.LabelCorrelation}");
        Assert.True(Math.Abs(orthogonal.LabelCorrelation) < 0.3, $"p = 0 should give nearly uncorrelated targets, found {orthogonal.LabelCorrelation}");
        var data = MmoeSynthetic.Make(Tiny.Inputs, Tiny.TrainRows, Tiny.ValRows, 0.5, Tiny.Seed);
        var a = MtlLab.Train(data, Tiny, Lineups.ConflictRemedies()[0]);
        var b = MtlLab.Train(data, Tiny, Lineups.ConflictRemedies()[0]);
        Assert.Equal(a.ValMse, b.ValMse);
    }

    [Fact]
    public void SequentialTrainingReportsForgetting()
    {
        var data = MmoeSynthetic.Make(Tiny.Inputs, Tiny.TrainRows, Tiny.ValRows, 0.7, Tiny.Seed);
        var o = TransferTutorial.Run(data, Tiny, _ => null);
        Assert.True(double.IsFinite(o.Task1BeforeFineTuning));
        Assert.Equal(o.Sequential["task1"] - o.Task1BeforeFineTuning, o.Forgetting, 12);
        Assert.Contains("forgetting", TransferTutorial.Table(o).ToString());
    }

    [Fact]
    public void TheGradientSplitOfNotebook01Holds()
    {
        var s = WhyMultitask.Settings.For(TutorialSize.Small);
        var data = ToyData.Make(s.Inputs, s.TrainRows, s.ValRows, 0.8, s.Seed);
        var table = WhyMultitask.GradientSplit(data, s, 1.0, 0.1);
        // head 2 gets nothing from task 1, head 1 nothing from task 2; the trunk's gradient is the weighted sum.
        Assert.Equal("0", table.Rows.Single(r => r[0] == "head 2")[1]);
        Assert.Equal("0", table.Rows.Single(r => r[0] == "head 1")[2]);
        foreach (var row in table.Rows) Assert.True(double.Parse(row[4], System.Globalization.CultureInfo.InvariantCulture) < 1e-5, $"{row[0]}: {row[4]}");
    }
}
