using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Models;

[Collection(ProcessStateCollection.Name)]
public class MultiTaskModelTests
{

    internal static MultiTaskModel Build(SharingPlan plan, int layers = 2, long seed = 1)
    {
        manual_seed(seed);
        var trunk = new MlpTrunk(new MlpTrunkOptions(InputSize: 4, HiddenSize: 8, Layers: layers));
        return new MultiTaskModel(trunk, new Dictionary<string, TaskHead>
        {
            ["cls"] = new ClassificationHead(8, 3),
            ["reg"] = new RegressionHead(8),
        }, plan);
    }

    static long Count(IEnumerable<TorchSharp.Modules.Parameter> ps) => ps.Sum(p => p.numel());

    [Fact]
    public void HardSharingSharesTheWholeTrunk()
    {
        var model = Build(SharingPlan.Hard);
        // stem 4*8+8, two layers 8*8+8 each
        Assert.Equal(40 + 72 + 72, Count(model.SharedParameters()));
        Assert.Equal(8 * 3 + 3, Count(model.TaskParameters("cls")));
        Assert.Equal(8 + 1, Count(model.TaskParameters("reg")));
        Assert.Equal(Count(model.parameters()), Count(model.SharedParameters()) + Count(model.TaskParameters("cls")) + Count(model.TaskParameters("reg")));
    }

    [Fact]
    public void SplitAtOneGivesEachTaskACopyOfTheUpperLayerFromTheSameWeights()
    {
        var model = Build(SharingPlan.SplitAt(1));
        Assert.Equal(40 + 72, Count(model.SharedParameters()));
        Assert.Equal(72 + 27, Count(model.TaskParameters("cls")));
        var sd = model.state_dict();
        Assert.Contains("shared.stem.dense.weight", sd.Keys);
        Assert.Contains("shared.layers.0.dense.weight", sd.Keys);
        Assert.Contains("tasks.cls.layers.1.dense.weight", sd.Keys);
        Assert.Contains("tasks.reg.head.regressor.bias", sd.Keys);
        Assert.True(sd["tasks.cls.layers.1.dense.weight"].equal(sd["tasks.reg.layers.1.dense.weight"]).all().item<bool>());
        // copies, not the same tensor: training one task's layer leaves the other's alone
        using (no_grad()) sd["tasks.cls.layers.1.dense.weight"].add_(1.0);
        Assert.False(sd["tasks.cls.layers.1.dense.weight"].equal(sd["tasks.reg.layers.1.dense.weight"]).all().item<bool>());
    }

    [Fact]
    public void IsolatedPlanSharesNothingAndStartsEveryTaskFromTheSameTrunk()
    {
        var model = Build(SharingPlan.Isolated);
        Assert.Empty(model.SharedParameters());
        Assert.Equal(40 + 72 + 72 + 27, Count(model.TaskParameters("cls")));
        var sd = model.state_dict();
        Assert.True(sd["tasks.cls.stem.dense.weight"].equal(sd["tasks.reg.stem.dense.weight"]).all().item<bool>());
        var x = randn(5, 4);
        var output = model.forward(TrunkInput.FromFeatures(x));
        Assert.Equal(new long[] { 5, 3 }, output["cls"].shape);
        Assert.Equal(new long[] { 5 }, output["reg"].shape);
    }

    [Fact]
    public void AllPlansComputeTheSameFunctionAtInitialisation()
    {
        var x = randn(6, 4);
        Tensor? reference = null;
        foreach (var plan in new[] { SharingPlan.Hard, SharingPlan.SplitAt(0), SharingPlan.SplitAt(1), SharingPlan.SplitAt(2), SharingPlan.Isolated })
        {
            var model = Build(plan, seed: 3);
            var reg = model.forward(TrunkInput.FromFeatures(x))["reg"];
            if (reference is null) reference = reg;
            else Assert.True(reference.allclose(reg, rtol: 1e-5, atol: 1e-6), $"plan {plan} differs");
        }
    }

    [Fact]
    public void PerTaskBatchesRunTheSharedPartOncePerBatchAndMatchSeparateRuns()
    {
        var model = Build(SharingPlan.SplitAt(1));
        var a = TrunkInput.FromFeatures(randn(3, 4));
        var b = TrunkInput.FromFeatures(randn(7, 4));
        var output = model.Forward(new Dictionary<string, TrunkInput> { ["cls"] = a, ["reg"] = b });
        Assert.Equal(new long[] { 3, 3 }, output["cls"].shape);
        Assert.Equal(new long[] { 7 }, output["reg"].shape);
        Assert.True(output["reg"].allclose(model.forward(b)["reg"]));
        Assert.True(output["cls"].allclose(model.forward(a)["cls"]));

        var onlyOne = model.Forward(new Dictionary<string, TrunkInput> { ["reg"] = b });
        Assert.False(onlyOne.ContainsKey("cls"));
        var err = Assert.Throws<ArgumentException>(() => model.Forward(new Dictionary<string, TrunkInput> { ["nope"] = b }));
        Assert.Contains("nope", err.Message);
    }

    [Fact]
    public void RepresentationGradientsNeedOneSharedBatch()
    {
        var model = Build(SharingPlan.Hard);
        var output = model.Forward(TrunkInput.FromFeatures(randn(3, 4)), representationGradients: true);
        Assert.NotNull(output.Representation);
        Assert.Equal(new long[] { 3, 8 }, output.Representation!.Shared.shape);
        Assert.Equal(2, output.Representation.TaskLeaves.Count);
        var ex = Assert.Throws<InvalidOperationException>(() => model.Forward(new Dictionary<string, TrunkInput>
        {
            ["cls"] = TrunkInput.FromFeatures(randn(3, 4)), ["reg"] = TrunkInput.FromFeatures(randn(3, 4)),
        }, representationGradients: true));
        Assert.Contains("same batch", ex.Message);
    }

    [Fact]
    public void BadConstructionIsRejectedWithTheReason()
    {
        var trunk = new MlpTrunk(new MlpTrunkOptions(4, 8, 2));
        var ex = Assert.Throws<ArgumentException>(() => new MultiTaskModel(trunk, new Dictionary<string, TaskHead> { ["a"] = new RegressionHead(8) }, SharingPlan.SplitAt(3)));
        Assert.Contains("only 2 layers", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new MultiTaskModel(trunk, new Dictionary<string, TaskHead> { ["a.b"] = new RegressionHead(8) }, SharingPlan.Hard));
        Assert.Contains("a.b", ex.Message);
        Assert.Equal("split@2", SharingPlan.Parse("split@2").ToString());
        Assert.Throws<FormatException>(() => SharingPlan.Parse("half"));
    }

    [Fact]
    public void StopGradientIntoTrunkKeepsATaskOutOfTheSharedParameters()
    {
        var model = Build(SharingPlan.Hard);
        model.StopGradientIntoTrunk("reg");
        var x = TrunkInput.FromFeatures(randn(4, 4));
        var output = model.forward(x);
        model.zero_grad();
        model.Head("reg").Loss(output["reg"], randn(4)).backward();
        Assert.All(model.SharedParameters(), p => Assert.True(p.grad is null || p.grad.abs().sum().item<float>() == 0));
        Assert.Contains(model.TaskParameters("reg"), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);
    }
}
