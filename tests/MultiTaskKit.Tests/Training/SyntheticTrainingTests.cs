using MultiTaskKit.Aggregation;
using MultiTaskKit.Data.Synthetic;
using MultiTaskKit.Evaluation;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Training;
using MultiTaskKit.Weighting;
using Xunit.Abstractions;
using MultiTaskKit.Data;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;

namespace MultiTaskKit.Tests.Training;

[Collection(ProcessStateCollection.Name)]
public class SyntheticTrainingTests
{
    readonly ITestOutputHelper output;

    public SyntheticTrainingTests(ITestOutputHelper output)
    {
        this.output = output;
    }

    static SyntheticRegression Problem(double conflict = 0.5, int tasks = 2) =>
        new(new SyntheticRegressionOptions(Tasks: tasks, Conflict: conflict, Scales: tasks == 2 ? new[] { 1.0, 3.0 } : null, Seed: 1));

    public static IEnumerable<object[]> Methods() => MethodCatalog.Names.Select(n => new object[] { n });

    [Theory, MemberData(nameof(Methods))]
    public void EveryMethodLowersBothTaskLossesWithinSixtySteps(string name)
    {
        // two tasks, or the fewest the method accepts (Krum and TrimmedMean: three)
        var problem = Problem(tasks: Math.Max(2, MethodCatalog.MinTasks(name)));
        var run = SyntheticTraining.Train(problem, SharingPlan.Hard, MethodCatalog.Create(name, problem.TaskNames), new SyntheticTrainingOptions(Steps: 60, Seed: 2));
        foreach (var t in problem.TaskNames)
        {
            output.WriteLine($"{name} {t}: {run.InitialLoss[t]:F4} -> {run.FinalLoss[t]:F4}");
            Assert.True(run.FinalLoss[t] < 0.7 * run.InitialLoss[t], $"{name}: {t} went from {run.InitialLoss[t]} to {run.FinalLoss[t]}");
        }
        Assert.All(run.Steps, d => Assert.False(d.Skipped));
    }

    [Fact]
    public void TheSameSeedGivesTheSameNumbersTwice()
    {
        foreach (var name in new[] { "pcgrad", "rlw", "famo" })
        {
            var a = SyntheticTraining.Train(Problem(), SharingPlan.SplitAt(1), MethodCatalog.Create(name, Problem().TaskNames), new SyntheticTrainingOptions(Steps: 15, Seed: 4));
            var b = SyntheticTraining.Train(Problem(), SharingPlan.SplitAt(1), MethodCatalog.Create(name, Problem().TaskNames), new SyntheticTrainingOptions(Steps: 15, Seed: 4));
            Assert.Equal(a.FinalLoss, b.FinalLoss);
            for (int s = 0; s < 15; s++) Assert.Equal(a.Steps[s].Losses, b.Steps[s].Losses);
        }
    }

    [Fact]
    public void TheConflictKnobMakesTaskGradientsDisagree()
    {
        double MeanCosine(double conflict)
        {
            var problem = Problem(conflict);
            var sum = new MethodSpec("sum", new EqualWeighting(problem.TaskNames), new Sum(), GradientMode.Parameters);
            var run = SyntheticTraining.Train(problem, SharingPlan.Hard, sum, new SyntheticTrainingOptions(Steps: 30, Seed: 3, TiedHeadInit: true));
            return run.Steps.Average(d => d.Cosine("task1", "task2")!.Value);
        }
        double aligned = MeanCosine(0), opposed = MeanCosine(1);
        output.WriteLine($"mean cosine over 30 steps: conflict 0 → {aligned:F3}, conflict 1 → {opposed:F3}");
        Assert.True(aligned > opposed + 0.2, $"conflict 0 gave mean cosine {aligned}, conflict 1 gave {opposed}");
    }

    [Fact]
    public void SingleTaskBaselinesByTheIsolatedPlanAndDeltaM()
    {
        var problem = Problem(conflict: 0.25);
        var options = new SyntheticTrainingOptions(Steps: 40, Seed: 5);
        var baseline = SyntheticTraining.Train(problem, SharingPlan.Isolated, MethodCatalog.Create("ew", problem.TaskNames), options);
        var hard = SyntheticTraining.Train(problem, SharingPlan.Hard, MethodCatalog.Create("ew", problem.TaskNames), options);
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Metrics(SyntheticRun r) =>
            r.FinalLoss.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, double>)new Dictionary<string, double> { ["mse"] = kv.Value });
        double dm = DeltaM.Compute(Metrics(hard), Metrics(baseline));
        double expected = 100 * problem.TaskNames.Average(t => -(hard.FinalLoss[t] - baseline.FinalLoss[t]) / baseline.FinalLoss[t]);
        output.WriteLine($"isolated: {string.Join(", ", baseline.FinalLoss.Select(kv => $"{kv.Key}={kv.Value:F4}"))}; hard: {string.Join(", ", hard.FinalLoss.Select(kv => $"{kv.Key}={kv.Value:F4}"))}; Δm = {dm:F2}%");
        Assert.Equal(expected, dm, 9);
        foreach (var t in problem.TaskNames) Assert.True(baseline.FinalLoss[t] < baseline.InitialLoss[t]);
    }

    [Fact]
    public void RepGradModeTrainsWithOneBackwardPerTaskPlusOne()
    {
        var problem = Problem();
        var run = SyntheticTraining.Train(problem, SharingPlan.SplitAt(1), MethodCatalog.Create("mgda-ub", problem.TaskNames), new SyntheticTrainingOptions(Steps: 5, Seed: 1));
        Assert.All(run.Steps, d => Assert.Equal(3, d.BackwardPasses));
        Assert.All(run.Steps, d => Assert.Equal(GradientMode.Representation, d.Mode));
    }
}
