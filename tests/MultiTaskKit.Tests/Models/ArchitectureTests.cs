using System.Globalization;
using MultiTaskKit.Models;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Weighting;
using TorchSharp;
using static TorchSharp.torch;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Tests.Models;

/// <summary>The <see cref="MultiTaskNetwork"/> contract, checked on every implementation.</summary>
[Collection(ProcessStateCollection.Name)]
public class ArchitectureTests
{

    static readonly string[] AllArchitectures = ["hard", "split@1", "isolated", "cross_stitch", "mmoe", "cgc", "ple", "task_attention"];

    public static TheoryData<string> Architectures => new(AllArchitectures);

    /// <summary>The architectures in which every task reads one shared representation (the ones rep-grad can run on);
    /// <see cref="TheArchitecturesWithASharedRepresentationAreTheListedOnes"/> holds the list against the models.</summary>
    static readonly string[] WithOneRepresentation = ["hard", "split@1", "mmoe", "task_attention"];

    public static TheoryData<string> SharingOneRepresentation => new(WithOneRepresentation);
    public static TheoryData<string> WithoutOneRepresentation => new(AllArchitectures.Except(WithOneRepresentation));

    internal static MultiTaskNetwork Build(string architecture, long seed = 1, int tasks = 2)
    {
        manual_seed(seed);
        var trunk = new MlpTrunk(new MlpTrunkOptions(InputSize: 4, HiddenSize: 8, Layers: 2));
        var heads = new List<KeyValuePair<string, TaskHead>>
        {
            new("cls", new ClassificationHead(8, 3)),
            new("reg", new RegressionHead(8)),
            new("third", new RegressionHead(8)),
        }.Take(tasks).ToList();
        return architecture switch
        {
            "cross_stitch" => new CrossStitchNetwork(trunk, heads),
            "mmoe" => new MMoENetwork(trunk, heads, new MMoEOptions(Experts: 3, SharedLayers: 1)),
            "cgc" => new PLENetwork(trunk, heads, new PLEOptions(Levels: 1, SharedExperts: 2, TaskExperts: 1, SharedLayers: 1)),
            "ple" => new PLENetwork(trunk, heads, new PLEOptions(Levels: 2, SharedExperts: 1, TaskExperts: 2, SharedLayers: 0)),
            "task_attention" => new TaskAttentionNetwork(trunk, heads),
            _ => new MultiTaskModel(trunk, heads, SharingPlan.Parse(architecture)),
        };
    }

    [Theory, MemberData(nameof(Architectures))]
    public void MapsEachTasksInputToItsPrediction(string architecture)
    {
        using var model = Build(architecture);
        Assert.Equal(architecture, model.Architecture);
        var shared = model.forward(TrunkInput.FromFeatures(randn(5, 4)));
        Assert.Equal(new long[] { 5, 3 }, shared["cls"].shape);
        Assert.Equal(new long[] { 5 }, shared["reg"].shape);

        var a = TrunkInput.FromFeatures(randn(3, 4));
        var b = TrunkInput.FromFeatures(randn(7, 4));
        var perTask = model.Forward(new Dictionary<string, TrunkInput> { ["cls"] = a, ["reg"] = b });
        Assert.Equal(new long[] { 3, 3 }, perTask["cls"].shape);
        Assert.Equal(new long[] { 7 }, perTask["reg"].shape);
        // a task's prediction depends only on its own batch, whatever the other task reads
        Assert.True(perTask["reg"].allclose(model.forward(b)["reg"], rtol: 1e-5, atol: 1e-6));
        Assert.True(perTask["cls"].allclose(model.forward(a)["cls"], rtol: 1e-5, atol: 1e-6));
        Assert.False(model.Forward(new Dictionary<string, TrunkInput> { ["reg"] = b }).ContainsKey("cls"));
        Assert.Contains("nope", Assert.Throws<ArgumentException>(() => model.Forward(new Dictionary<string, TrunkInput> { ["nope"] = b })).Message);
    }

    [Theory, MemberData(nameof(Architectures))]
    public void SharedAndTaskParametersPartitionTheNetwork(string architecture)
    {
        using var model = Build(architecture, tasks: 3);
        model.AttachStrategy(new UncertaintyWeighting(model.Tasks));
        var groups = new List<List<TorchSharp.Modules.Parameter>> { model.SharedParameters().ToList(), model.StrategyParameters().ToList() };
        groups.AddRange(model.Tasks.Select(t => model.TaskParameters(t).ToList()));
        var seen = new HashSet<TorchSharp.Modules.Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var p in groups.SelectMany(g => g)) Assert.True(seen.Add(p), $"{architecture}: a parameter is in two groups");
        var all = model.parameters().ToList();
        Assert.Equal(all.Count, seen.Count);
        Assert.All(all, p => Assert.Contains(p, seen));
        Assert.Equal(model.SharedParameters().Count() + model.Tasks.Sum(t => model.TaskParameters(t).Count()), model.ModelParameters().Count());
        Assert.Equal(architecture != "isolated", model.SharedParameters().Any());
        // each task owns its head
        foreach (var t in model.Tasks) Assert.All(model.Head(t).parameters(), p => Assert.Contains(p, model.TaskParameters(t)));
    }

    [Fact]
    public void TheArchitecturesWithASharedRepresentationAreTheListedOnes()
    {
        var found = AllArchitectures.Where(a => { using var m = Build(a); return m.HasSharedRepresentation; });
        Assert.Equal(WithOneRepresentation.Order(), found.Order());
    }

    [Theory, MemberData(nameof(SharingOneRepresentation))]
    public void RepresentationGradientsWhereEveryTaskReadsOneRepresentation(string architecture)
    {
        using var model = Build(architecture);
        var output = model.Forward(TrunkInput.FromFeatures(randn(3, 4)), representationGradients: true);
        var representation = Assert.IsType<SharedRepresentation>(output.Representation);
        // one detached leaf per task, each asking for its own gradient
        Assert.Equal(model.Tasks.Order(), representation.TaskLeaves.Keys.Order());
        Assert.All(representation.TaskLeaves, kv => Assert.True(kv.Value.requires_grad, $"{architecture}: task {kv.Key}'s leaf asks no gradient"));
    }

    [Theory, MemberData(nameof(WithoutOneRepresentation))]
    public void NoRepresentationGradientsWhereTasksReadDifferentRepresentations(string architecture)
    {
        using var model = Build(architecture);
        var x = TrunkInput.FromFeatures(randn(3, 4));
        var ex = Assert.Throws<InvalidOperationException>(() => model.Forward(x, representationGradients: true));
        Assert.Contains($"the {architecture} architecture has no single shared representation", ex.Message);
        var losses = model.Losses(model.forward(x), new Dictionary<string, Tensor> { ["cls"] = tensor(new long[] { 0, 1, 2 }), ["reg"] = randn(3) });
        var step = Assert.Throws<ArgumentException>(() => MultiTaskStep.Backward(model, losses, new EqualWeighting(model.Tasks), null,
            new StepOptions { Gradients = GradientMode.Representation }));
        Assert.Contains("no single shared representation", step.Message);
    }

    /// <summary>Rep-grad with equal weights must give every parameter the gradient of the plain backward of the loss sum:
    /// the representation has to carry every path from the tasks into the shared parameters (MMoE: the gate's input too).</summary>
    [Theory, MemberData(nameof(SharingOneRepresentation))]
    public void RepresentationGradientsWithEqualWeightsMatchThePlainBackward(string architecture)
    {
        using var model = Build(architecture, seed: 4);
        var x = TrunkInput.FromFeatures(randn(6, 4, generator: new Generator(9)));
        var targets = new Dictionary<string, Tensor> { ["cls"] = tensor(new long[] { 0, 1, 2, 0, 1, 2 }), ["reg"] = linspace(-1, 1, 6) };
        model.eval();
        model.zero_grad();
        var plain = model.Losses(model.forward(x), targets);
        (plain["cls"] + plain["reg"]).backward();
        var expected = model.parameters().Select(p => p.grad?.clone()).ToList();
        model.zero_grad();
        var output = model.Forward(x, representationGradients: true);
        MultiTaskStep.Backward(model, model.Losses(output, targets), new EqualWeighting(model.Tasks), null,
            new StepOptions { Gradients = GradientMode.Representation, Representation = output.Representation });
        foreach (var ((name, p), e) in model.named_parameters().Zip(expected))
        {
            Assert.True(e is not null && p.grad is not null, $"{architecture}: {name} got no gradient");
            Assert.True(p.grad!.allclose(e!, rtol: 1e-4, atol: 1e-6), $"{architecture}: {name} differs between rep-grad and the plain backward");
        }
    }

    /// <summary>
    /// Hard, split and isolated after the interface change against values recorded from the code before it (commit 3dd596f,
    /// the same construction, seed and input): the same outputs to the last bit and the same checkpoint keys.
    /// </summary>
    [Fact]
    public void HardSplitAndIsolatedAreUnchangedAgainstTheRecordedOutputsAndKeys()
    {
        string[] cls = ["0.218525692820549", "-0.34466099739074707", "0.33165520429611206", "0.21758243441581726", "-0.3457017242908478", "0.3331244885921478", "0.19823257625102997", "-0.3670506477355957", "0.36326566338539124"];
        string[] reg = ["0.010769831016659737", "0.008922550827264786", "-0.02897261269390583"];
        var keys = new Dictionary<string, string>
        {
            ["hard"] = "shared.stem.dense.weight,shared.stem.dense.bias,shared.layers.0.dense.weight,shared.layers.0.dense.bias,shared.layers.1.dense.weight,shared.layers.1.dense.bias,tasks.cls.head.classifier.weight,tasks.cls.head.classifier.bias,tasks.reg.head.regressor.weight,tasks.reg.head.regressor.bias,tasks.cls.<Head>k__BackingField.classifier.weight,tasks.cls.<Head>k__BackingField.classifier.bias,tasks.reg.<Head>k__BackingField.regressor.weight,tasks.reg.<Head>k__BackingField.regressor.bias",
            ["split@1"] = "shared.stem.dense.weight,shared.stem.dense.bias,shared.layers.0.dense.weight,shared.layers.0.dense.bias,tasks.cls.layers.1.dense.weight,tasks.cls.layers.1.dense.bias,tasks.cls.head.classifier.weight,tasks.cls.head.classifier.bias,tasks.reg.layers.1.dense.weight,tasks.reg.layers.1.dense.bias,tasks.reg.head.regressor.weight,tasks.reg.head.regressor.bias,tasks.cls.layerFolder.1.dense.weight,tasks.cls.layerFolder.1.dense.bias,tasks.cls.<Head>k__BackingField.classifier.weight,tasks.cls.<Head>k__BackingField.classifier.bias,tasks.reg.layerFolder.1.dense.weight,tasks.reg.layerFolder.1.dense.bias,tasks.reg.<Head>k__BackingField.regressor.weight,tasks.reg.<Head>k__BackingField.regressor.bias",
            ["isolated"] = "tasks.cls.stem.dense.weight,tasks.cls.stem.dense.bias,tasks.cls.layers.0.dense.weight,tasks.cls.layers.0.dense.bias,tasks.cls.layers.1.dense.weight,tasks.cls.layers.1.dense.bias,tasks.cls.head.classifier.weight,tasks.cls.head.classifier.bias,tasks.reg.stem.dense.weight,tasks.reg.stem.dense.bias,tasks.reg.layers.0.dense.weight,tasks.reg.layers.0.dense.bias,tasks.reg.layers.1.dense.weight,tasks.reg.layers.1.dense.bias,tasks.reg.head.regressor.weight,tasks.reg.head.regressor.bias,tasks.cls.layerFolder.0.dense.weight,tasks.cls.layerFolder.0.dense.bias,tasks.cls.layerFolder.1.dense.weight,tasks.cls.layerFolder.1.dense.bias,tasks.cls.<Head>k__BackingField.classifier.weight,tasks.cls.<Head>k__BackingField.classifier.bias,tasks.reg.layerFolder.0.dense.weight,tasks.reg.layerFolder.0.dense.bias,tasks.reg.layerFolder.1.dense.weight,tasks.reg.layerFolder.1.dense.bias,tasks.reg.<Head>k__BackingField.regressor.weight,tasks.reg.<Head>k__BackingField.regressor.bias",
        };
        foreach (var plan in new[] { SharingPlan.Hard, SharingPlan.SplitAt(1), SharingPlan.Isolated })
        {
            manual_seed(5);
            var trunk = new MlpTrunk(new MlpTrunkOptions(InputSize: 4, HiddenSize: 8, Layers: 2));
            using var model = new MultiTaskModel(trunk, new Dictionary<string, TaskHead>
            {
                ["cls"] = new ClassificationHead(8, 3, new ClassificationHeadOptions(Dropout: 0)),
                ["reg"] = new RegressionHead(8, 1, 0),
            }, plan);
            model.eval();
            var y = model.forward(TrunkInput.FromFeatures(linspace(-2, 2, 12).reshape(3, 4)));
            Assert.Equal(cls, Values(y["cls"]));
            Assert.Equal(reg, Values(y["reg"]));
            Assert.Equal(keys[plan.ToString()], string.Join(",", model.state_dict().Keys));
        }
    }

    static string[] Values(Tensor t) =>
        t.to_type(ScalarType.Float64).data<double>().ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture)).ToArray();
}
