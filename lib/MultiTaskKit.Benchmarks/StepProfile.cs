using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Benchmarks;

/// <summary>One timed part of a step; <see cref="Seconds"/> is a median.</summary>
public sealed record ProfileEntry(string Step, string Part, double Seconds, string Note);

/// <summary>
/// Takes a training step apart: forward with and without dropout, forward without autograd, backward, the optimiser,
/// and the attention products alone (the unfused chain BERT runs, against libtorch's fused
/// <c>scaled_dot_product_attention</c>). Differences of medians, so small parts carry the noise of big ones.
/// </summary>
public static class StepProfile
{
    public static IReadOnlyList<ProfileEntry> Run(BenchStep step, int repeats = 3)
    {
        var rows = new List<ProfileEntry>();
        void Add(string part, double s, string note) => rows.Add(new ProfileEntry(step.Name, part, s, note));

        step.SetTraining(true);
        var fwdTrain = StepTimer.Measure(step.Forward, repeats).Median;
        var fwdBwd = StepTimer.Measure(step.ForwardBackward, repeats).Median;
        var opt = StepTimer.Measure(step.OptimizerStep, repeats).Median;
        var full = StepTimer.Measure(step.Step, repeats).Median;
        step.SetTraining(false);
        var fwdEval = StepTimer.Measure(step.Forward, repeats).Median;
        var fwdNoGrad = StepTimer.Measure(step.ForwardNoGrad, repeats).Median;
        step.SetTraining(true);

        Add("forward (training mode)", fwdTrain, "dropout on, autograd graph built");
        Add("forward (evaluation mode)", fwdEval, "dropout off, autograd graph built");
        Add("dropout", fwdTrain - fwdEval, "forward training minus evaluation: the masks and the multiplies");
        Add("forward (no_grad, evaluation)", fwdNoGrad, "as inference runs");
        Add("backward", fwdBwd - fwdTrain, "forward+backward minus forward");
        Add("forward + backward", fwdBwd, "");
        Add("optimizer (AdamW)", opt, "");
        Add("full step", full, "zero_grad, forward, backward, AdamW");
        foreach (var e in Attention(step.Shape, step.Tasks, repeats)) rows.Add(e with { Step = step.Name });
        return rows;
    }

    /// <summary>
    /// The attention products of all layers at each task's shape, forward plus backward, with dropout on the
    /// probabilities as BERT trains: the explicit chain (QKᵀ, softmax, dropout, PV) with libtorch's dropout and as the
    /// kit's <see cref="Models.Bert.BertAttentionKernel"/> runs it, against the fused kernel, which libtorch only runs
    /// fused on CPU when there is no dropout on the probabilities.
    /// </summary>
    public static IReadOnlyList<ProfileEntry> Attention(TransformerShape shape, IReadOnlyList<BatchShape> tasks, int repeats = 3)
    {
        int d = shape.Hidden / shape.Heads;
        double scale = 1.0 / Math.Sqrt(d);
        double Time(Func<Tensor, Tensor, Tensor, Tensor> attend) => StepTimer.Measure(() =>
        {
            foreach (var t in tasks)
                for (int l = 0; l < shape.Layers; l++)
                {
                    using var scope = NewDisposeScope();
                    var q = randn(new long[] { t.Batch, shape.Heads, t.Tokens, d }, device: TorchRuntime.DefaultDevice, requires_grad: true);
                    var k = randn(new long[] { t.Batch, shape.Heads, t.Tokens, d }, device: TorchRuntime.DefaultDevice, requires_grad: true);
                    var v = randn(new long[] { t.Batch, shape.Heads, t.Tokens, d }, device: TorchRuntime.DefaultDevice, requires_grad: true);
                    attend(q, k, v).sum().backward();
                }
        }, repeats).Median;

        var unfused = Time((q, k, v) =>
            nn.functional.dropout(softmax(matmul(q, k.transpose(-1, -2)) * scale, -1), shape.Dropout, training: true).matmul(v));
        var kit = Time((q, k, v) => Models.Bert.BertAttentionKernel.Attend(q, k, v, null, shape.Dropout));
        var unfusedNoDropout = Time((q, k, v) => softmax(matmul(q, k.transpose(-1, -2)) * scale, -1).matmul(v));
        var fused = Time((q, k, v) => nn.functional.scaled_dot_product_attention(q, k, v));
        var inputs = Time((q, k, v) => q + k + v); // what making the inputs and the sum costs, to subtract
        return
        [
            new("", "attention, unfused with dropout", unfused - inputs, "QKᵀ·softmax·dropout·PV with libtorch's dropout, forward+backward, all layers"),
            new("", "attention, the kit's kernel with dropout", kit - inputs, "BertAttentionKernel: QKᵀ, SoftmaxDropout (mask as bits), PV, as BERT trains"),
            new("", "attention, unfused without dropout", unfusedNoDropout - inputs, "QKᵀ·softmax·PV"),
            new("", "attention, fused SDPA without dropout", fused - inputs, "scaled_dot_product_attention"),
        ];
    }
}
