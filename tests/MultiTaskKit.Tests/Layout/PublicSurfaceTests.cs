namespace MultiTaskKit.Tests.Layout;

/// <summary>
/// The core's public surface is what a user should call: the plumbing (kernels, the native fix, seeded streams, ONNX
/// reading, solvers, test hooks, JSON and run-folder internals) is internal, seen only by the tests, the benchmarks and
/// the export bench (<c>InternalsVisibleTo</c> in <c>MultiTaskKit.csproj</c>). The notebooks' scripts compile against
/// the public surface (<c>notebooks/ci.sh</c>), so none of these may appear there.
/// </summary>
public class PublicSurfaceTests
{
    public static TheoryData<string> Plumbing => new()
    {
        "MultiTaskKit.IO.TestHooks", "MultiTaskKit.IO.StrictJson",
        "MultiTaskKit.Runtime.ElfVersionNeeds", "MultiTaskKit.Runtime.LibStdCxxCompat", "MultiTaskKit.Runtime.Scalars",
        "MultiTaskKit.Runtime.SplitMix64", "MultiTaskKit.Runtime.StepRandom", "MultiTaskKit.Runtime.NativeAllocator",
        "MultiTaskKit.Runtime.PrecisionProbe",
        "MultiTaskKit.Models.Bert.OnnxGraph", "MultiTaskKit.Models.Bert.OnnxTensor", "MultiTaskKit.Models.Bert.OnnxNode",
        "MultiTaskKit.Models.Bert.OnnxBertImporter", "MultiTaskKit.Models.Bert.BertAttentionKernel",
        "MultiTaskKit.Models.Bert.FastDropout", "MultiTaskKit.Models.Bert.SoftmaxDropout", "MultiTaskKit.Models.Bert.EmbeddedMiniLm",
        "MultiTaskKit.Aggregation.SmallSolvers", "MultiTaskKit.Weighting.MethodGuards", "MultiTaskKit.Optim.AdamWKernel",
        "MultiTaskKit.Data.TaskKindJsonConverter", "MultiTaskKit.Runs.RunFolderWriter", "MultiTaskKit.Training.SharedInputData",
    };

    [Theory, MemberData(nameof(Plumbing))]
    public void PlumbingIsNotPublic(string name)
    {
        var type = typeof(MultiTaskKit.Runtime.TorchRuntime).Assembly.GetType(name);
        Assert.True(type is not null, $"{name}: no such type in the core any more; update the list");
        Assert.False(type.IsVisible, $"{name} is public; it is plumbing a user should not call");
    }

    [Fact]
    public void WhatUsersCallStaysPublic()
    {
        // the kit's entry points, and the types the notebooks' scripts use from the same namespaces as the plumbing
        foreach (var type in new[]
                 {
                     typeof(MultiTaskKit.Runtime.TorchRuntime), typeof(MultiTaskKit.Runtime.KitOptions), typeof(MultiTaskKit.Runtime.SeededRandom),
                     typeof(MultiTaskKit.Runtime.NativeFixReport), typeof(MultiTaskKit.Runtime.PrecisionProbeResult),
                     typeof(MultiTaskKit.Training.Trainer), typeof(MultiTaskKit.Runs.RunPredictor), typeof(MultiTaskKit.Models.Bert.PretrainedBert),
                 })
            Assert.True(type.IsVisible, $"{type.FullName} should be public");
    }
}
