using System.Text.Json.Nodes;
using MultiTaskKit.Comparison;
using MultiTaskKit.Data;
using MultiTaskKit.Sweeps;
using MultiTaskKit.Tests.Cli;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Tests.Sweeps;

public class SweepPlanTests
{
    static RunConfig Base(out string dir)
    {
        dir = Directory.CreateTempSubdirectory("mtk-sweep-plan").FullName;
        return RunConfig.Load(TinyRun.Write(dir));
    }

    static List<(string, IReadOnlyList<JsonNode?>)> Axes(params string[] sets) => sets.Select(s => SweepKeys.ParseAxis(s)).Select(a => (a.Key, a.Values)).ToList();

    [Fact]
    public void AGridIsEveryCombinationInAStableOrder()
    {
        var config = Base(out _);
        var plan = SweepPlan.Create(config, Axes("optimizer.lr=0.001,0.002", "sharing.plan=split,hard,mmoe"));
        Assert.Equal(6, plan.Cells.Count);
        Assert.Equal(Enumerable.Range(0, 6), plan.Cells.Select(c => c.Index));
        Assert.Equal("optimizer.lr=0.001,sharing.plan=split", plan.Cells[0].Id);
        Assert.Equal("optimizer.lr=0.001,sharing.plan=hard", plan.Cells[1].Id);
        Assert.Equal("optimizer.lr=0.002,sharing.plan=mmoe", plan.Cells[5].Id);
        Assert.Equal(0.002, plan.Cells[5].Config.Optimizer.Lr);
        Assert.Equal("mmoe", plan.Cells[5].Config.Sharing.Plan);
        Assert.Equal("cells/0005", plan.Cells[5].RunDir);
        // Planned again (another process, another day): the same cells with the same indices and configurations.
        var again = SweepPlan.Create(config, Axes("optimizer.lr=0.001,0.002", "sharing.plan=split,hard,mmoe"));
        Assert.Equal(plan.Cells.Select(c => (c.Id, c.Config.ToJson())), again.Cells.Select(c => (c.Id, c.Config.ToJson())));
    }

    [Fact]
    public void ARandomSampleIsDistinctCellsOfTheGridAndDependsOnlyOnItsSeed()
    {
        var config = Base(out _);
        var axes = Axes("optimizer.lr=0.001,0.002,0.003,0.004", "seed=1,2,3", "sharing.shared_layers=0,1");
        var a = SweepPlan.Create(config, axes, samples: 7, sampleSeed: 5);
        var b = SweepPlan.Create(config, axes, samples: 7, sampleSeed: 5);
        var c = SweepPlan.Create(config, axes, samples: 7, sampleSeed: 6);
        Assert.Equal(7, a.Cells.Count);
        Assert.Equal(7, a.Cells.Select(x => x.Id).Distinct().Count());
        Assert.Equal(a.Cells.Select(x => x.Id), b.Cells.Select(x => x.Id));
        Assert.NotEqual(a.Cells.Select(x => x.Id), c.Cells.Select(x => x.Id));
        var grid = SweepPlan.Create(config, axes).Cells.Select(x => x.Id).ToHashSet();
        Assert.All(a.Cells, x => Assert.Contains(x.Id, grid));
        Assert.Equal("random", a.Kind);
    }

    [Fact]
    public void APlanRoundTripsThroughItsFileAndRefusesToBeReplaced()
    {
        var config = Base(out var dir);
        var plan = SweepPlan.Create(config, Axes("optimizer.lr=0.001,0.002", "method.weighting=ew,uw"));
        var folder = Path.Combine(dir, "sweep");
        plan.Save(folder);
        var loaded = SweepPlan.Load(folder);
        Assert.Equal(plan.Cells.Select(c => (c.Index, c.Id, c.RunDir, c.Config.ToJson())), loaded.Cells.Select(c => (c.Index, c.Id, c.RunDir, c.Config.ToJson())));
        plan.Save(folder); // the same plan again is fine
        var other = SweepPlan.Create(config, Axes("optimizer.lr=0.001,0.003"));
        var e = Assert.Throws<IOException>(() => other.Save(folder));
        Assert.Contains("another sweep plan", e.Message);
    }

    [Theory]
    [InlineData("optimizer.lrr=0.1", "optimizer.lrr")]
    [InlineData("sharing.plan=nonsense", "sharing.plan")]
    [InlineData("optimizer.lr=-1", "optimizer.lr")]
    public void ABadKeyOrValueIsNamed(string axis, string named)
    {
        var config = Base(out _);
        var e = Assert.ThrowsAny<Exception>(() => SweepPlan.Create(config, Axes(axis)));
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void AxisSyntaxErrorsAreNamed()
    {
        Assert.Contains("key=value", Assert.Throws<ArgumentException>(() => SweepKeys.ParseAxis("optimizer.lr")).Message);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => SweepKeys.ParseAxis("seed=1,1")).Message);
        Assert.Equal(3e-4, SweepKeys.ParseAxis("optimizer.lr=3e-4").Values[0]!.GetValue<double>());
        Assert.Equal("hard", SweepKeys.ParseAxis("sharing.plan=hard").Values[0]!.GetValue<string>());
    }

    [Fact]
    public void AComparisonPlanKeepsStepsPerTaskEqual()
    {
        var config = Base(out _);
        var variants = CompareVariant.Cross(["split@1", "hard"], ["ew", "uw+pcgrad"], config.Sharing.Plan, config.Sharing.SharedLayers, config.Method.Weighting, config.Method.Aggregation);
        Assert.Equal(["split@1/ew", "split@1/uw+pcgrad", "hard/ew", "hard/uw+pcgrad"], variants.Select(v => v.Name));
        var plan = ComparePlan.Create(config, new CompareRequest(2, variants, Budget: 30, LearningRates: [0.001, 0.003]));
        // 2 seeds × 2 rates × (2 tasks alone + 4 variants)
        Assert.Equal(24, plan.Cells.Count);
        var singles = plan.Cells.Where(c => c.Label(ComparePlan.RoleLabel) == ComparePlan.SingleRole).ToList();
        Assert.All(singles, c => Assert.Equal(30, c.Config.Training.Steps));
        Assert.All(singles, c => Assert.Equal("isolated", c.Config.Sharing.Plan));
        Assert.All(singles, c => Assert.Single(c.Config.Tasks));
        var pcgrad = plan.Cells.First(c => c.Label(ComparePlan.VariantLabel) == "hard/uw+pcgrad");
        Assert.Equal(("uw", "pcgrad", "hard"), (pcgrad.Config.Method.Weighting, pcgrad.Config.Method.Aggregation, pcgrad.Config.Sharing.Plan));
        Assert.Equal([0.001, 0.003], plan.Cells.Select(c => c.Config.Optimizer.Lr).Distinct().Order());
        Assert.Equal([11UL, 12UL], plan.Cells.Select(c => c.Config.Seed).Distinct().Order());
        // Round robin over two tasks: a task alone gets half the multi-task steps.
        var rr = config with { Training = config.Training with { Sampling = SamplingMode.RoundRobin } };
        var rrPlan = ComparePlan.Create(rr, new CompareRequest(1, variants.Take(1).ToList(), Budget: 31));
        Assert.Equal([16L, 15L], rrPlan.Cells.Where(c => c.Label(ComparePlan.RoleLabel) == ComparePlan.SingleRole).Select(c => c.Config.Training.Steps!.Value));
    }
}
