using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;
using MultiTaskKit.Data;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Tests.Models;

/// <summary>The BERT trunk plugs into the same model code and step engine as the MLP trunk.</summary>
[Collection(ProcessStateCollection.Name)]
public class BertTrunkPlanTests
{

    static MultiTaskModel Build(SharingPlan plan)
    {
        manual_seed(11);
        var trunk = new BertTrunk(new BertModel(BertConfig.Tiny));
        var model = new MultiTaskModel(trunk, new Dictionary<string, TaskHead>
        {
            ["imdb"] = new ClassificationHead(32, 2),
            ["tweets"] = new RegressionHead(32),
        }, plan);
        model.eval(); // no dropout: exact comparisons
        return model;
    }

    static TrunkInput Tokens(int batch, int length, int seed)
    {
        var g = new Generator((ulong)seed);
        var ids = randint(1, 99, new long[] { batch, length }, generator: g);
        var mask = ones(new long[] { batch, length }, dtype: ScalarType.Int64);
        mask[0, length - 1] = 0;
        return TrunkInput.FromTokens(ids, mask);
    }

    [Fact]
    public void SplitAtOneOnBertTrainsWithPerTaskBatchesAndAnAggregator()
    {
        var model = Build(SharingPlan.SplitAt(1));
        Assert.Contains("tasks.tweets.layers.1.attention.self.query.weight", model.state_dict().Keys);
        var inputs = new Dictionary<string, TrunkInput> { ["imdb"] = Tokens(3, 8, 1), ["tweets"] = Tokens(2, 5, 2) };
        var targets = new Dictionary<string, Tensor> { ["imdb"] = tensor(new long[] { 0, 1, 1 }), ["tweets"] = tensor(new float[] { 0.5f, -1f }) };
        var output = model.Forward(inputs);
        var diag = MultiTaskStep.Backward(model, model.Losses(output, targets), new EqualWeighting(model.Tasks), new PCGrad());
        Assert.Equal(2, diag.BackwardPasses);
        Assert.NotNull(diag.Cosines);
        Assert.Contains(model.SharedParameters(), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void RepGradOnBertMatchesTheExactGradientOfTheSum()
    {
        var model = Build(SharingPlan.SplitAt(1));
        var input = Tokens(3, 6, 3);
        var targets = new Dictionary<string, Tensor> { ["imdb"] = tensor(new long[] { 1, 0, 1 }), ["tweets"] = tensor(new float[] { 0.1f, 0.2f, -0.3f }) };
        model.zero_grad();
        var l = model.Losses(model.forward(input), targets);
        (l["imdb"] + l["tweets"]).backward();
        var expected = cat(model.ModelParameters().Select(p => (p.grad ?? zeros_like(p)).reshape(-1).clone()).ToArray());

        var output = model.Forward(input, representationGradients: true);
        Assert.Equal(3, output.Representation!.Shared.dim()); // [batch, tokens, hidden] below the split
        MultiTaskStep.Backward(model, model.Losses(output, targets), new EqualWeighting(model.Tasks), new Sum(),
            new StepOptions { Gradients = GradientMode.Representation, Representation = output.Representation });
        var actual = cat(model.ModelParameters().Select(p => (p.grad ?? zeros_like(p)).reshape(-1).clone()).ToArray());
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-6));
    }
}
