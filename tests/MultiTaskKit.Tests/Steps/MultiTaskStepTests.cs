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

namespace MultiTaskKit.Tests.Steps;

[Collection(ProcessStateCollection.Name)]
public class MultiTaskStepTests
{

    static (MultiTaskModel Model, TrunkInput Input, Dictionary<string, Tensor> Targets) Setup(SharingPlan plan, long seed = 5)
    {
        manual_seed(seed);
        var trunk = new MlpTrunk(new MlpTrunkOptions(4, 8, 2));
        var model = new MultiTaskModel(trunk, new Dictionary<string, TaskHead>
        {
            ["a"] = new RegressionHead(8),
            ["b"] = new ClassificationHead(8, 3),
        }, plan);
        var input = TrunkInput.FromFeatures(randn(6, 4));
        var targets = new Dictionary<string, Tensor> { ["a"] = randn(6), ["b"] = randint(0, 3, new long[] { 6 }) };
        return (model, input, targets);
    }

    /// <summary>Reference: plain autograd of Σ wᵢ Lᵢ, all gradients flattened.</summary>
    static Tensor Reference(MultiTaskModel model, TrunkInput input, Dictionary<string, Tensor> targets, double wa, double wb)
    {
        model.zero_grad();
        var losses = model.Losses(model.forward(input), targets);
        (wa * losses["a"] + wb * losses["b"]).backward();
        return Flat(model);
    }

    internal static Tensor Flat(MultiTaskModel model) =>
        cat(model.ModelParameters().Select(p => (p.grad ?? zeros_like(p)).reshape(-1).clone()).ToArray());

    [Fact]
    public void EqualWeightingWritesTheGradientOfTheSumInOneBackward()
    {
        var (model, input, targets) = Setup(SharingPlan.SplitAt(1));
        var expected = Reference(model, input, targets, 1, 1);
        var losses = model.Losses(model.forward(input), targets);
        var diag = MultiTaskStep.Backward(model, losses, new EqualWeighting(model.Tasks));
        Assert.True(Flat(model).allclose(expected, rtol: 1e-5, atol: 1e-7));
        Assert.Equal(1, diag.BackwardPasses);
        Assert.Null(diag.Cosines);
        Assert.Null(diag.SharedGradientNorms);
        Assert.Equal(1.0, diag.Weights["a"]);
        Assert.Equal(losses["a"].item<float>(), diag.Losses["a"], 5);
    }

    [Fact]
    public void FixedWeightsScaleEveryGradientAndPerTaskModeAgreesWithOneBackward()
    {
        var (model, input, targets) = Setup(SharingPlan.Hard);
        var expected = Reference(model, input, targets, 0.3, 2.0);
        var fixedWeights = new FixedWeighting(model.Tasks, new Dictionary<string, double> { ["a"] = 0.3, ["b"] = 2.0 });
        Assert.Equal("Fixed(a=0.3, b=2)", fixedWeights.ToString());

        var diag1 = MultiTaskStep.Backward(model, model.Losses(model.forward(input), targets), fixedWeights);
        Assert.True(Flat(model).allclose(expected, rtol: 1e-5, atol: 1e-7));

        var diag2 = MultiTaskStep.Backward(model, model.Losses(model.forward(input), targets), fixedWeights,
            options: new StepOptions { TaskGradientDiagnostics = true });
        Assert.True(Flat(model).allclose(expected, rtol: 1e-5, atol: 1e-6));
        Assert.Equal(2, diag2.BackwardPasses);
        Assert.Equal(1, diag1.BackwardPasses);

        // diagnostics from the matrix agree with separately computed task gradients
        var ga = SharedGrad(model, input, targets, "a", 0.3);
        var gb = SharedGrad(model, input, targets, "b", 2.0);
        Assert.Equal(ga.norm().item<float>(), diag2.SharedGradientNorms!["a"], 4);
        double cos = (ga.dot(gb) / (ga.norm() * gb.norm())).item<float>();
        Assert.Equal(cos, diag2.Cosine("a", "b")!.Value, 4);
        Assert.Equal(cos < 0 ? 1 : 0, diag2.ConflictingPairs);
    }

    static Tensor SharedGrad(MultiTaskModel model, TrunkInput input, Dictionary<string, Tensor> targets, string task, double w)
    {
        model.zero_grad();
        (w * model.Losses(model.forward(input), targets)[task]).backward();
        return cat(model.SharedParameters().Select(p => p.grad!.reshape(-1).clone()).ToArray());
    }

    [Fact]
    public void RepresentationGradientsGiveTheExactGradientOfTheSum()
    {
        var (model, input, targets) = Setup(SharingPlan.SplitAt(1));
        var expected = Reference(model, input, targets, 1, 1);
        var output = model.Forward(input, representationGradients: true);
        var diag = MultiTaskStep.Backward(model, model.Losses(output, targets), new EqualWeighting(model.Tasks), options:
            new StepOptions { Gradients = GradientMode.Representation, Representation = output.Representation, TaskGradientDiagnostics = true });
        Assert.True(Flat(model).allclose(expected, rtol: 1e-5, atol: 1e-6));
        Assert.Equal(3, diag.BackwardPasses);
        Assert.NotNull(diag.Cosines);
    }

    [Fact]
    public void OwnBatchPerTaskTrainsEachTaskOnItsBatch()
    {
        var (model, _, _) = Setup(SharingPlan.SplitAt(1));
        var inputs = new Dictionary<string, TrunkInput> { ["a"] = TrunkInput.FromFeatures(randn(5, 4)), ["b"] = TrunkInput.FromFeatures(randn(3, 4)) };
        var targets = new Dictionary<string, Tensor> { ["a"] = randn(5), ["b"] = randint(0, 3, new long[] { 3 }) };
        model.zero_grad();
        var l = model.Losses(model.Forward(inputs), targets);
        (l["a"] + l["b"]).backward();
        var expected = Flat(model);
        var diag = MultiTaskStep.Backward(model, model.Losses(model.Forward(inputs), targets), new EqualWeighting(model.Tasks),
            new MultiTaskKit.Aggregation.Sum(), new StepOptions());
        Assert.True(Flat(model).allclose(expected, rtol: 1e-5, atol: 1e-6));
        Assert.Equal(2, diag.BackwardPasses);
    }

    [Fact]
    public void NonFiniteLossNamesTheTaskAndStepOrSkips()
    {
        var (model, input, targets) = Setup(SharingPlan.Hard);
        var losses = model.Losses(model.forward(input), targets);
        losses["b"] = losses["b"] * float.NaN;
        var ex = Assert.Throws<NonFiniteLossException>(() => MultiTaskStep.Backward(model, losses, new EqualWeighting(model.Tasks), options: new StepOptions { Step = 17 }));
        Assert.Contains("'b'", ex.Message);
        Assert.Contains("step 17", ex.Message);
        var diag = MultiTaskStep.Backward(model, losses, new EqualWeighting(model.Tasks), options: new StepOptions { OnNonFiniteLoss = NonFiniteLossPolicy.SkipStep });
        Assert.True(diag.Skipped);
        Assert.All(model.parameters(), p => Assert.True(p.grad is null || p.grad.abs().sum().item<float>() == 0));
    }

    [Fact]
    public void AMissingTaskIsReportedAndItsParametersGetNoGradient()
    {
        var (model, input, targets) = Setup(SharingPlan.Hard);
        var output = model.Forward(new Dictionary<string, TrunkInput> { ["a"] = input });
        var diag = MultiTaskStep.Backward(model, model.Losses(output, targets), new EqualWeighting(model.Tasks));
        Assert.Equal(new[] { "b" }, diag.MissingTasks);
        Assert.All(model.TaskParameters("b"), p => Assert.True(p.grad is null || p.grad.abs().sum().item<float>() == 0));
        var ex = Assert.Throws<ArgumentException>(() => MultiTaskStep.Backward(model, model.Losses(model.Forward(new Dictionary<string, TrunkInput> { ["a"] = input }), targets),
            new EqualWeighting(model.Tasks), options: new StepOptions { OnMissingTask = MissingTaskPolicy.Throw }));
        Assert.Contains("b", ex.Message);
    }

    [Fact]
    public void BadFixedWeightsAreRejectedWithExpectedAndFound()
    {
        var tasks = new[] { "a", "b" };
        var ex = Assert.Throws<ArgumentException>(() => new FixedWeighting(tasks, new double[] { 1 }));
        Assert.Contains("expected 2", ex.Message); Assert.Contains("found 1", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new FixedWeighting(tasks, new double[] { 1, -0.5 }));
        Assert.Contains("'b'", ex.Message); Assert.Contains("-0.5", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new FixedWeighting(tasks, new double[] { double.NaN, 1 }));
        Assert.Contains("NaN", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new FixedWeighting(tasks, new Dictionary<string, double> { ["a"] = 1, ["c"] = 1 }));
        Assert.Contains("c", ex.Message);
    }

    [Fact]
    public void ClippingByGlobalNormAndPerTask()
    {
        var (model, input, targets) = Setup(SharingPlan.Hard);
        var diag = MultiTaskStep.Backward(model, model.Losses(model.forward(input), targets), new FixedWeighting(model.Tasks, new double[] { 100, 100 }),
            options: new StepOptions { MaxGradNorm = 0.5 });
        Assert.True(diag.GradientNorm > 0.5);
        Assert.Equal(0.5, Flat(model).norm().item<float>(), 3);

        diag = MultiTaskStep.Backward(model, model.Losses(model.forward(input), targets), new FixedWeighting(model.Tasks, new double[] { 100, 100 }),
            options: new StepOptions { MaxTaskGradNorm = 0.1 });
        Assert.Equal(new[] { "a", "b" }, diag.ClippedTasks);
        var shared = cat(model.SharedParameters().Select(p => p.grad!.reshape(-1)).ToArray());
        Assert.True(shared.norm().item<float>() <= 0.2 + 1e-5);
    }

    [Fact]
    public void AccumulationAddsToExistingGradients()
    {
        var (model, input, targets) = Setup(SharingPlan.Hard);
        var expected = Reference(model, input, targets, 2, 2);
        MultiTaskStep.Backward(model, model.Losses(model.forward(input), targets), new EqualWeighting(model.Tasks));
        MultiTaskStep.Backward(model, model.Losses(model.forward(input), targets), new EqualWeighting(model.Tasks), options: new StepOptions { AccumulateGradients = true });
        Assert.True(Flat(model).allclose(expected, rtol: 1e-5, atol: 1e-6));
    }
}
