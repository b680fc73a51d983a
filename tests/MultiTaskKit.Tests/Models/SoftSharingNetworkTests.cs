using MultiTaskKit.Charts;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Training;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;
using MultiTaskKit.Data;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;

namespace MultiTaskKit.Tests.Models;

/// <summary>MMoE, CGC/PLE and task attention: what each computes, its partition and layout, the BERT trunk, checkpoints
/// and the model view of its gates.</summary>
[Collection(ProcessStateCollection.Name)]
public class SoftSharingNetworkTests
{
    public SoftSharingNetworkTests() => TorchRuntime.EnsureInitialized();

    static List<KeyValuePair<string, TaskHead>> Heads(long width) =>
    [
        new("cls", new ClassificationHead(width, 3, new ClassificationHeadOptions(Dropout: 0))),
        new("reg", new RegressionHead(width, 1, 0)),
    ];

    static MlpTrunk Mlp(long seed, int layers = 2)
    {
        manual_seed(seed);
        return new MlpTrunk(new MlpTrunkOptions(InputSize: 4, HiddenSize: 8, Layers: layers));
    }

    [Fact]
    public void MMoEWithOneExpertComputesWhatSplitSharingComputes()
    {
        // one expert: every gate weighs it 1, so MMoE is the bottom plus one copy of the upper layers, as split@k
        var x = TrunkInput.FromFeatures(randn(5, 4, generator: new Generator(2)));
        using var split = new MultiTaskModel(Mlp(3), Heads(8), SharingPlan.SplitAt(1));
        using var mmoe = new MMoENetwork(Mlp(3), Heads(8), new MMoEOptions(Experts: 1, SharedLayers: 1));
        var a = split.forward(x);
        var b = mmoe.forward(x);
        Assert.True(a["cls"].allclose(b["cls"], rtol: 1e-5, atol: 1e-6));
        Assert.True(a["reg"].allclose(b["reg"], rtol: 1e-5, atol: 1e-6));
        var gates = mmoe.LearnedMixing().Single();
        Assert.Equal("gates", gates.Name);
        Assert.All(gates.Weights.data<double>().ToArray(), w => Assert.Equal(1.0, w, 9));
    }

    [Fact]
    public void MMoEGatesAreDistributionsThatDependOnTheInputAndTheExpertsAreShared()
    {
        using var mmoe = new MMoENetwork(Mlp(4, layers: 3), Heads(8), new MMoEOptions(Experts: 4, SharedLayers: 5));
        Assert.Equal(2, mmoe.BottomLayers);                                      // capped at L − 1
        var keys = mmoe.state_dict().Keys.ToList();
        Assert.Contains("shared.experts.3.layers.2.dense.weight", keys);
        Assert.Contains("tasks.reg.gate.linear.weight", keys);
        Assert.DoesNotContain(keys, k => k.StartsWith("shared.experts.0.layers.1"));
        Assert.True(mmoe.TaskParametersAreExclusive);
        // stem 4→8, two bottom layers and four one-layer experts of 8→8
        Assert.Equal((4 * 8 + 8) + 2 * (8 * 8 + 8) + 4 * (8 * 8 + 8), mmoe.SharedParameters().Sum(p => p.numel()));
        Assert.Equal((8 * 4 + 4) + (8 * 3 + 3), mmoe.TaskParameters("cls").Sum(p => p.numel()));
        mmoe.forward(TrunkInput.FromFeatures(randn(6, 4)));
        var first = mmoe.LearnedMixing().Single().Weights.clone();
        Assert.Equal(new long[] { 2, 4 }, first.shape);
        Assert.True(first.sum(dim: 1).allclose(ones(2, dtype: ScalarType.Float64), rtol: 1e-6, atol: 1e-6));
        mmoe.forward(TrunkInput.FromFeatures(randn(6, 4) * 5));
        Assert.False(mmoe.LearnedMixing().Single().Weights.allclose(first), "the gate weights did not change with the input");
    }

    [Fact]
    public void PLELevelsCutTheUpperLayersAndCgcKeepsTaskParametersExclusive()
    {
        using var ple = new PLENetwork(Mlp(5, layers: 3), Heads(8), new PLEOptions(Levels: 2, SharedExperts: 2, TaskExperts: 1, SharedLayers: 1));
        Assert.Equal("ple", ple.Architecture);
        Assert.False(ple.TaskParametersAreExclusive);
        var keys = ple.state_dict().Keys.ToList();
        // layers [1, 3) in two runs: level 0 = layer 1, level 1 = layer 2; one shared gate, below the last level
        Assert.Contains("shared.levels.0.experts.1.layers.1.dense.weight", keys);
        Assert.Contains("shared.levels.1.experts.0.layers.2.dense.weight", keys);
        Assert.Contains("shared.levels.0.gate.linear.weight", keys);
        Assert.DoesNotContain("shared.levels.1.gate.linear.weight", keys);
        Assert.Contains("tasks.cls.levels.1.experts.0.layers.2.dense.weight", keys);
        Assert.Contains("tasks.reg.levels.0.gate.linear.weight", keys);

        // the lower task experts of one task feed the shared gate, so the other task's loss reaches them
        var x = TrunkInput.FromFeatures(randn(4, 4));
        var y = ple.Forward(new Dictionary<string, TrunkInput> { ["reg"] = x });
        y["reg"].sum().backward();
        Assert.True(ple.state_dict()["tasks.cls.levels.0.experts.0.layers.1.dense.weight"].grad!.abs().sum().item<float>() > 0);
        Assert.Null(ple.state_dict()["tasks.cls.levels.1.experts.0.layers.2.dense.weight"].grad);

        using var cgc = new PLENetwork(Mlp(5, layers: 3), Heads(8), new PLEOptions(Levels: 1, SharedLayers: 1));
        Assert.Equal("cgc", cgc.Architecture);
        Assert.True(cgc.TaskParametersAreExclusive);
        cgc.Forward(new Dictionary<string, TrunkInput> { ["reg"] = x })["reg"].sum().backward();
        Assert.All(cgc.TaskParameters("cls"), p => Assert.Null(p.grad));
        var mixing = KitViews.Mixing(cgc)!;
        Assert.Equal(["unit", "task reads", "own 0", "shared 0"], mixing.Headers);
        Assert.Contains(mixing.Rows, r => r[0] == "level.0.tasks" && r[1] == "reg" && r[2] != "NaN");
    }

    [Fact]
    public void TaskAttentionStartsFromTheAverageOfAllLayers()
    {
        var trunk = Mlp(6);
        using var model = new TaskAttentionNetwork(trunk, Heads(8));
        model.eval();
        var x = TrunkInput.FromFeatures(randn(3, 4));
        var states = new List<Tensor>();
        var s = trunk.Stem.call(x); states.Add(s.Hidden);
        foreach (var layer in trunk.Layers) { s = layer.call(s); states.Add(s.Hidden); }
        var average = stack(states.ToArray()).mean(new long[] { 0 });
        Assert.True(model.forward(x)["reg"].allclose(model.Head("reg").call(average), rtol: 1e-5, atol: 1e-6));
        Assert.All(model.LearnedMixing().Single().Weights.data<double>().ToArray(), w => Assert.Equal(1.0 / 3, w, 6));
        var mixing = KitViews.Mixing(model)!;
        Assert.Equal(["unit", "task reads", "stem", "layer 0", "layer 1"], mixing.Headers);
    }

    public static TheoryData<string> Plans => new() { "mmoe", "cgc", "ple", "task_attention" };

    [Theory, MemberData(nameof(Plans))]
    public void OnTheBertTrunkTokenStatesAreMixedAndEveryParameterGroupTrains(string plan)
    {
        manual_seed(12);
        var trunk = new BertTrunk(new BertModel(BertConfig.Tiny));
        var heads = new List<KeyValuePair<string, TaskHead>> { new("imdb", new ClassificationHead(32, 2)), new("tweets", new RegressionHead(32)) };
        using var model = ArchitectureCatalog.Build(new SharingConfig { Plan = plan, SharedLayers = plan == "ple" ? 0 : 1, Experts = 2, PleLevels = 2 }, trunk, heads);
        Assert.Equal(plan, model.Architecture);
        var g = new Generator(3);
        var mask = ones(new long[] { 3, 7 }, dtype: ScalarType.Int64);
        mask[0, 6] = 0;
        var inputs = new Dictionary<string, TrunkInput>
        {
            ["imdb"] = TrunkInput.FromTokens(randint(1, 99, new long[] { 3, 7 }, generator: g), mask),
            ["tweets"] = TrunkInput.FromTokens(randint(1, 99, new long[] { 2, 5 }, generator: g), ones(new long[] { 2, 5 }, dtype: ScalarType.Int64)),
        };
        var targets = new Dictionary<string, Tensor> { ["imdb"] = tensor(new long[] { 0, 1, 1 }), ["tweets"] = tensor(new float[] { 0.5f, -1f }) };
        var diag = MultiTaskStep.Backward(model, model.Losses(model.Forward(inputs), targets), new EqualWeighting(model.Tasks), new PCGrad());
        Assert.NotNull(diag.Cosines);
        Assert.Contains(model.SharedParameters(), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);
        foreach (var t in model.Tasks)
            Assert.Contains(model.TaskParameters(t), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);
        Assert.All(model.LearnedMixing(), m => Assert.DoesNotContain(double.NaN, m.Weights.to_type(ScalarType.Float64).data<double>().ToArray()));
    }

    [Theory, MemberData(nameof(Plans))]
    public void CheckpointsRoundTripWithTheGates(string plan)
    {
        MultiTaskNetwork Make(long seed) => ArchitectureCatalog.Build(new SharingConfig { Plan = plan, SharedLayers = 0, Experts = 3 }, Mlp(seed, layers: 2), Heads(8));
        using var model = Make(20);
        var dir = Directory.CreateTempSubdirectory("mtk-soft-sharing").FullName;
        Checkpoint.SaveBest(dir, model, step: 1, score: 0.5);
        using var other = Make(21);
        var x = TrunkInput.FromFeatures(randn(5, 4));
        Assert.False(other.forward(x)["reg"].allclose(model.forward(x)["reg"]));
        Checkpoint.LoadWeights(other, Path.Combine(dir, Checkpoint.BestFolder, Checkpoint.WeightsFile));
        Assert.True(other.forward(x)["reg"].allclose(model.forward(x)["reg"]));
        Assert.True(other.forward(x)["cls"].allclose(model.forward(x)["cls"]));
        foreach (var ((name, a), (_, b)) in model.LearnedMixing().Zip(other.LearnedMixing()))
            Assert.True(a.allclose(b), $"{plan}: {name} differs after loading");
        var summary = KitViews.ModelSummary(other);
        Assert.Contains(summary.Rows, r => r[0].StartsWith("total (shared)"));
        Assert.Contains(summary.Rows, r => r[0].StartsWith("tasks.cls.") && r[1] == "task cls");
    }
}
