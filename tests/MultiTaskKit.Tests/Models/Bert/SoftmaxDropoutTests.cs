using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Models.Bert;

[Collection(ProcessStateCollection.Name)]
public class SoftmaxDropoutTests
{

    /// <summary>The chain the kernel replaces: libtorch's softmax times FastDropout's float mask for the same seed.</summary>
    static Tensor Chain(Tensor scores, double p, ulong seed)
    {
        using var mask = FastDropout.Mask(scores.shape, p, seed);
        return softmax(scores, -1).mul(mask);
    }

    [Theory]
    [InlineData(new long[] { 2, 3, 16, 16 }, 0.1)]     // rows of whole 512-bit vectors, one hash chunk
    [InlineData(new long[] { 4, 12, 64, 64 }, 0.1)]    // several hash chunks
    [InlineData(new long[] { 3, 5, 37, 37 }, 0.3)]     // rows that start mid-byte of the bit mask, vector tails
    [InlineData(new long[] { 7, 300, 13 }, 0.5)]       // rows narrower than a vector; n not a multiple of 8
    [InlineData(new long[] { 1, 1, 5 }, 0.9)]          // fewer elements than one vector
    public void ForwardIsTheChainBitForBitAndBackwardAgrees(long[] shape, double p)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(5);
        var scores = (randn(shape) * 3).requires_grad_(true);
        var grad = randn(shape);
        const ulong seed = 2024;

        var fused = SoftmaxDropout.Apply(scores, p, seed);
        fused.backward(new[] { grad });
        var fusedGrad = scores.grad!.clone();
        scores.grad = null;

        var chain = Chain(scores, p, seed);
        chain.backward(new[] { grad });
        var chainGrad = scores.grad!;

        Assert.True(fused.detach().SameAs(chain.detach()), "forward differs from softmax(x) * FastDropout.Mask");
        // Backward sums each row in its own order: equal to float rounding, relative to the gradient's scale.
        double scale = chainGrad.abs().max().item<float>();
        double diff = (fusedGrad - chainGrad).abs().max().item<float>();
        Assert.True(diff <= 1e-6 * Math.Max(1, scale), $"backward differs by {diff:E2} (gradient scale {scale:F2})");
    }

    [Fact]
    public void DrawsItsSeedFromTorchsGeneratorAsTheChainDid()
    {
        using var scope = NewDisposeScope();
        var scores = randn(4, 12, 32, 32);
        torch.manual_seed(17);
        var fused = SoftmaxDropout.Apply(scores, 0.1);
        torch.manual_seed(17);
        using var mask = FastDropout.Mask(scores.shape, 0.1);
        Assert.True(fused.SameAs(softmax(scores, -1).mul(mask)));
        // A second call draws a new seed: a different mask.
        Assert.False(SoftmaxDropout.Apply(scores, 0.1).SameAs(fused));
    }

    [Fact]
    public void AttentionKernelGivesTheSameForwardEitherWay()
    {
        using var scope = NewDisposeScope();
        var q = randn(2, 12, 40, 32);
        var k = randn(2, 12, 40, 32);
        var v = randn(2, 12, 40, 32);
        // The second row has 10 padded keys.
        var keys = stack(new[] { ones(40, dtype: ScalarType.Bool), arange(40).lt(30) }).view(2, 1, 1, 40);
        torch.manual_seed(9);
        var fused = BertAttentionKernel.Attend(q, k, v, keys, 0.1);
        torch.manual_seed(9);
        var chain = BertAttentionKernel.Attend(q, k, v, keys, 0.1, KernelOptions.Default with { FusedSoftmaxDropout = false });
        Assert.True(fused.SameAs(chain));
    }

    [Fact]
    public void RefusesWhatItCannotRead()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => SoftmaxDropout.Apply(randn(4, 4).to(ScalarType.Float64), 0.1, 1));
        Assert.Contains("Float64", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxDropout.Apply(randn(4, 4), 1.0, 1));
        Assert.Throws<ArgumentException>(() => SoftmaxDropout.Apply(tensor(1f), 0.1, 1));
    }

    [Theory]
    [InlineData(new long[] { 4, 12, 64, 64 }, 0.1)]  // several hash chunks, whole vectors
    [InlineData(new long[] { 3, 5, 37, 37 }, 0.3)]   // vector tails, rows that start mid-byte of the bit mask
    public void Bf16OutputIsTheFloat32OutputRoundedAndBackwardTakesABf16Gradient(long[] shape, double p)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(9);
        var scores = (randn(shape) * 3).requires_grad_(true);
        var grad = randn(shape).to(ScalarType.BFloat16);
        const ulong seed = 77;

        var mixed = SoftmaxDropout.Apply(scores, p, seed, ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, mixed.dtype);
        mixed.backward(new[] { grad });
        var mixedGrad = scores.grad!.clone();
        scores.grad = null;

        // The float32 kernel, then libtorch's cast (round to nearest even); its gradient, given the same gradient widened.
        var full = SoftmaxDropout.Apply(scores, p, seed);
        full.backward(new[] { grad.to(ScalarType.Float32) });
        Assert.True(mixed.detach().SameAs(full.detach().to(ScalarType.BFloat16)), "bf16 output differs from the float32 output cast by libtorch");
        Assert.Equal(ScalarType.Float32, mixedGrad.dtype);
        Assert.True(mixedGrad.SameAs(scores.grad!), "backward from a bf16 gradient differs from backward from the same gradient in float32");
    }
}
