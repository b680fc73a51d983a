using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Models.Bert;

[Collection(ProcessStateCollection.Name)]
public class FastDropoutTests
{

    [Fact]
    public void MaskKeepsOneMinusPScaled()
    {
        using var scope = NewDisposeScope();
        const int n = 1_000_000;
        var mask = FastDropout.Mask(new long[] { n }, 0.1, seed: 12345);
        var values = mask.data<float>().ToArray();
        Assert.All(values.Distinct(), v => Assert.True(v == 0f || Math.Abs(v - 1 / 0.9f) < 1e-6, $"unexpected mask value {v}"));
        double kept = values.Count(v => v != 0) / (double)n;
        // Binomial standard deviation √(0.09/n) = 3e-4: 6σ either side.
        Assert.InRange(kept, 0.9 - 0.0018, 0.9 + 0.0018);
        Assert.InRange(mask.mean().item<float>(), 1 - 0.002, 1 + 0.002); // unbiased: E[mask] = 1
    }

    [Fact]
    public void SameSeedSameMaskAndNeighboursIndependent()
    {
        using var scope = NewDisposeScope();
        var a = FastDropout.Mask(new long[] { 100_003 }, 0.5, seed: 7);
        var b = FastDropout.Mask(new long[] { 100_003 }, 0.5, seed: 7);
        var c = FastDropout.Mask(new long[] { 100_003 }, 0.5, seed: 8);
        Assert.True(a.eq(b).all().item<bool>());
        Assert.False(a.eq(c).all().item<bool>());
        // Adjacent elements come from the two halves of one 64-bit draw: they must not agree more than chance (0.5).
        var x = a.ne(0).to(ScalarType.Float32);
        double agree = x.narrow(0, 0, 100_002).eq(x.narrow(0, 1, 100_002)).to(ScalarType.Float32).mean().item<float>();
        Assert.InRange(agree, 0.49, 0.51);
    }

    [Fact]
    public void FollowsTorchSeedAndTrainingMode()
    {
        using var scope = NewDisposeScope();
        var drop = new FastDropout(0.25);
        var x = ones(64, 64);
        torch.manual_seed(3);
        var first = drop.call(x);
        torch.manual_seed(3);
        var second = drop.call(x);
        Assert.True(first.eq(second).all().item<bool>());
        Assert.True(first.eq(0).any().item<bool>());

        drop.eval();
        Assert.True(drop.call(x).eq(x).all().item<bool>());
        Assert.Throws<ArgumentOutOfRangeException>(() => new FastDropout(1.0));
    }

    [Fact]
    public void GradientFlowsThroughKeptElementsOnly()
    {
        using var scope = NewDisposeScope();
        var x = ones(1000, requires_grad: true);
        var y = FastDropout.Apply(x, 0.3, training: true);
        y.sum().backward();
        Assert.True(x.grad!.eq(y.detach()).all().item<bool>()); // d(x·m)/dx = m, and y = m where x = 1
    }
}

[Collection(ProcessStateCollection.Name)]
public class FastDropoutResidualTests
{

    [Fact]
    public void AddToIsResidualPlusDropout()
    {
        using var scope = NewDisposeScope();
        var x = randn(8, 16, 32);
        var residual = randn(8, 16, 32);
        torch.manual_seed(11);
        var fused = FastDropout.AddTo(x, residual, 0.2, training: true);
        torch.manual_seed(11);
        var separate = FastDropout.Apply(x, 0.2, training: true) + residual;
        Assert.True(fused.allclose(separate, rtol: 1e-6, atol: 1e-6));
        Assert.True(FastDropout.AddTo(x, residual, 0.2, training: false).allclose(x + residual));
    }
}

[Collection(ProcessStateCollection.Name)]
public class FastDropoutHashTests
{

    [Theory]
    [InlineData(1, 0.1)]
    [InlineData(13, 0.5)]
    [InlineData(70_001, 0.1)]   // three chunks, a ragged tail
    [InlineData(32_768, 0.9)]
    public void VectorLoopDrawsTheScalarLoopsMask(long n, double p)
    {
        using var scope = NewDisposeScope();
        var fast = FastDropout.Mask(new long[] { n }, p, seed: 99).data<float>().ToArray();
        Assert.Equal(FastDropout.ReferenceMask(n, p, 99), fast);
    }

    [Fact]
    public void ChunksAndLagsAreUncorrelated()
    {
        using var scope = NewDisposeScope();
        var kept = FastDropout.Mask(new long[] { 200_000 }, 0.5, seed: 3).ne(0).to(ScalarType.Float32);
        // Neighbours, a lag of 8 (one vector), and a whole chunk apart (32,768: chunk keys must differ): chance agreement 0.5.
        foreach (long lag in new long[] { 1, 8, 32_768 })
        {
            double agree = kept.narrow(0, 0, 200_000 - lag).eq(kept.narrow(0, lag, 200_000 - lag)).to(ScalarType.Float32).mean().item<float>();
            Assert.InRange(agree, 0.49, 0.51);
        }
    }
}
