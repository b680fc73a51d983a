using MultiTaskKit.Export;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using static MultiTaskKit.Tests.Export.OnnxParityTests;

namespace MultiTaskKit.Tests.Export;

/// <summary>
/// Each task kind of the kit through the ONNX export, on the tiny BERT of <see cref="OnnxParityTests"/> (3 layers,
/// perturbed weights): a sentence-pair classification and a pair regression (segment ids 0 then 1, fed as
/// <c>token_type_ids</c>), multi-label, token classification (per-token tag probabilities, [batch, sequence, tags]) and a
/// task reading an earlier layer (<c>depth</c>), in one model under hard, split@1, split@2 and isolated sharing. ONNX
/// Runtime's outputs equal the kit's to 1e-4 (max abs) on batches with padded rows, at two batch and sequence sizes
/// through one session.
/// </summary>
public class OnnxTaskKindParityTests
{
    public OnnxTaskKindParityTests() => TorchRuntime.EnsureInitialized();

    /// <summary>entail (pair classification, top), relate (pair regression, top), topics (multi-label, top), ner (token
    /// classification, depth 2), early (classification, depth 1); <paramref name="depths"/> replaces those depths (empty:
    /// every task at the top).</summary>
    internal static MultiTaskModel Build(string sharing, BertPooling pooling, long seed = 11, IReadOnlyDictionary<string, int>? depths = null)
    {
        manual_seed(seed);
        var trunk = new BertTrunk(new BertModel(BertConfig.Tiny with { NumHiddenLayers = 3, HiddenDropoutProb = 0.1, AttentionProbsDropoutProb = 0.1 },
            addPoolingLayer: pooling == BertPooling.Pooler), pooling);
        long width = trunk.OutputSize;
        List<KeyValuePair<string, TaskHead>> heads =
        [
            new("entail", new ClassificationHead(width, 3, new ClassificationHeadOptions(Dropout: 0.1))),
            new("relate", new RegressionHead(width, 1, 0.1)),
            new("topics", new MultiLabelHead(width, 4, dropoutRate: 0.1)),
            new("ner", new TokenClassificationHead(width, 5, 0.1)),
            new("early", new ClassificationHead(width, 2, new ClassificationHeadOptions(Dropout: 0.1))),
        ];
        var plan = sharing switch
        {
            "hard" => SharingPlan.Hard,
            "split@1" => SharingPlan.SplitAt(1),
            "split@2" => SharingPlan.SplitAt(2),
            "isolated" => SharingPlan.Isolated,
            _ => throw new ArgumentException(sharing),
        };
        var model = new MultiTaskModel(trunk, heads, plan, depths ?? new Dictionary<string, int> { ["ner"] = 2, ["early"] = 1 });
        using (no_grad())
        {
            var g = new Generator((ulong)seed + 1);
            foreach (var p in model.parameters()) p.add_(randn(p.shape, generator: g) * 0.2);
        }
        model.eval();
        return model;
    }

    /// <summary>Segment ids of pairs: 0 for the first half of each row's real tokens, 1 for the rest, 0 on padding.</summary>
    static long[] PairTypes(long[] mask, int rows, int tokens)
    {
        var types = new long[rows * tokens];
        for (int r = 0; r < rows; r++)
        {
            int length = (int)mask.Skip(r * tokens).Take(tokens).Sum();
            for (int c = length / 2; c < length; c++) types[r * tokens + c] = 1;
        }
        return types;
    }

    [Theory]
    [InlineData("hard", BertPooling.Mean)]
    [InlineData("hard", BertPooling.Pooler)]
    [InlineData("split@1", BertPooling.Mean)]
    [InlineData("split@2", BertPooling.Cls)]
    [InlineData("isolated", BertPooling.Mean)]
    public void PairsMultiLabelTokensAndDepthComputeWhatTheKitComputes(string sharing, BertPooling pooling)
    {
        using var model = Build(sharing, pooling);
        var export = OnnxExporter.Export(model, new OnnxExportOptions(TokenTypeIds: true));
        Assert.Equal([OnnxOutputKind.Probabilities, OnnxOutputKind.Value, OnnxOutputKind.LabelProbabilities, OnnxOutputKind.TokenProbabilities, OnnxOutputKind.Probabilities],
            export.Outputs.Select(o => o.Kind));
        using var session = Session(export);
        Assert.Equal([OnnxExporter.InputIds, OnnxExporter.AttentionMask, OnnxExporter.TokenTypeIds], session.InputMetadata.Keys);
        foreach (var (rows, tokens, seed) in new[] { (3, 9, 1), (5, 17, 2) })
        {
            var (ids, mask) = Batch(rows, tokens, seed);
            var types = PairTypes(mask, rows, tokens);
            var kit = KitOutputs(model, ids, mask, rows, tokens, types);
            var ort = OrtOutputs(session, ids, mask, rows, tokens, types);
            Assert.Equal(rows * tokens * 5, ort["ner"].Length);
            Assert.Equal(rows, ort["relate"].Length);
            Assert.Equal(rows * 2, ort["early"].Length);
            var diff = MaxAbsDifference(kit, ort);
            Assert.True(diff <= Tolerance, $"{sharing} ({pooling}), batch {rows}x{tokens}: max abs difference {diff:E2} > {Tolerance:E0}");
        }
    }

    [Fact]
    public void TheDepthTaskReadsItsLayerAndTheSegmentIdsMatter()
    {
        // a wrong branch point must show: the depth-1 task's graph output differs from the same head read at the top
        using var model = Build("hard", BertPooling.Mean);
        using var session = Session(OnnxExporter.Export(model, new OnnxExportOptions(TokenTypeIds: true)));
        var (ids, mask) = Batch(4, 11, 3);
        var types = PairTypes(mask, 4, 11);
        var ort = OrtOutputs(session, ids, mask, 4, 11, types);
        float[] early;
        using (NewDisposeScope())
        using (no_grad())
        {
            // under hard sharing RunShared is stem, every layer and the shared pool: the top layer, pooled
            var pooled = model.RunShared(TrunkInput.FromTokens(tensor(ids, new long[] { 4, 11 }), tensor(mask, new long[] { 4, 11 }), tensor(types, new long[] { 4, 11 }))).Hidden;
            early = nn.functional.softmax(model.Head("early").call(pooled), -1).data<float>().ToArray();
        }
        double atTop = ort["early"].Zip(early).Max(x => Math.Abs(x.First - x.Second));
        Assert.True(atTop > 1e-3, $"the depth-1 output equals the head read at the top layer (max diff {atTop:E2})");
        var zeros = OrtOutputs(session, ids, mask, 4, 11, new long[ids.Length]);
        Assert.True(MaxAbsDifference(zeros, ort) > 1e-3, "token_type_ids changed nothing");
    }

    [Fact]
    public void ThePairInputOfATokenMlpModelIsDeclaredAndUnused()
    {
        // the token mlp averages the ids' embeddings and reads no segment ids, in the kit and in the graph alike
        using var model = OnnxParityTests.Build("split@1", "mlp");
        using var session = Session(OnnxExporter.Export(model, new OnnxExportOptions(TokenTypeIds: true)));
        Assert.Contains(OnnxExporter.TokenTypeIds, session.InputMetadata.Keys);
        var (ids, mask) = Batch(3, 8, 6);
        var types = PairTypes(mask, 3, 8);
        var diff = MaxAbsDifference(KitOutputs(model, ids, mask, 3, 8, types), OrtOutputs(session, ids, mask, 3, 8, types));
        Assert.True(diff <= Tolerance, $"mlp with token types: max abs difference {diff:E2}");
    }

    [Fact]
    public void ATokenTaskOnTheTokenMlpIsRefusedInOneLine()
    {
        manual_seed(3);
        var trunk = new MlpTrunk(MlpTrunkOptions.ForTokens(99, hiddenSize: 16, layers: 2));
        using var model = new MultiTaskModel(trunk, [new("ner", new TokenClassificationHead(trunk.OutputSize, 3))], SharingPlan.Hard);
        var e = Assert.Throws<ExportRefusedException>(() => OnnxExporter.Export(model));
        Assert.Contains("task 'ner' reads every token", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
