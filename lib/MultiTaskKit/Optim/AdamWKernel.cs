using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Optim;

/// <summary>
/// One AdamW update of a float32 CPU parameter in cache-sized chunks, bit for bit the arithmetic of the eight libtorch
/// calls it replaces (<see cref="LeanAdamW"/>'s tensor path). Those calls read or write the parameter-sized arrays 23
/// times; per chunk this reads the parameter, gradient and both moments once and writes them back once, while the chunk
/// sits in cache. The numbers stay the same because each operation is the same float operation in the same order as
/// libtorch's vectorised kernels: <c>add_(g, α)</c> and <c>addcmul_</c> are fused multiply-adds there (and here),
/// <c>addcdiv_</c> is (value·t1)/t2 then an add, and dividing by a scalar divides. The square root is libtorch's own
/// (<c>sqrt_</c> on a chunk-sized scratch tensor), because its CPU kernel is not the correctly rounded one.
/// <para>A chunk is smaller than libtorch's parallel grain, so its square root runs on the calling thread; chunks run
/// on <see cref="TorchRuntime.Threads"/> threads.</para>
/// </summary>
internal static class AdamWKernel
{
    /// <summary>Elements per chunk: 4 arrays of 64 KiB fit a core's L2 cache, and the chunk is under libtorch's grain of 32,768.</summary>
    public const int Chunk = 16384;

    /// <summary>The scalars of one update, each as libtorch rounds a double scalar for a float32 tensor.</summary>
    public readonly record struct Coefficients(float KeepFraction, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
        float Root, float Epsilon, float StepSize)
    {
        /// <summary>The coefficients at learning rate <paramref name="lr"/>, weight decay <paramref name="decay"/>, betas
        /// <paramref name="beta1"/> and <paramref name="beta2"/>, <paramref name="eps"/>, with
        /// <paramref name="biasCorrection2Root"/> = √(1 − β₂ᵗ) and <paramref name="stepSize"/> = −lr / (1 − β₁ᵗ).</summary>
        public static Coefficients Of(double lr, double decay, double beta1, double beta2, double eps, double biasCorrection2Root, double stepSize) =>
            new((float)(1.0 - lr * decay), (float)beta1, (float)(1.0 - beta1), (float)beta2, (float)(1.0 - beta2),
                (float)biasCorrection2Root, (float)eps, (float)stepSize);
    }

    /// <summary>Whether the four tensors are what the kernel reads: CPU, float32, contiguous, one size.</summary>
    public static bool Applies(Tensor parameter, Tensor grad, Tensor expAvg, Tensor expAvgSq)
    {
        foreach (var t in (ReadOnlySpan<Tensor>)[parameter, grad, expAvg, expAvgSq])
            if (t.device_type != DeviceType.CPU || t.dtype != ScalarType.Float32 || !t.is_contiguous()) return false;
        long n = parameter.numel();
        return grad.numel() == n && expAvg.numel() == n && expAvgSq.numel() == n;
    }

    /// <summary>Updates <paramref name="parameter"/>, <paramref name="expAvg"/> and <paramref name="expAvgSq"/> in place.</summary>
    /// <exception cref="ArgumentException">The tensors are not what <see cref="Applies"/> accepts (it reads raw memory).</exception>
    public static void Step(Tensor parameter, Tensor grad, Tensor expAvg, Tensor expAvgSq, Coefficients c)
    {
        if (!TryStep(parameter, grad, expAvg, expAvgSq, c))
            throw new ArgumentException("AdamWKernel: expected contiguous float32 CPU tensors of one size (parameter, gradient, both moments), found " +
                string.Join(", ", new[] { parameter, grad, expAvg, expAvgSq }.Select(t => $"{t.dtype} {t.device} [{string.Join("x", t.shape)}]{(t.is_contiguous() ? "" : " strided")}")) + ".");
    }

    /// <summary>The update when <see cref="Applies"/> holds; otherwise nothing is touched and the answer is false.</summary>
    public static unsafe bool TryStep(Tensor parameter, Tensor grad, Tensor expAvg, Tensor expAvgSq, Coefficients c)
    {
        if (!Applies(parameter, grad, expAvg, expAvgSq)) return false;
        long n = parameter.numel();
        if (n == 0) return true;
        var arrays = new Arrays(CpuKernel.Address(parameter), CpuKernel.Address(grad), CpuKernel.Address(expAvg), CpuKernel.Address(expAvgSq));
        long chunks = (n + Chunk - 1) / Chunk;
        if (chunks == 1)
        {
            using var scratch = empty(Chunk, dtype: ScalarType.Float32);
            Update(arrays, 0, n, scratch, c);
            return true;
        }
        Parallel.For(0L, chunks, CpuKernel.Options,
            () => empty(Chunk, dtype: ScalarType.Float32),
            (chunk, _, scratch) => { Update(arrays, chunk * Chunk, Math.Min(n, (chunk + 1) * Chunk), scratch, c); return scratch; },
            scratch => scratch.Dispose());
        return true;
    }

    readonly record struct Arrays(IntPtr Parameter, IntPtr Grad, IntPtr ExpAvg, IntPtr ExpAvgSq);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Update(Arrays a, long from, long to, Tensor scratch, Coefficients c)
    {
        int count = (int)(to - from);
        float* p = (float*)a.Parameter + from, g = (float*)a.Grad + from, m = (float*)a.ExpAvg + from, v = (float*)a.ExpAvgSq + from;
        float* s = (float*)CpuKernel.Address(scratch);

        // Decay the weight, then both moments: p·(1 − lr·λ); m·β₁ + g·(1 − β₁); v·β₂ + (1 − β₂)·g·g. The new v is copied
        // to the scratch chunk for libtorch's square root.
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var keep = Vector256.Create(c.KeepFraction);
            var b1 = Vector256.Create(c.Beta1); var omb1 = Vector256.Create(c.OneMinusBeta1);
            var b2 = Vector256.Create(c.Beta2); var omb2 = Vector256.Create(c.OneMinusBeta2);
            for (; i + 8 <= count; i += 8)
            {
                var gi = Vector256.Load(g + i);
                (Vector256.Load(p + i) * keep).Store(p + i);
                Vector256.FusedMultiplyAdd(gi, omb1, Vector256.Load(m + i) * b1).Store(m + i);
                var vi = Vector256.FusedMultiplyAdd(omb2 * gi, gi, Vector256.Load(v + i) * b2);
                vi.Store(v + i);
                vi.Store(s + i);
            }
        }
        for (; i < count; i++)
        {
            p[i] *= c.KeepFraction;
            m[i] = MathF.FusedMultiplyAdd(g[i], c.OneMinusBeta1, m[i] * c.Beta1);
            v[i] = s[i] = MathF.FusedMultiplyAdd(c.OneMinusBeta2 * g[i], g[i], v[i] * c.Beta2);
        }

        if (count == Chunk) scratch.sqrt_();
        else using (var head = scratch.narrow(0, 0, count)) head.sqrt_();

        // p + (step·m) / (√v / √(1 − β₂ᵗ) + ε).
        i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var root = Vector256.Create(c.Root); var eps = Vector256.Create(c.Epsilon); var step = Vector256.Create(c.StepSize);
            for (; i + 8 <= count; i += 8)
            {
                var denominator = Vector256.Load(s + i) / root + eps;
                (Vector256.Load(p + i) + step * Vector256.Load(m + i) / denominator).Store(p + i);
            }
        }
        for (; i < count; i++) p[i] += c.StepSize * m[i] / (s[i] / c.Root + c.Epsilon);
    }
}
