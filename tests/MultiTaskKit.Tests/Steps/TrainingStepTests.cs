using MultiTaskKit.Models;
using MultiTaskKit.Steps;
using MultiTaskKit.Training;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;

namespace MultiTaskKit.Tests.Steps;

[Collection(ProcessStateCollection.Name)]
public class TrainingStepTests
{
    static readonly string[] Tasks = ["a", "b"];

    static MultiTaskModel Model()
    {
        manual_seed(5);
        return new MultiTaskModel(new MlpTrunk(new MlpTrunkOptions(6, 8, 2)),
            Tasks.Select(t => KeyValuePair.Create(t, (TaskHead)new RegressionHead(8))), SharingPlan.Hard);
    }

    static StepBatch Batch(Tensor x, Tensor y1, Tensor y2) =>
        StepBatch.Shared(TrunkInput.FromFeatures(x), new Dictionary<string, Tensor> { ["a"] = y1, ["b"] = y2 });

    static float[] Weights(MultiTaskModel m) => m.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();

    [Fact]
    public void TwoAccumulatedHalvesStepLikeTheWholeBatch()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var x = randn(new long[] { 8, 6 }, generator: g);
        var y1 = randn(new long[] { 8 }, generator: g);
        var y2 = randn(new long[] { 8 }, generator: g);

        using var whole = Model();
        var wholeStep = new TrainingStep(whole, new EqualWeighting(Tasks), null, optim.SGD(whole.parameters(), 0.1), new TrainingStepOptions { Engine = new() { MaxGradNorm = 0.5 } });
        wholeStep.Run(_ => Batch(x, y1, y2));

        using var halves = Model();
        var halvesStep = new TrainingStep(halves, new EqualWeighting(Tasks), null, optim.SGD(halves.parameters(), 0.1),
            new TrainingStepOptions { GradAccumulation = 2, Engine = new() { MaxGradNorm = 0.5 } });
        var draws = new List<long>();
        var result = halvesStep.Run(i => { draws.Add(i); long r = i * 4; return Batch(x.narrow(0, r, 4), y1.narrow(0, r, 4), y2.narrow(0, r, 4)); });

        Assert.Equal([0L, 1], draws);
        Assert.Equal(2, result.MicroSteps.Count);
        // Mean-squared-error means over equal halves average to the whole batch's mean: the same step, up to rounding.
        var a = Weights(whole);
        var b = Weights(halves);
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) < 1e-5, $"weight {i}: {a[i]} vs {b[i]}");
        Assert.Equal(1, halvesStep.Step);
    }

    [Fact]
    public void ScheduleSetsEachGroupsRateAndEpochsClose()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        var heads = model.Tasks.SelectMany(t => model.Head(t).parameters()).ToHashSet(ReferenceEqualityComparer.Instance);
        var optimizer = optim.Adam([new TorchSharp.Modules.Adam.ParamGroup(model.parameters().Where(p => !heads.Contains(p)), 1e-3),
            new TorchSharp.Modules.Adam.ParamGroup(model.parameters().Where(p => heads.Contains(p)), 1e-2)], 1e-3);
        var step = new TrainingStep(model, new EqualWeighting(Tasks), null, optimizer, new TrainingStepOptions
        {
            Schedule = new LearningRateSchedule(WarmupSteps: 2, TotalSteps: 4), StepsPerEpoch = 3,
        });
        var x = randn(4, 6);
        var results = Enumerable.Range(0, 4).Select(_ => step.Run(_ => Batch(x, zeros(4), ones(4)))).ToList();

        Assert.Equal([0.5, 1.0, 1.0, 0.5], results.Select(r => r.LearningRateFactor));
        Assert.Equal(new[] { 5e-4, 5e-3 }, results[0].LearningRates);
        Assert.Equal([false, false, true, false], results.Select(r => r.EpochEnded));
        Assert.Equal([0, 0, 0, 1], results.Select(r => r.Epoch));
        Assert.Single(step.History.EpochMeans);
    }

    [Fact]
    public void ASkippedMicroBatchSkipsTheOptimizerStep()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        var step = new TrainingStep(model, new EqualWeighting(Tasks), null, optim.Adam(model.parameters(), 0.1),
            new TrainingStepOptions { GradAccumulation = 2, Engine = new() { OnNonFiniteLoss = NonFiniteLossPolicy.SkipStep } });
        var before = Weights(model);
        var x = randn(4, 6);
        var result = step.Run(i => Batch(x, i == 1 ? full(4, float.NaN) : zeros(4), ones(4)));
        Assert.True(result.Skipped);
        Assert.False(result.MicroSteps[0].Skipped);
        Assert.True(result.MicroSteps[1].Skipped);
        Assert.Equal(before, Weights(model));
        Assert.Equal(1, step.Step);
    }

    [Fact]
    public void OptionsAreChecked()
    {
        using var model = Model();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingStep(model, new EqualWeighting(Tasks), null,
            optim.SGD(model.parameters(), 0.1), new TrainingStepOptions { GradAccumulation = 0 }));
        Assert.Contains("GradAccumulation", e.Message);
        var r = Assert.Throws<ArgumentException>(() => new TrainingStep(model, new EqualWeighting(Tasks), null,
            optim.SGD(model.parameters(), 0.1), baseLearningRates: [0.1, 0.2]));
        Assert.Contains("one rate per parameter group (1), found 2", r.Message);
    }
}
