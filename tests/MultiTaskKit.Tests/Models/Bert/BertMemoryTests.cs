using MultiTaskKit.Models;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Models.Bert;

[Collection(ProcessStateCollection.Name)]
public class BertMemoryTests
{

    [Fact]
    public void EncodingTwoThousandBatchesLeavesTheLiveTensorCountFlat()
    {
        manual_seed(11);
        using var model = new BertModel(BertConfig.Tiny);
        model.eval();
        var vocab = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]" }.Concat(Enumerable.Range(0, 95).Select(i => $"w{i}"));
        var tokenizer = BertTokenizer.FromVocab(new StringReader(string.Join('\n', vocab)), "tiny vocab");
        tokenizer.ModelMaxLength = 64;
        var texts = new[] { "w1 w2 w3", "w4 w5", "w6 w7 w8 w9 w10 w11" };
        var trunk = new BertTrunk(model);

        void Encode(int i)
        {
            // One scope per batch, as the training and evaluation loops use.
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var input = tokenizer.EncodeBatch(texts.Skip(i % 3).ToArray()).ToTrunkInput(CPU);
            var state = trunk.Stem.call(input);
            foreach (var layer in trunk.Layers) state = layer.call(state);
            trunk.Pool.call(state);
            model.forward(input);
        }

        for (int i = 0; i < 10; i++) Encode(i); // warm-up: lazily created tensors
        var stats = DisposeScopeManager.Statistics;
        long start = stats.ThreadTotalLiveCount;
        long mid = 0;
        for (int i = 0; i < 2000; i++)
        {
            Encode(i);
            if (i == 99) mid = stats.ThreadTotalLiveCount;
        }
        long end = stats.ThreadTotalLiveCount;
        Assert.True(end == start && mid == start, $"live tensors: {start} before, {mid} after 100 batches, {end} after 2,000");
    }
}
