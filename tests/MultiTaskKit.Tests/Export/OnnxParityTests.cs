using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MultiTaskKit.Export;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Export;

/// <summary>
/// Each architecture on a tiny BERT and on the token MLP, exported to ONNX and run by ONNX Runtime: every task's output
/// equals the kit's to 1e-4 (max abs), on batches with padding, at two batch and sequence sizes through one session.
/// Weights are perturbed away from their initial values first, so that gates, α and layer attention are not at their
/// symmetric starting points (task attention starts with q = 0, b = 0, which a wrong graph could still match).
/// </summary>
public class OnnxParityTests
{
    public OnnxParityTests() => TorchRuntime.EnsureInitialized();

    public const double Tolerance = 1e-4;

    static List<KeyValuePair<string, TaskHead>> Heads(long width) =>
    [
        new("topic", new ClassificationHead(width, 3, new ClassificationHeadOptions(Dropout: 0.1))),
        new("score", new RegressionHead(width, 1, 0.1)),
        new("tags", new MultiLabelHead(width, 4, dropoutRate: 0.1)),
    ];

    static ISplittableTrunk Trunk(string kind, BertPooling pooling = BertPooling.Mean) => kind switch
    {
        "bert" => new BertTrunk(new BertModel(BertConfig.Tiny with { NumHiddenLayers = 3, HiddenDropoutProb = 0.1, AttentionProbsDropoutProb = 0.1 },
            addPoolingLayer: pooling == BertPooling.Pooler), pooling),
        _ => new MlpTrunk(MlpTrunkOptions.ForTokens(99, hiddenSize: 16, layers: 3, dropout: 0.1)),
    };

    public static MultiTaskNetwork Build(string architecture, string trunkKind, BertPooling pooling = BertPooling.Mean, long seed = 7)
    {
        manual_seed(seed);
        var trunk = Trunk(trunkKind, pooling);
        var heads = Heads(trunk.OutputSize);
        MultiTaskNetwork model = architecture switch
        {
            "hard" => new MultiTaskModel(trunk, heads, SharingPlan.Hard),
            "split@1" => new MultiTaskModel(trunk, heads, SharingPlan.SplitAt(1)),
            "isolated" => new MultiTaskModel(trunk, heads, SharingPlan.Isolated),
            "mmoe" => new MMoENetwork(trunk, heads, new MMoEOptions(Experts: 2, SharedLayers: 1)),
            "cgc" => new PLENetwork(trunk, heads, new PLEOptions(Levels: 1, SharedExperts: 1, TaskExperts: 1, SharedLayers: 1)),
            "ple" => new PLENetwork(trunk, heads, new PLEOptions(Levels: 2, SharedExperts: 2, TaskExperts: 1, SharedLayers: 1)),
            "cross_stitch" => new CrossStitchNetwork(trunk, heads),
            "task_attention" => new TaskAttentionNetwork(trunk, heads),
            _ => throw new ArgumentException(architecture),
        };
        using (no_grad())
        {
            var g = new Generator((ulong)seed + 1);
            foreach (var p in model.parameters()) p.add_(randn(p.shape, generator: g) * 0.2);
        }
        model.eval();
        return model;
    }

    /// <summary>Token ids in [1, 99) with [CLS]-like id 2 first, and rows padded (id 0, mask 0) to different lengths.</summary>
    public static (long[] Ids, long[] Mask) Batch(int rows, int tokens, int seed)
    {
        var random = new Random(seed);
        var ids = new long[rows * tokens];
        var mask = new long[rows * tokens];
        for (int r = 0; r < rows; r++)
        {
            int length = r == 0 ? tokens : Math.Max(2, tokens - 1 - random.Next(tokens - 2));   // row 0 full, the others padded
            for (int c = 0; c < length; c++)
            {
                ids[r * tokens + c] = c == 0 ? 2 : random.Next(3, 99);
                mask[r * tokens + c] = 1;
            }
        }
        return (ids, mask);
    }

    /// <summary>The kit's outputs per task, as the exported graph defines them (probabilities, values).</summary>
    public static Dictionary<string, float[]> KitOutputs(MultiTaskNetwork model, long[] ids, long[] mask, int rows, int tokens, long[]? types = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = TrunkInput.FromTokens(tensor(ids, new long[] { rows, tokens }), tensor(mask, new long[] { rows, tokens }),
            types is null ? null : tensor(types, new long[] { rows, tokens }));
        var output = model.forward(input);
        return model.Tasks.ToDictionary(t => t, t =>
        {
            var y = output[t];
            y = model.Head(t).Kind switch
            {
                HeadKind.Classification or HeadKind.TokenClassification => nn.functional.softmax(y, -1),
                HeadKind.MultiLabel => sigmoid(y),
                _ => y,
            };
            return y.to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
        });
    }

    public static Dictionary<string, float[]> OrtOutputs(InferenceSession session, long[] ids, long[] mask, int rows, int tokens, long[]? types = null)
    {
        var shape = new[] { rows, tokens };
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor(OnnxExporter.InputIds, new DenseTensor<long>(ids, shape)),
            NamedOnnxValue.CreateFromTensor(OnnxExporter.AttentionMask, new DenseTensor<long>(mask, shape)),
        };
        if (types is not null) inputs.Add(NamedOnnxValue.CreateFromTensor(OnnxExporter.TokenTypeIds, new DenseTensor<long>(types, shape)));
        using var results = session.Run(inputs);
        return results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
    }

    public static double MaxAbsDifference(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        double worst = 0;
        foreach (var (task, x) in a)
        {
            var y = b[task];
            Assert.True(x.Length == y.Length, $"task '{task}': {x.Length} values from one side, {y.Length} from the other");
            for (int i = 0; i < x.Length; i++)
            {
                Assert.True(float.IsFinite(x[i]) && float.IsFinite(y[i]), $"task '{task}' value {i}: {x[i]} vs {y[i]}");
                worst = Math.Max(worst, Math.Abs(x[i] - y[i]));
            }
        }
        return worst;
    }

    public static InferenceSession Session(OnnxExport export)
    {
        var options = new SessionOptions { IntraOpNumThreads = 1 };
        return new InferenceSession(export.Model.ToByteArray(), options);
    }

    [Theory]
    [InlineData("hard", "bert")]
    [InlineData("split@1", "bert")]
    [InlineData("isolated", "bert")]
    [InlineData("mmoe", "bert")]
    [InlineData("cgc", "bert")]
    [InlineData("ple", "bert")]
    [InlineData("cross_stitch", "bert")]
    [InlineData("task_attention", "bert")]
    [InlineData("hard", "mlp")]
    [InlineData("split@1", "mlp")]
    [InlineData("isolated", "mlp")]
    [InlineData("mmoe", "mlp")]
    [InlineData("cgc", "mlp")]
    [InlineData("ple", "mlp")]
    [InlineData("cross_stitch", "mlp")]
    [InlineData("task_attention", "mlp")]
    public void OnnxRuntimeComputesWhatTheKitComputes(string architecture, string trunk)
    {
        using var model = Build(architecture, trunk);
        var export = OnnxExporter.Export(model);
        Assert.Equal(["topic", "score", "tags"], export.Outputs.Select(o => o.Output));
        using var session = Session(export);
        Assert.Equal([OnnxExporter.InputIds, OnnxExporter.AttentionMask], session.InputMetadata.Keys);
        // two batch and sequence sizes through one session, both with padded rows
        foreach (var (rows, tokens, seed) in new[] { (3, 9, 1), (5, 17, 2) })
        {
            var (ids, mask) = Batch(rows, tokens, seed);
            var kit = KitOutputs(model, ids, mask, rows, tokens);
            var ort = OrtOutputs(session, ids, mask, rows, tokens);
            Assert.Equal(rows * 3, ort["topic"].Length);
            Assert.Equal(rows, ort["score"].Length);
            Assert.Equal(rows * 4, ort["tags"].Length);
            var diff = MaxAbsDifference(kit, ort);
            Assert.True(diff <= Tolerance, $"{architecture} on {trunk}, batch {rows}x{tokens}: max abs difference {diff:E2} > {Tolerance:E0}");
        }
    }

    [Theory]
    [InlineData(BertPooling.Cls)]
    [InlineData(BertPooling.Pooler)]
    public void EachBertPoolingExports(BertPooling pooling)
    {
        using var model = Build("split@1", "bert", pooling);
        using var session = Session(OnnxExporter.Export(model));
        var (ids, mask) = Batch(4, 12, 3);
        var diff = MaxAbsDifference(KitOutputs(model, ids, mask, 4, 12), OrtOutputs(session, ids, mask, 4, 12));
        Assert.True(diff <= Tolerance, $"pooling {pooling}: max abs difference {diff:E2}");
    }

    [Fact]
    public void TokenTypeIdsReachTheEmbeddings()
    {
        using var model = Build("hard", "bert");
        using var session = Session(OnnxExporter.Export(model, new OnnxExportOptions(TokenTypeIds: true)));
        Assert.Contains(OnnxExporter.TokenTypeIds, session.InputMetadata.Keys);
        var (ids, mask) = Batch(3, 10, 4);
        var types = ids.Select((_, i) => (long)(i % 10 >= 5 ? 1 : 0)).ToArray();
        var diff = MaxAbsDifference(KitOutputs(model, ids, mask, 3, 10, types), OrtOutputs(session, ids, mask, 3, 10, types));
        Assert.True(diff <= Tolerance, $"token types: max abs difference {diff:E2}");
        // and they matter: segment 1 changes the outputs
        var zero = OrtOutputs(session, ids, mask, 3, 10, new long[ids.Length]);
        Assert.True(MaxAbsDifference(zero, OrtOutputs(session, ids, mask, 3, 10, types)) > 1e-3);
    }

    [Fact]
    public void ATaskSubsetExportsOnlyItsOutputsAndTheSharedPartOnce()
    {
        using var model = Build("split@1", "bert");
        var all = OnnxExporter.Export(model);
        var one = OnnxExporter.Export(model, new OnnxExportOptions(Tasks: ["score"]));
        Assert.Equal(["score"], one.Outputs.Select(o => o.Task));
        // the shared stem and layer 0 once, then per task two layers and a head: one task's graph holds fewer weights
        var trunkShared = model.SharedParameters().Sum(p => p.numel());
        Assert.True(one.Parameters < all.Parameters && one.Parameters > trunkShared, $"{one.Parameters} vs {all.Parameters}");
        using var session = Session(one);
        var (ids, mask) = Batch(2, 6, 5);
        var kit = KitOutputs(model, ids, mask, 2, 6);
        var ort = OrtOutputs(session, ids, mask, 2, 6);
        Assert.True(MaxAbsDifference(new() { ["score"] = kit["score"] }, ort) <= Tolerance);
    }

    [Fact]
    public void UnexportableModelsAreRefusedInOneLine()
    {
        manual_seed(1);
        var trunk = new BertTrunk(new BertModel(BertConfig.Tiny), BertPooling.Mean);
        using var custom = new MultiTaskModel(trunk, [new("odd", new CustomHead(nn.Linear(32, 2), (p, t) => p.sum()))], SharingPlan.Hard);
        var e = Assert.Throws<ExportRefusedException>(() => OnnxExporter.Export(custom));
        Assert.Contains("task 'odd' has a CustomHead", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        using var features = new MultiTaskModel(new MlpTrunk(new MlpTrunkOptions(InputSize: 4)), [new("a", new RegressionHead(32))], SharingPlan.Hard);
        e = Assert.Throws<ExportRefusedException>(() => OnnxExporter.Export(features));
        Assert.Contains("feature vectors", e.Message);

        using var model = Build("hard", "bert");
        e = Assert.Throws<ExportRefusedException>(() => OnnxExporter.Export(model, new OnnxExportOptions(Tasks: ["nope"])));
        Assert.Equal("--tasks: unknown task 'nope'; the model's tasks are topic, score, tags.", e.Message);
    }
}
