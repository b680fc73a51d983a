using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Models.Bert;

/// <summary>
/// Dropout (Srivastava et al., JMLR 2014) with a cheaper mask: the same distribution as <c>nn.Dropout</c> (each
/// element kept independently with probability 1 − p, kept elements scaled by 1/(1 − p)), drawn by a counter-based
/// hash on all threads, eight lanes at a time, instead of libtorch's serial Bernoulli sampler, which on CPU costs as much
/// as the layer's largest matrix product for BERT's attention probabilities.
/// <para>Reproducibility: each call draws one 64-bit seed from torch's default generator, so <c>torch.manual_seed</c>
/// and a saved torch RNG state govern the masks exactly as they govern <c>nn.Dropout</c>; the masks themselves differ
/// from libtorch's, so a run does not reproduce bit for bit a run made with <c>nn.Dropout</c>. The mask is the same
/// for any thread count. p is honoured to 2⁻³².</para>
/// <para>Off CPU, or for tensors that are not float32, it falls back to <c>nn.functional.dropout</c>.</para>
/// </summary>
internal sealed class FastDropout : nn.Module<Tensor, Tensor>
{
    /// <summary>Elements per hash chunk: the mask of element i is keyed by chunk i / Chunk and drawn at i mod Chunk.</summary>
    internal const int Chunk = 1 << 15;

    /// <param name="p">Probability of dropping an element.</param>
    /// <param name="fast">False uses libtorch's own dropout (<see cref="Runtime.KernelOptions.FastDropout"/>: to
    /// reproduce its masks, or to measure the difference).</param>
    public FastDropout(double p, bool fast = true) : base("dropout")
    {
        if (p is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability: expected a value in [0, 1)");
        P = p;
        Fast = fast;
    }

    public double P { get; }

    /// <summary>Whether this module draws the kit's masks (true) or libtorch's.</summary>
    public bool Fast { get; }

    public override Tensor forward(Tensor input) => Apply(input, P, training, Fast);

    /// <summary>Dropout of <paramref name="input"/> when <paramref name="training"/>; otherwise the input itself (as a new handle).
    /// <paramref name="fast"/> false uses libtorch's dropout.</summary>
    public static Tensor Apply(Tensor input, double p, bool training, bool fast = true)
    {
        if (!training || p == 0) return input.alias();
        if (!fast || input.device_type != DeviceType.CPU || input.dtype != ScalarType.Float32)
            return nn.functional.dropout(input, p, training: true);
        using var mask = Mask(input.shape, p);
        return input.mul(mask);
    }

    /// <summary>
    /// <paramref name="residual"/> + dropout(<paramref name="input"/>) in one pass (<c>addcmul</c>), for BERT's
    /// sub-layer outputs: forward and backward each save a full pass over the activations and one allocation.
    /// A bfloat16 <paramref name="input"/> (a mixed-precision product) takes the same pass: type promotion makes the sum
    /// float32, so the cast back to float32 costs no pass of its own, and the float32 mask keeps 1/(1 − p) exact.
    /// </summary>
    public Tensor AddTo(Tensor input, Tensor residual) => AddTo(input, residual, P, training, Fast);

    /// <inheritdoc cref="AddTo(Tensor, Tensor)"/>
    public static Tensor AddTo(Tensor input, Tensor residual, double p, bool training, bool fast = true)
    {
        if (!training || p == 0) return input.add(residual, Scalars.One);
        if (!fast || input.device_type != DeviceType.CPU || input.dtype is not (ScalarType.Float32 or ScalarType.BFloat16))
            return nn.functional.dropout(input, p, training: true).add(residual, Scalars.One);
        using var mask = Mask(input.shape, p);
        return residual.addcmul(input, mask, Scalars.One);
    }

    /// <summary>A float32 mask of zeros and 1/(1 − p), seeded from torch's default generator.</summary>
    public static Tensor Mask(long[] shape, double p) => Mask(shape, p, NextSeed());

    /// <summary>One 64-bit seed from torch's default generator: what each mask is keyed by.</summary>
    internal static ulong NextSeed()
    {
        using var draw = randint(long.MaxValue, new long[] { 1 }, dtype: ScalarType.Int64);
        return (ulong)draw.item<long>();
    }

    /// <summary>The mask for an explicit seed (tests, and callers that manage their own streams).</summary>
    public static Tensor Mask(long[] shape, double p, ulong seed)
    {
        var mask = empty(shape, dtype: ScalarType.Float32);
        long n = mask.numel();
        if (n == 0) return mask;
        // Drop when a uniform 32-bit draw falls below p·2³²: P(drop) = p to within 2⁻³².
        uint threshold = Threshold(p);
        float scale = (float)(1.0 / (1.0 - p));
        var address = CpuKernel.Address(mask);
        unsafe { CpuKernel.For((n + Chunk - 1) / Chunk, c => Fill((float*)address, c, n, seed, threshold, scale)); }
        return mask;
    }

    // Each chunk keys its own counter-based hash from (seed, chunk index), so the mask does not depend on how chunks
    // meet threads, and the vector and scalar loops compute the same function: element j of a chunk keeps its value
    // when fmix(fmix(j·φ ⊕ k1) + k2) ≥ p·2³², fmix being MurmurHash3's 32-bit finaliser (a bijection with full
    // avalanche). Sixteen lanes at a time this draws a mask at memory speed (the serial generator it replaced cost more
    // than the softmax and both attention products together; bench/README.md has the figures).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Fill(float* f, long chunk, long n, ulong seed, uint threshold, float scale)
    {
        var (k1, k2) = ChunkKeys(seed, chunk);
        long start = chunk * Chunk;
        int count = (int)(Math.Min(n, start + Chunk) - start);
        float* dst = f + start;
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var kept = Vector512.Create(scale);
            for (; j + 16 <= count; j += 16) (Keep16(j, k1, k2, threshold).AsSingle() & kept).Store(dst + j);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var kept = Vector256.Create(scale);
            for (; j + 8 <= count; j += 8) (Keep8(j, k1, k2, threshold).AsSingle() & kept).Store(dst + j);
        }
        FillScalar(dst, j, count, k1, k2, threshold, scale);
    }

    /// <summary>Elements [<paramref name="from"/>, <paramref name="count"/>) of a chunk, one at a time: the vector loop's tail, and the reference.</summary>
    static unsafe void FillScalar(float* dst, int from, int count, uint k1, uint k2, uint threshold, float scale)
    {
        for (int j = from; j < count; j++)
            dst[j] = Keeps(j, k1, k2, threshold) ? scale : 0f;
    }

    /// <summary>Whether element <paramref name="j"/> of the chunk keyed (<paramref name="k1"/>, <paramref name="k2"/>) is kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Keeps(int j, uint k1, uint k2, uint threshold) => Fmix(Fmix((uint)j * Golden ^ k1) + k2) >= threshold;

    /// <summary><see cref="Keeps"/> for elements j … j + 15 of a chunk, as all-ones (kept) or zero lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<uint> Keep16(int j, uint k1, uint k2, uint threshold)
    {
        var index = Vector512.Create((uint)j) + Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var x = Fmix(Fmix(index * Vector512.Create(Golden) ^ Vector512.Create(k1)) + Vector512.Create(k2));
        return Vector512.GreaterThanOrEqual(x, Vector512.Create(threshold));
    }

    /// <summary><see cref="Keeps"/> for elements j … j + 7 of a chunk (machines without 512-bit vectors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<uint> Keep8(int j, uint k1, uint k2, uint threshold)
    {
        var index = Vector256.Create((uint)j) + Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        var x = Fmix(Fmix(index * Vector256.Create(Golden) ^ Vector256.Create(k1)) + Vector256.Create(k2));
        return Vector256.GreaterThanOrEqual(x, Vector256.Create(threshold));
    }

    /// <summary>The hash keys of chunk <paramref name="chunk"/> (elements chunk·<see cref="Chunk"/> onwards) under <paramref name="seed"/>.</summary>
    internal static (uint K1, uint K2) ChunkKeys(ulong seed, long chunk)
    {
        ulong key = SplitMix64.Hash(seed ^ (SplitMix64.Gamma * (ulong)(chunk + 1)));
        return ((uint)key, (uint)(key >> 32));
    }

    const uint Golden = 0x9E3779B9u;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint Fmix(uint h)
    {
        h ^= h >> 16; h *= 0x85EBCA6Bu;
        h ^= h >> 13; h *= 0xC2B2AE35u;
        return h ^ (h >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<uint> Fmix(Vector256<uint> h)
    {
        h ^= Vector256.ShiftRightLogical(h, 16); h *= Vector256.Create(0x85EBCA6Bu);
        h ^= Vector256.ShiftRightLogical(h, 13); h *= Vector256.Create(0xC2B2AE35u);
        return h ^ Vector256.ShiftRightLogical(h, 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<uint> Fmix(Vector512<uint> h)
    {
        h ^= Vector512.ShiftRightLogical(h, 16); h *= Vector512.Create(0x85EBCA6Bu);
        h ^= Vector512.ShiftRightLogical(h, 13); h *= Vector512.Create(0xC2B2AE35u);
        return h ^ Vector512.ShiftRightLogical(h, 16);
    }

    /// <summary>The scalar loop alone, for any length: what every machine computes, vector units or not (tests compare the two).</summary>
    public static unsafe float[] ReferenceMask(long n, double p, ulong seed)
    {
        var result = new float[n];
        uint threshold = Threshold(p);
        float scale = (float)(1.0 / (1.0 - p));
        fixed (float* f = result)
            for (long c = 0; c * Chunk < n; c++)
            {
                var (k1, k2) = ChunkKeys(seed, c);
                long start = c * Chunk;
                FillScalar(f + start, 0, (int)(Math.Min(n, start + Chunk) - start), k1, k2, threshold, scale);
            }
        return result;
    }

    internal static uint Threshold(double p) => (uint)Math.Min(uint.MaxValue, Math.Round(p * 4294967296.0));

    public override string ToString() => $"FastDropout(p={P})";
}
