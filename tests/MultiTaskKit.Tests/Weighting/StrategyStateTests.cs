using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;
using MultiTaskKit.Data;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Tests.Weighting;

[Collection(ProcessStateCollection.Name)]
public class StrategyStateTests
{

    static MultiTaskModel Model(long seed, bool threeTasks = false)
    {
        manual_seed(seed);
        var heads = new Dictionary<string, TaskHead> { ["a"] = new RegressionHead(6), ["b"] = new RegressionHead(6) };
        if (threeTasks) heads["c"] = new RegressionHead(6);
        return new MultiTaskModel(new MlpTrunk(new MlpTrunkOptions(3, 6, 2)), heads, SharingPlan.SplitAt(1));
    }

    static (TrunkInput, Dictionary<string, Tensor>) Batch(int step, bool threeTasks = false)
    {
        var g = new Generator((ulong)(100 + step));
        var input = TrunkInput.FromFeatures(randn(new long[] { 8, 3 }, generator: g));
        var targets = new Dictionary<string, Tensor> { ["a"] = randn(new long[] { 8 }, generator: g), ["b"] = 3 * randn(new long[] { 8 }, generator: g) };
        if (threeTasks) targets["c"] = 0.5 * randn(new long[] { 8 }, generator: g);
        return (input, targets);
    }

    [Fact]
    public void LearnableStateIsTrainedSavedAndLoadedWithTheModel()
    {
        var model = Model(1);
        var uw = new UncertaintyWeighting(model.Tasks);
        model.AttachStrategy(uw);
        Assert.Contains("strategy.weighting.log_variances", model.state_dict().Keys);
        Assert.Single(model.StrategyParameters());
        var optimizer = optim.Adam(model.parameters(), 0.05);
        for (int step = 0; step < 5; step++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = Batch(step);
            MultiTaskStep.Backward(model, model.Losses(model.forward(x), y), uw, options: new StepOptions { Step = step });
            optimizer.step();
        }
        var trained = uw.LogVariances;
        Assert.NotEqual(0.0, trained["a"]);

        var path = Path.Combine(Path.GetTempPath(), $"mtk-uw-{Guid.NewGuid():N}.bin");
        try
        {
            model.save(path);
            var fresh = Model(2);
            var freshUw = new UncertaintyWeighting(fresh.Tasks);
            fresh.AttachStrategy(freshUw);
            fresh.load(path);
            Assert.Equal(trained["a"], freshUw.LogVariances["a"], 6);
            Assert.Equal(trained["b"], freshUw.LogVariances["b"], 6);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void StrategyStateFollowsTheModelWhenItMoves()
    {
        var model = Model(6);
        var uw = new UncertaintyWeighting(model.Tasks);
        model.AttachStrategy(uw);
        model.to(ScalarType.Float64);
        var optimizer = optim.SGD(model.parameters(), 0.1);
        var (x, y) = Batch(0);
        var x64 = TrunkInput.FromFeatures(x.Features!.to_type(ScalarType.Float64));
        var y64 = y.ToDictionary(kv => kv.Key, kv => kv.Value.to_type(ScalarType.Float64));
        MultiTaskStep.Backward(model, model.Losses(model.forward(x64), y64), uw, options: new StepOptions { AccumulateGradients = true });
        optimizer.step();
        var saved = model.state_dict()["strategy.weighting.log_variances"];
        Assert.Equal(ScalarType.Float64, saved.dtype);
        Assert.True(saved.abs().sum().item<double>() > 0, "the moved log-variances received the gradient");
        Assert.Equal(saved[0].item<double>(), uw.LogVariances["a"], 9);
    }

    [Fact]
    public void GradNormTrainsItsWeightsThroughTheModelOptimiser()
    {
        var model = Model(3);
        var gn = new GradNorm(model.Tasks);
        model.AttachStrategy(gn);
        var optimizer = optim.Adam(model.parameters(), 0.05);
        var history = new LossHistory();
        for (int step = 0; step < 5; step++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = Batch(step);
            var diag = MultiTaskStep.Backward(model, model.Losses(model.forward(x), y), gn, options: new StepOptions { Step = step, History = history });
            Assert.Equal(2, diag.BackwardPasses);
            Assert.Equal(2.0, diag.Weights.Values.Sum(), 5);
            optimizer.step();
            history.Record(diag);
        }
        Assert.NotEqual(1.0, gn.CurrentWeights["a"], 4);
    }

    [Fact]
    public void FrozenSharedPartTrainsOnlyTheTaskParameters()
    {
        var model = Model(4);
        model.FreezeShared();
        var (x, y) = Batch(0);
        var diag = MultiTaskStep.Backward(model, model.Losses(model.forward(x), y), new EqualWeighting(model.Tasks), new PCGrad());
        Assert.All(model.SharedParameters(), p => Assert.True(p.grad is null || p.grad.abs().sum().item<float>() == 0));
        Assert.All(model.Tasks, t => Assert.Contains(model.TaskParameters(t), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0));
        Assert.Equal(0.0, diag.SharedGradientNorms!["a"]);
        model.FreezeShared(false);
        Assert.All(model.SharedParameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void TheNewMethodsStateTravelsWithTheModelAndGroupedGradVacSeesItsLayers()
    {
        var model = Model(3);
        var (x, y) = Batch(0);
        var shared = model.SharedParameters().ToHashSet(ReferenceEqualityComparer.Instance);
        var sharedNames = model.named_parameters().Where(np => shared.Contains(np.parameter)).Select(np => np.name).ToArray();

        // full IMTL: IMTL-L's scales are a parameter; after one step ∂/∂sᵢ = eˢⁱLᵢ − 1 = Lᵢ − 1 at s = 0
        var imtl = MethodCatalog.Create("imtl", model.Tasks);
        model.AttachStrategy(imtl.Weighting, "weighting");
        Assert.Contains("strategy.weighting.loss_scale", model.state_dict().Keys);
        var diag = MultiTaskStep.Backward(model, model.Losses(model.forward(x), y), imtl.Weighting, imtl.Aggregator);
        var grad = ((IMTLL)imtl.Weighting).parameters().Single().grad!.to_type(ScalarType.Float64).data<double>().ToArray();
        for (int i = 0; i < model.Tasks.Count; i++) Assert.Equal(diag.Losses[model.Tasks[i]] - 1, grad[i], 4);

        // MoCo's λ and ExcessMTL's weights are buffers
        model = Model(3);
        model.AttachStrategy(new MoCo(model.Tasks), "aggregator");
        Assert.Contains("strategy.aggregator.lambda", model.state_dict().Keys);
        model.AttachStrategy(new ExcessMTL(model.Tasks), "weighting");
        Assert.Contains("strategy.weighting.loss_weight", model.state_dict().Keys);
        Assert.Contains("strategy.weighting.initial_excess", model.state_dict().Keys);

        // grouped GradVac through the engine: one target per task pair and per shared module (weight and bias together)
        // or per shared parameter tensor, counted here from the model's own parameter names
        int modules = sharedNames.Select(n => n[..n.LastIndexOf('.')]).Distinct().Count();
        Assert.True(modules < sharedNames.Length, "the test model's shared layers should have weights and biases");
        foreach (var (groups, expected) in new[] { (GradVacGroups.PerLayer, modules), (GradVacGroups.PerParameter, sharedNames.Length) })
        {
            model = Model(3);
            var gv = new GradVac(model.Tasks, new GradVacOptions(Groups: groups));
            model.AttachStrategy(gv, "aggregator");
            for (int step = 0; step < 2; step++)
                MultiTaskStep.Backward(model, model.Losses(model.forward(x), y), new EqualWeighting(model.Tasks), gv, new StepOptions { Step = step });
            Assert.Equal(new long[] { 2, 2, expected }, gv.get_buffer("targets")!.shape);
            Assert.Contains("strategy.aggregator.targets", model.state_dict().Keys);
            Assert.NotEqual(0.0, gv.get_buffer("targets")!.abs().sum().item<double>());
        }
    }

    public static IEnumerable<object[]> Methods() => MethodCatalog.Names.Select(n => new object[] { n });

    [Theory, MemberData(nameof(Methods))]
    public void LiveTensorCountStaysFlatOverManySteps(string name)
    {
        // three tasks: every catalogue method accepts them (Krum and TrimmedMean need at least three)
        var model = Model(5, threeTasks: true);
        var method = MethodCatalog.Create(name, model.Tasks);
        model.AttachStrategy(method.Weighting, "weighting");
        model.AttachStrategy(method.Aggregator, "aggregator");
        var optimizer = optim.SGD(model.parameters(), 0.01);
        var history = new LossHistory();
        long after3 = 0;
        for (int step = 0; step < 25; step++)
        {
            using (var scope = NewDisposeScope())
            {
                var (x, y) = Batch(step, threeTasks: true);
                var output = model.Forward(x, representationGradients: method.Mode == GradientMode.Representation);
                var diag = MultiTaskStep.Backward(model, model.Losses(output, y), method.Weighting, method.Aggregator,
                    new StepOptions { Step = step, History = history, Gradients = method.Mode, Representation = output.Representation, MaxGradNorm = 10 });
                optimizer.step();
                history.Record(diag);
                if ((step + 1) % 5 == 0) history.EndEpoch();
            }
            if (step == 3) after3 = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }
        Assert.Equal(after3, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        // the counter does see a tensor that outlives its step
        using var leak = zeros(1);
        Assert.Equal(after3 + 1, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
