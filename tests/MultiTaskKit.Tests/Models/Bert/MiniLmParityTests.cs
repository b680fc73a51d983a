using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Text;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace MultiTaskKit.Tests.Models.Bert;

/// <summary>The kit's MiniLM against ONNX Runtime running the packaged model.onnx on the same token ids.</summary>
[Collection(ProcessStateCollection.Name)]
public class MiniLmParityTests(ITestOutputHelper output)
{
    [Fact]
    public void EmbeddedMiniLmConvertsIntoACompleteHuggingFaceFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "mtk-minilm-" + Guid.NewGuid().ToString("N"));
        try
        {
            EmbeddedMiniLm.Convert(folder);
            var config = BertConfig.Load(Path.Combine(folder, "config.json"));
            Assert.Equal(BertConfig.MiniLmL6, config);
            Assert.Equal(30522, File.ReadLines(Path.Combine(folder, "vocab.txt")).Count());
            using var dict = new DisposableDict(BertCheckpoint.ReadSafetensors(Path.Combine(folder, "model.safetensors")));
            // 5 embedding tensors, 16 per layer, the pooler's 2.
            Assert.Equal(5 + 16 * 6 + 2, dict.Value.Count);
            Assert.Equal(new long[] { 1536, 384 }, dict.Value["encoder.layer.3.intermediate.dense.weight"].shape);
            Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(folder)!, Path.GetFileName(folder) + ".tmp-*"));
        }
        finally { if (Directory.Exists(folder)) Directory.Delete(folder, true); }
    }

    sealed class DisposableDict(Dictionary<string, Tensor> value) : IDisposable
    {
        public Dictionary<string, Tensor> Value => value;
        public void Dispose() { foreach (var t in value.Values) t.Dispose(); }
    }

    [SkippableFact]
    public void KitMiniLmMatchesOnnxRuntimeOnRealSentences()
    {
        var texts = RealSentences.Texts;
        Skip.If(texts is null, $"Parity test skipped: {RealSentences.MissingReason}.");
        Assert.True(texts!.Count >= 200, $"expected at least 200 sentences, found {texts.Count}");
        using var pretrained = PretrainedBert.Load("minilm");
        var tokenizer = pretrained.Tokenizer;
        byte[] onnx;
        using (var s = EmbeddedMiniLm.OpenOnnx()) { onnx = new byte[s.Length]; s.ReadExactly(onnx); }
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        using var session = new InferenceSession(onnx, options);

        double maxDiff = 0, minCosine = 1;
        int rows = 0;
        // Sorted by length so batches carry little padding; 128 tokens, head and tail kept for long reviews.
        var encoded = texts.Select(t => tokenizer.Encode(t, 128, Truncation.HeadAndTail)).OrderBy(ids => ids.Length).ToList();
        foreach (var chunk in encoded.Chunk(16))
        {
            var batch = TokenBatch.Pad(chunk, null, tokenizer.PadId);
            using var scope = NewDisposeScope();
            var (ids, mask) = batch.ToTensors(CPU);
            BertModelOutput kit;
            using (no_grad()) kit = pretrained.Model.forward(ids, mask);
            var dims = new[] { batch.BatchSize, batch.Length };
            using var result = session.Run(new[]
            {
                NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(batch.InputIds, dims)),
                NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(batch.AttentionMask, dims)),
                NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[batch.InputIds.Length], dims)),
            });
            var ortHidden = tensor(result.First(r => r.Name == "last_hidden_state").AsTensor<float>().ToArray(), new long[] { batch.BatchSize, batch.Length, 384 });
            // Compare real tokens only: padded positions carry no meaning in either runtime.
            var real = mask.unsqueeze(-1).to(ScalarType.Bool);
            maxDiff = Math.Max(maxDiff, (kit.LastHiddenState - ortHidden).abs().masked_select(real).max().item<float>());
            var ortMean = MeanPooling.Pool(ortHidden, mask);
            var cosine = nn.functional.cosine_similarity(kit.MeanPooled.to(float64), ortMean.to(float64), 1);
            minCosine = Math.Min(minCosine, cosine.min().item<double>());
            rows += batch.BatchSize;
        }
        output.WriteLine($"{rows} sentences: last_hidden_state max |kit - ORT| = {maxDiff:E3}, min mean-pool cosine = {minCosine:F9}");
        Assert.Equal(texts.Count, rows);
        Assert.True(maxDiff <= 1e-4, $"last_hidden_state differs by {maxDiff:E3} (> 1e-4)");
        Assert.True(minCosine >= 0.99999, $"mean-pooled cosine {minCosine:F9} < 0.99999");
    }
}
