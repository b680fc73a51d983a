using MultiTaskKit.Runtime;
using MultiTaskKit.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Tests.Optim;

[Collection(ProcessStateCollection.Name)]
public class LeanAdamWTests
{
    static (Sequential Model, Tensor X, Tensor Y) Problem(long seed)
    {
        torch.manual_seed(seed);
        var model = nn.Sequential(("first", nn.Linear(6, 8)), ("gelu", nn.GELU()), ("last", nn.Linear(8, 2)));
        return (model, randn(16, 6), randn(16, 2));
    }

    static IEnumerable<Parameter> Of(Sequential m, string layer) => m.named_parameters().Where(p => p.name.StartsWith(layer)).Select(p => p.parameter);

    static IEnumerable<AdamW.ParamGroup> Groups(Sequential m) =>
    [
        new AdamW.ParamGroup(Of(m, "first"), 3e-3, 0.9, 0.999, 1e-8, 0.01, false, false),
        new AdamW.ParamGroup(Of(m, "last"), 1e-2, 0.8, 0.99, 1e-6, 0.1, false, false),
    ];

    static float[] Train(Sequential model, Tensor x, Tensor y, optim.Optimizer opt, IList<double[]> rates)
    {
        for (int step = 0; step < rates.Count; step++)
        {
            int g = 0;
            foreach (var group in opt.ParamGroups) group.LearningRate = rates[step][g++];
            using var scope = NewDisposeScope();
            model.zero_grad();
            nn.functional.mse_loss(model.call(x), y).backward();
            opt.step();
        }
        using var flat = cat(model.parameters().Select(p => p.detach().flatten()).ToList());
        return flat.data<float>().ToArray();
    }

    [Fact]
    public void MatchesTorchSharpsAdamWBitForBitWithGroupsAndAChangingLearningRate()
    {
        double[][] rates = Enumerable.Range(0, 12).Select(i => new[] { 3e-3 * (1 - i / 24.0), 1e-2 * (1 + i / 12.0) }).ToArray();
        var (a, x, y) = Problem(7);
        var (b, _, _) = Problem(7);
        using var stock = optim.AdamW(Groups(a));
        using var lean = new LeanAdamW(Groups(b), 3e-3);

        var expected = Train(a, x, y, stock, rates);
        var actual = Train(b, x, y, lean, rates);

        Assert.Equal(expected, actual);
        Assert.NotEqual(0f, expected.Zip(Problem(7).Model.parameters().SelectMany(p => p.detach().data<float>().ToArray())).Max(t => Math.Abs(t.First - t.Second)));
    }

    [Fact]
    public void FusedKernelGivesTheSameBitsAsTheOperationByOperationStepAcrossChunks()
    {
        // Sizes that span several chunks with a ragged end, one chunk exactly, and fewer elements than a vector.
        long[][] shapes = [[257, 301], [AdamWKernel.Chunk], [5], [3, 2 * AdamWKernel.Chunk + 7]];
        List<Parameter> Make() { torch.manual_seed(11); return shapes.Select(s => new Parameter(randn(s))).ToList(); }
        var (a, b) = (Make(), Make());
        using var plain = new LeanAdamW(a, lr: 2e-3, weightDecay: 0.05) { Fused = false };
        using var fused = new LeanAdamW(b, lr: 2e-3, weightDecay: 0.05);
        Assert.True(AdamWKernel.Applies(b[0], b[0], b[0], b[0]));
        for (int step = 0; step < 6; step++)
        {
            torch.manual_seed(100 + step);
            for (int i = 0; i < shapes.Length; i++)
            {
                using var g = randn(shapes[i]).mul_(step % 2 == 0 ? 1e-3 : 10.0); // small and large gradients
                a[i].grad = g.clone();
                b[i].grad = g.clone();
            }
            plain.step();
            fused.step();
        }
        var start = Make();
        for (int i = 0; i < shapes.Length; i++)
        {
            var expected = a[i].detach().data<float>().ToArray();
            Assert.Equal(expected, b[i].detach().data<float>().ToArray());
            Assert.False(start[i].detach().allclose(a[i].detach())); // it moved
        }
        foreach (var t in start) t.Dispose();
    }

    [Fact]
    public void FusedKernelLeavesNonContiguousParametersToTheTensorPath()
    {
        using var t = randn(8, 6);
        using var strided = t.t();
        Assert.False(AdamWKernel.Applies(strided, t, t, t));
        using var d = randn(48, dtype: ScalarType.Float64);
        Assert.False(AdamWKernel.Applies(d, d, d, d));
        using var shorter = randn(47);
        var e = Assert.Throws<ArgumentException>(() => AdamWKernel.Step(t, t, t, shorter, AdamWKernel.Coefficients.Of(1e-3, 0, 0.9, 0.999, 1e-8, 1, -1e-3)));
        Assert.Contains("[47]", e.Message);
    }

    [Fact]
    public void RefusesAmsgradByName()
    {
        var (m, _, _) = Problem(1);
        var e = Assert.Throws<ArgumentException>(() => new LeanAdamW([new AdamW.ParamGroup(m.parameters(), 1e-3, 0.9, 0.999, 1e-8, 0, true, false)], 1e-3));
        Assert.Contains("amsgrad", e.Message);
    }
}
