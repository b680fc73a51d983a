using MultiTaskKit.Charts;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Training;
using MultiTaskKit.Steps;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;
using MultiTaskKit.Data;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;

namespace MultiTaskKit.Tests.Models;

[Collection(ProcessStateCollection.Name)]
public class CrossStitchNetworkTests
{

    static (CrossStitchNetwork Model, MlpTrunk Trunk) Build(int tasks = 2, CrossStitchOptions? options = null, long seed = 1)
    {
        manual_seed(seed);
        var trunk = new MlpTrunk(new MlpTrunkOptions(InputSize: 4, HiddenSize: 8, Layers: 2));
        var heads = new List<KeyValuePair<string, TaskHead>>
        {
            new("cls", new ClassificationHead(8, 3)),
            new("reg", new RegressionHead(8)),
            new("third", new RegressionHead(8)),
        }.Take(tasks).ToList();
        return (new CrossStitchNetwork(trunk, heads, options), trunk);
    }

    static Dictionary<string, Tensor> Targets(long rows) =>
        new() { ["cls"] = randint(0, 3, new long[] { rows }), ["reg"] = randn(rows), ["third"] = randn(rows) };

    [Fact]
    public void AlphaStartsNearTheIdentityWithRowsSummingToOne()
    {
        var (model, _) = Build(tasks: 3);
        var sd = model.state_dict();
        Assert.Equal(["shared.stitch.stem.alpha", "shared.stitch.layers.0.alpha", "shared.stitch.layers.1.alpha"],
            sd.Keys.Where(k => k.StartsWith("shared.")).ToArray());
        Assert.Contains("tasks.third.layers.1.dense.weight", sd.Keys);
        Assert.Contains("tasks.cls.head.classifier.weight", sd.Keys);
        Assert.Equal(3, model.LearnedMixing().Count);
        foreach (var (_, alpha) in model.LearnedMixing())
        {
            Assert.Equal(new long[] { 3, 3 }, alpha.shape);
            var a = alpha.data<float>().ToArray();
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) Assert.Equal(i == j ? 0.9f : 0.05f, a[i * 3 + j], 6);
        }
        Assert.Equal(27, model.SharedParameters().Sum(p => p.numel()));

        var (two, _) = Build(tasks: 2, options: new CrossStitchOptions(SelfWeight: 0.7));
        Assert.Equal([0.7f, 0.3f, 0.3f, 0.7f], two.LearnedMixing()[0].Weights.data<float>().ToArray().Select(v => MathF.Round(v, 6)).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => Build(options: new CrossStitchOptions(SelfWeight: 1.5)));
    }

    [Fact]
    public void AtInitialisationItComputesWhatTheIsolatedTrunksCompute()
    {
        // every column starts from the same weights and every α row sums to 1, so mixing equal states changes nothing
        var x = TrunkInput.FromFeatures(randn(6, 4));
        var (model, _) = Build(seed: 3);
        manual_seed(3);
        var isolated = ArchitectureTests.Build("isolated", seed: 3);
        var a = model.forward(x);
        var b = isolated.forward(x);
        foreach (var t in model.Tasks) Assert.True(a[t].allclose(b[t], rtol: 1e-5, atol: 1e-6), t);
    }

    [Fact]
    public void EachUnitMixesTheTasksActivationsByItsRowOfAlpha()
    {
        var (model, trunk) = Build(seed: 4);
        var sd = model.state_dict();
        using (no_grad())
        {
            sd["shared.stitch.stem.alpha"].copy_(tensor(new float[] { 0.5f, 0.5f, 0.2f, 0.8f }).reshape(2, 2));
            sd["shared.stitch.layers.0.alpha"].copy_(eye(2));
            sd["shared.stitch.layers.1.alpha"].copy_(eye(2));
            sd["tasks.reg.stem.dense.weight"].add_(0.3);   // the columns now differ
        }
        var input = TrunkInput.FromFeatures(randn(5, 4));
        var output = model.forward(input);

        // by hand: task cls (column 0 = the trunk's own modules) reads 0.5·stem₀(x) + 0.5·stem₁(x)
        var s0 = trunk.Stem.call(input).Hidden;
        var w1 = sd["tasks.reg.stem.dense.weight"];
        var b1 = sd["tasks.reg.stem.dense.bias"];
        var s1 = nn.functional.relu(input.Features!.matmul(w1.t()) + b1);
        var state = new HiddenState(0.5 * s0 + 0.5 * s1);
        foreach (var layer in trunk.Layers) state = layer.call(state);
        var expected = model.Head("cls").call(trunk.Pool.call(state));
        Assert.True(output["cls"].allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void AlphaReceivesGradientAndLearnsUnderAGradientMethodAndALossWeighting()
    {
        var (model, _) = Build(tasks: 3, seed: 6);
        var method = MethodCatalog.Create("pcgrad", model.Tasks);
        var weighting = new UncertaintyWeighting(model.Tasks);
        model.AttachStrategy(weighting);
        var initial = model.LearnedMixing().Select(m => m.Weights.clone()).ToList();
        var columnBefore = model.TaskParameters("reg").First().detach().clone();
        var optimizer = optim.Adam(model.parameters(), lr: 0.01);
        manual_seed(7);
        var x = TrunkInput.FromFeatures(randn(16, 4));
        var targets = Targets(16);
        StepDiagnostics? diag = null;
        for (int step = 0; step < 5; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var losses = model.Losses(model.forward(x), targets);
            diag = MultiTaskStep.Backward(model, losses, weighting, method.Aggregator, new StepOptions { Step = step });
            if (step == 0)
                foreach (var p in model.SharedParameters())
                    Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, "α got no gradient");
            optimizer.step();
        }
        Assert.Equal(3, diag!.Tasks.Count);
        Assert.NotNull(diag.Cosines);                 // the per-task gradient matrix over α
        foreach (var (before, (_, after)) in initial.Zip(model.LearnedMixing()))
            Assert.True(before.sub(after).abs().max().item<float>() > 1e-4, "α did not change");
        Assert.False(columnBefore.allclose(model.TaskParameters("reg").First()), "the reg column did not change");
        Assert.True(weighting.parameters().First().abs().sum().item<float>() > 0, "the weighting's state did not train");
    }

    /// <summary>A weighting that reads the gradient matrix (as GradNorm does) and answers fixed weights.</summary>
    sealed class FixedAfterGradients(IReadOnlyList<string> tasks, double[] weights) : ILossWeighting
    {
        public string Name => "fixed-after-gradients";
        public bool NeedsTaskGradients => true;
        public WeightingResult Weigh(WeightingInput input)
        {
            Assert.Equal(tasks.Count, (int)input.TaskGradients!.shape[0]);
            return new WeightingResult(tensor(weights, dtype: input.Losses.dtype));
        }
    }

    [Fact]
    public void WeightsKnownOnlyAfterTheTaskGradientsScaleEachTasksShareOfEveryColumn()
    {
        // every column takes gradient from every task's loss, so scaling a column by its own task's weight would be wrong
        var (model, _) = Build(seed: 8);
        var x = TrunkInput.FromFeatures(randn(6, 4));
        var targets = Targets(6);
        model.zero_grad();
        var reference = model.Losses(model.forward(x), targets);
        (2.0 * reference["cls"] + 0.5 * reference["reg"]).backward();
        var expected = model.ModelParameters().Select(p => p.grad!.clone()).ToList();

        var losses = model.Losses(model.forward(x), targets);
        MultiTaskStep.Backward(model, losses, new FixedAfterGradients(model.Tasks, [2.0, 0.5]));
        foreach (var (p, e) in model.ModelParameters().Zip(expected))
            Assert.True(p.grad!.allclose(e, rtol: 1e-5, atol: 1e-7));
    }

    [Fact]
    public void AStoppedTaskTrainsOnlyItsOwnColumnAndHead()
    {
        var (model, _) = Build(seed: 9);
        model.StopGradientIntoTrunk("reg");
        var x = TrunkInput.FromFeatures(randn(4, 4));
        var output = model.forward(x);
        model.zero_grad();
        model.Head("reg").Loss(output["reg"], randn(4)).backward();
        static float Sum(IEnumerable<TorchSharp.Modules.Parameter> ps) => ps.Sum(p => p.grad is null ? 0f : p.grad.abs().sum().item<float>());
        Assert.Equal(0f, Sum(model.SharedParameters()));
        Assert.Equal(0f, Sum(model.TaskParameters("cls")));
        Assert.True(Sum(model.TaskParameters("reg")) > 0);
        // the stopped task's prediction is unchanged by stopping (only its gradient is)
        model.StopGradientIntoTrunk("reg", false);
        Assert.True(model.forward(x)["reg"].allclose(output["reg"]));
    }

    [Fact]
    public void OnTheBertTrunkItMixesTokenStatesAndTrainsWithPerTaskBatches()
    {
        manual_seed(12);
        var model = new CrossStitchNetwork(new BertTrunk(new BertModel(BertConfig.Tiny)), new Dictionary<string, TaskHead>
        {
            ["imdb"] = new ClassificationHead(32, 2),
            ["tweets"] = new RegressionHead(32),
        });
        model.eval();
        Assert.Contains("tasks.tweets.layers.1.attention.self.query.weight", model.state_dict().Keys);
        Assert.Equal(1 + BertConfig.Tiny.NumHiddenLayers, model.LearnedMixing().Count);
        var g = new Generator(3);
        var ids = randint(1, 99, new long[] { 3, 7 }, generator: g);
        var mask = ones(new long[] { 3, 7 }, dtype: ScalarType.Int64);
        mask[0, 6] = 0;
        var inputs = new Dictionary<string, TrunkInput>
        {
            ["imdb"] = TrunkInput.FromTokens(ids, mask),
            ["tweets"] = TrunkInput.FromTokens(randint(1, 99, new long[] { 2, 5 }, generator: g), ones(new long[] { 2, 5 }, dtype: ScalarType.Int64)),
        };
        var targets = new Dictionary<string, Tensor> { ["imdb"] = tensor(new long[] { 0, 1, 1 }), ["tweets"] = tensor(new float[] { 0.5f, -1f }) };
        var diag = MultiTaskStep.Backward(model, model.Losses(model.Forward(inputs), targets), new EqualWeighting(model.Tasks), new PCGrad());
        Assert.NotNull(diag.Cosines);
        Assert.All(model.SharedParameters(), p => Assert.True(p.grad!.abs().sum().item<float>() > 0));
    }

    [Fact]
    public void CheckpointsRoundTripAndTheViewShowsAlpha()
    {
        var (model, _) = Build(seed: 10);
        using (no_grad()) model.state_dict()["shared.stitch.layers.1.alpha"].copy_(tensor(new float[] { 0.6f, 0.4f, 0.25f, 0.75f }).reshape(2, 2));
        var dir = Directory.CreateTempSubdirectory("mtk-cross-stitch").FullName;
        Checkpoint.SaveBest(dir, model, step: 1, score: 0.5);
        var (other, _) = Build(seed: 11);
        var x = TrunkInput.FromFeatures(randn(5, 4));
        Assert.False(other.forward(x)["reg"].allclose(model.forward(x)["reg"]));
        Checkpoint.LoadWeights(other, Path.Combine(dir, Checkpoint.BestFolder, Checkpoint.WeightsFile));
        Assert.True(other.forward(x)["reg"].allclose(model.forward(x)["reg"]));
        Assert.True(other.forward(x)["cls"].allclose(model.forward(x)["cls"]));

        var summary = KitViews.ModelSummary(other);
        Assert.Contains("cross_stitch", summary.Title);
        Assert.Contains(summary.Rows, r => r[0] == "shared.stitch.layers.1" && r[1] == "shared" && r[2] == "4");
        Assert.Contains(summary.Rows, r => r[0] == "tasks.reg.layers.0.dense" && r[1] == "task reg");
        var mixing = KitViews.Mixing(other)!;
        Assert.Equal(["unit", "task reads", "from cls", "from reg"], mixing.Headers);
        Assert.Contains(mixing.Rows, r => r.SequenceEqual(["stitch.layers.1", "reg", "0.25", "0.75"]));
        Assert.Equal(6, mixing.Rows.Count);
        Assert.Null(KitViews.Mixing(ArchitectureTests.Build("hard")));
    }
}
