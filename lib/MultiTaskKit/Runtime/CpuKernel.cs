using TorchSharp;

namespace MultiTaskKit.Runtime;

/// <summary>What the kit's own CPU kernels (<see cref="Optim.AdamWKernel"/>, <see cref="Models.Bert.FastDropout"/>,
/// <see cref="Models.Bert.SoftmaxDropout"/>) share: raw tensor memory and work spread over libtorch's thread count.</summary>
static class CpuKernel
{
    /// <summary>The address of a tensor's first element. Callers check device, dtype and contiguity first.</summary>
    public static unsafe IntPtr Address(torch.Tensor t)
    {
        fixed (byte* b = t.bytes) return (IntPtr)b;
    }

    /// <summary>As many .NET workers as libtorch has intra-op threads (<see cref="TorchRuntime.Threads"/>).</summary>
    public static ParallelOptions Options => new() { MaxDegreeOfParallelism = Math.Max(1, TorchRuntime.Threads) };

    /// <summary>Runs <paramref name="body"/> for every item in [0, <paramref name="count"/>): on the calling thread
    /// when there is one item, otherwise in parallel with <see cref="Options"/>.</summary>
    public static void For(long count, Action<long> body)
    {
        if (count <= 1) { for (long i = 0; i < count; i++) body(i); return; }
        Parallel.For(0L, count, Options, body);
    }
}
