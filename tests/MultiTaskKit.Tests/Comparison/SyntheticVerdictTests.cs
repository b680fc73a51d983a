using MultiTaskKit.Comparison;
using MultiTaskKit.Data;
using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Sweeps;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Tests.Comparison;

/// <summary>
/// The whole comparison (plan, training every cell through the trainer, report) on two tiny synthetic task pairs whose
/// truth is known by construction (<see cref="KeywordTasks"/>): where sharing truly helps, the verdict must say so; where
/// it truly does nothing, it must find no detectable difference.
/// </summary>
[Collection(ProcessStateCollection.Name)]
public class SyntheticVerdictTests
{
    static ComparisonReport Compare(KeywordTasks.Relation relation, int seeds)
    {
        var dir = Directory.CreateTempSubdirectory($"mtk-compare-{relation}").FullName;
        var config = RunConfig.Load(KeywordTasks.Write(Path.Combine(dir, "data"), relation));
        config = config with { Runtime = config.Runtime with { Threads = 1 } };
        var variants = CompareVariant.Cross(["hard"], [], config.Sharing.Plan, config.Sharing.SharedLayers, config.Method.Weighting, config.Method.Aggregation);
        var plan = ComparePlan.Create(config, new CompareRequest(seeds, variants));
        var folder = Path.Combine(dir, "compare");
        plan.Save(folder);
        var sources = new DatasetSources { DataDir = dir };
        foreach (var cell in plan.Cells) SweepRunner.Run(folder, cell, sources);
        return ComparisonReport.Build(folder, SweepPlan.Load(folder), new ComparisonOptions(Resamples: 500));
    }

    [Fact]
    public void WhereSharingTrulyHelpsTheVerdictSaysSo()
    {
        var report = Compare(KeywordTasks.Relation.Shared, seeds: 4);
        var target = report.Tasks.Single(t => t.Task == "task2");
        var verdict = Assert.Single(target.Verdicts);
        Assert.True(verdict.Kind == VerdictKind.Helps, verdict.Line());
        Assert.True(verdict.Seeds.MeanDifference > 0.15, verdict.Line());
        Assert.Equal(4, verdict.Seeds.Count);
        Assert.NotNull(verdict.Bootstrap);
        Assert.Empty(report.Unfinished);
        var dm = Assert.Single(report.DeltaM);
        Assert.True(dm.Summary!.Mean > 0, $"Δm {dm.Summary.Format("F2")}");
        Assert.Equal(1.0, dm.MeanRank); // better than single-task on every seed
    }

    [Fact]
    public void WhereSharingTrulyDoesNothingTheVerdictFindsNoDifference()
    {
        var report = Compare(KeywordTasks.Relation.Unrelated, seeds: 4);
        var verdict = Assert.Single(report.Tasks.Single(t => t.Task == "task2").Verdicts);
        Assert.True(verdict.Kind == VerdictKind.NoDetectableDifference, verdict.Line());
        Assert.InRange(verdict.Seeds.MeanDifference, -0.05, 0.05);
    }
}
