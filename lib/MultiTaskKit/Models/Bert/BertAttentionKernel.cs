using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Models.Bert;

/// <summary>
/// The attention product softmax(QKᵀ/√d + mask)·V with dropout on the probabilities, chosen per call for speed on CPU:
/// <list type="bullet">
/// <item>without dropout (evaluation, or p = 0): libtorch's fused <c>scaled_dot_product_attention</c>, which on CPU
/// runs a flash-attention kernel and never materialises the [batch, heads, tokens, tokens] probabilities;</item>
/// <item>with dropout on CPU: the explicit chain, QKᵀ, <see cref="SoftmaxDropout"/> (softmax and a
/// <see cref="FastDropout"/> mask kept as bits, one autograd operation) and PV. libtorch's fused entry point falls back
/// to its unfused "math" path as soon as dropout is on, and that path draws its mask with the serial Bernoulli sampler
/// and copies its strided inputs, which costs more than this chain (figures in <c>bench/README.md</c>);</item>
/// <item>elsewhere (CUDA): the fused entry point with dropout.</item>
/// </list>
/// All three compute the same function (up to float rounding); the masks differ from libtorch's own.
/// <para>bfloat16 Q, K and V (mixed precision) take the same routes: the fused kernel accumulates in float32 itself;
/// the explicit chain multiplies in bf16 but masks, normalises and drops in float32 (the scores are cast up, the
/// probabilities back down for PV), because the mask's most negative float overflows to −∞ in bf16 and softmax
/// needs more than bf16's 8-bit significand (see <see cref="Models.MixedPrecision"/>); <see cref="SoftmaxDropout"/>
/// writes its probabilities in bf16 directly. The result has Q's dtype.</para>
/// </summary>
internal static class BertAttentionKernel
{
    /// <param name="q">[batch, heads, tokens, head size].</param>
    /// <param name="k">[batch, heads, tokens, head size].</param>
    /// <param name="v">[batch, heads, tokens, head size].</param>
    /// <param name="keyMask">Boolean [batch, 1, 1, tokens], true where a key may be attended to; null attends everywhere.</param>
    /// <param name="dropout">Dropout probability on the attention probabilities, already 0 outside training.</param>
    /// <param name="kernels">Which of the kit's kernels to use (null: all, <see cref="KernelOptions.Default"/>): without
    /// fast dropout, libtorch's fused entry point with its own dropout; without fused softmax-dropout, the libtorch chain
    /// (softmax, a float <see cref="FastDropout"/> mask, a multiply).</param>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor? keyMask, double dropout, KernelOptions? kernels = null)
    {
        kernels ??= KernelOptions.Default;
        if (dropout == 0 && q.dtype == ScalarType.BFloat16 && q.device_type == DeviceType.CPU && !is_grad_enabled())
            return InferenceBf16(q, k, v, keyMask);
        if (dropout == 0) return nn.functional.scaled_dot_product_attention(q, k, v, keyMask);
        if (!kernels.FastDropout || q.device_type != DeviceType.CPU || q.dtype is not (ScalarType.Float32 or ScalarType.BFloat16))
            return nn.functional.scaled_dot_product_attention(q, k, v, keyMask, dropout);

        using var scope = NewDisposeScope();
        // Scaling Q ([.., tokens, d]) is a quarter of the work of scaling the scores ([.., tokens, tokens]) at d = 32, T = 128.
        using var scale = (1.0 / Math.Sqrt(q.shape[^1])).ToScalar();
        var scores = matmul(q.mul(scale), k.transpose(-1, -2));
        if (scores.dtype != ScalarType.Float32) scores = scores.to(ScalarType.Float32);
        // In place on the product's output: its backward reads only Q and K. The most negative float, not −∞, so that a
        // row with no visible key stays finite (uniform), as in Hugging Face's BERT.
        if (keyMask is not null) scores.masked_fill_(keyMask.logical_not(), Scalars.MostNegativeFloat);
        if (kernels.FusedSoftmaxDropout) return matmul(SoftmaxDropout.Apply(scores, dropout, v.dtype), v).MoveToOuterDisposeScope();
        var probs = softmax(scores, -1);
        using var mask = FastDropout.Mask(probs.shape, dropout);
        return matmul(probs.mul(mask).to(v.dtype), v).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// bf16 attention for inference on the CPU: two bf16 matrix products with the mask and softmax on the bf16 scores in
    /// between. libtorch's CPU softmax reads bf16 and computes in float32 (its exponentials, row maximum and row sum),
    /// and the scores are already rounded to bf16 by the product that makes them, so casting them up to float32 first
    /// (as the training path does, to mask and drop in float32) gains no accuracy here and costs three passes over the
    /// [batch, heads, tokens, tokens] scores. libtorch 2.10's fused CPU attention is slower than this chain at BERT's
    /// head size of 32 (figures in <c>bench/README.md</c>, "Measurements behind choices in the code").
    /// </summary>
    static Tensor InferenceBf16(Tensor q, Tensor k, Tensor v, Tensor? keyMask)
    {
        using var scope = NewDisposeScope();
        using var scale = (1.0 / Math.Sqrt(q.shape[^1])).ToScalar();
        // Q, K and V arrive as strided views of one stacked projection; the products run faster on contiguous operands,
        // and the copies are small beside the scores (the scaling already writes a contiguous Q).
        var scores = matmul(q.mul(scale), k.contiguous().transpose(-1, -2));
        // The most negative finite bf16, not −∞: a row with no visible key stays finite (uniform), as in float32.
        if (keyMask is not null) scores.masked_fill_(keyMask.logical_not(), Scalars.MostNegativeBFloat16);
        return matmul(softmax(scores, -1), v.contiguous()).MoveToOuterDisposeScope();
    }
}
