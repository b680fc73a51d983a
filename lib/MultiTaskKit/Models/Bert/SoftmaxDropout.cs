using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Models.Bert;

/// <summary>
/// dropout(softmax(x)) over the last dimension as one autograd operation on float32 CPU tensors, with
/// <see cref="FastDropout"/>'s mask kept as one bit per element. It computes what BERT's attention computes on its
/// probabilities, softmax(scores) ⊙ <see cref="FastDropout.Mask(long[], double, ulong)"/>, with the same seed drawn
/// the same way, and moves less memory:
/// <list type="bullet">
/// <item>forward: libtorch's softmax, then one pass that draws the mask, multiplies it in and packs it into bits.
/// The chain it replaces wrote a float mask as large as the probabilities and read it back in the multiply, and kept
/// it for backward;</item>
/// <item>backward: one pass per row, ∂L/∂x = y ⊙ (g ⊙ m − Σ g ⊙ m ⊙ y) with y the probabilities, m the mask and g the
/// incoming gradient. The chain ran a multiply and libtorch's softmax backward, two passes that wrote and read an
/// intermediate gradient as large as the probabilities.</item>
/// </list>
/// At 256 tokens the probabilities are 50 MB per layer and batch of 16, so each pass saved is a pass over memory.
/// <para>The forward result is bit for bit the chain's (the same products of the same floats). The backward sums each
/// row's dot product in its own order, so it agrees with libtorch's softmax backward to float rounding.</para>
/// <para>Under mixed precision the output may be bfloat16 (rounded to nearest even, as libtorch's cast rounds): the
/// probabilities feed a bf16 product, and writing them in bf16 here replaces a separate cast pass forward, and a cast of
/// the bf16 gradient back to float32 in backward. The softmax, the saved probabilities and the backward arithmetic stay
/// float32.</para>
/// </summary>
internal sealed class SoftmaxDropout : autograd.SingleTensorFunction<SoftmaxDropout>
{
    /// <summary>Rows per parallel work item in backward, at least this many elements: a few hundred kilobytes.</summary>
    const int BlockElements = 1 << 15;

    public override string Name => nameof(SoftmaxDropout);

    /// <summary>dropout(softmax(<paramref name="scores"/>, −1)) with a mask keyed by a seed drawn from torch's default generator.</summary>
    /// <param name="output">The result's dtype: float32 (default) or bfloat16.</param>
    public static Tensor Apply(Tensor scores, double p, ScalarType output = ScalarType.Float32) => Apply(scores, p, FastDropout.NextSeed(), output);

    /// <summary>dropout(softmax(<paramref name="scores"/>, −1)) with the mask <see cref="FastDropout.Mask(long[], double, ulong)"/> draws for <paramref name="seed"/>.</summary>
    /// <param name="output">The result's dtype: float32 (default) or bfloat16, rounded to nearest even.</param>
    public static Tensor Apply(Tensor scores, double p, ulong seed, ScalarType output = ScalarType.Float32)
    {
        if (p is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "SoftmaxDropout: dropout probability: expected a value in [0, 1)");
        if (scores.device_type != DeviceType.CPU || scores.dtype != ScalarType.Float32)
            throw new ArgumentException($"SoftmaxDropout: expected float32 scores on the CPU, found {scores.dtype} on {scores.device}.", nameof(scores));
        if (scores.dim() == 0) throw new ArgumentException("SoftmaxDropout: expected scores with at least one dimension, found a scalar.", nameof(scores));
        if (output is not (ScalarType.Float32 or ScalarType.BFloat16))
            throw new ArgumentException($"SoftmaxDropout: expected a float32 or bfloat16 output, found {output}.", nameof(output));
        return apply(scores, p, seed, output == ScalarType.BFloat16);
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var scores = (Tensor)vars[0];
        double p = (double)vars[1];
        ulong seed = (ulong)vars[2];
        bool bf16 = (bool)vars[3];
        Tensor probs;
        using (no_grad())
        using (var raw = softmax(scores, -1)) probs = raw.contiguous(); // a second handle when already contiguous
        var output = bf16 ? empty_like(probs, dtype: ScalarType.BFloat16) : empty_like(probs);
        long n = probs.numel();
        // One bit per element, plus slack so that backward may read any element's bits as one 32-bit load.
        var bits = zeros((n + 7) / 8 + 8, dtype: ScalarType.Byte);
        var draw = new Draw(seed, FastDropout.Threshold(p), (float)(1.0 / (1.0 - p)));
        unsafe
        {
            var (y, o, b) = (CpuKernel.Address(probs), CpuKernel.Address(output), CpuKernel.Address(bits));
            if (bf16) CpuKernel.For((n + FastDropout.Chunk - 1) / FastDropout.Chunk, c => ForwardBf16((float*)y, (ushort*)o, (byte*)b, c, n, draw));
            else CpuKernel.For((n + FastDropout.Chunk - 1) / FastDropout.Chunk, c => Forward((float*)y, (float*)o, (byte*)b, c, n, draw));
        }
        ctx.save_for_backward([probs, bits]);
        ctx.save_data(nameof(Draw), draw);
        return output;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var draw = (Draw)ctx.get_data(nameof(Draw))!;
        var saved = ctx.get_saved_variables();
        using var probs = saved[0];
        using var bits = saved[1];
        using var g = gradOutput.contiguous();
        bool bf16 = g.dtype == ScalarType.BFloat16;
        var grad = empty_like(probs);
        int width = (int)probs.shape[^1];
        long rows = width == 0 ? 0 : probs.numel() / width;
        long rowsPerBlock = Math.Max(1, BlockElements / Math.Max(1, width));
        long blocks = (rows + rowsPerBlock - 1) / rowsPerBlock;
        unsafe
        {
            var (gs, ys, ds, b) = (CpuKernel.Address(g), CpuKernel.Address(probs), CpuKernel.Address(grad), CpuKernel.Address(bits));
            CpuKernel.For(blocks, block =>
            {
                for (long r = block * rowsPerBlock, end = Math.Min(rows, r + rowsPerBlock); r < end; r++)
                    if (bf16) Backward((ushort*)gs + r * width, (float*)ys + r * width, (float*)ds + r * width, (byte*)b, r * width, width, draw.Scale);
                    else Backward((float*)gs + r * width, (float*)ys + r * width, (float*)ds + r * width, (byte*)b, r * width, width, draw.Scale);
            });
        }
        return [grad, null!, null!, null!];
    }

    /// <summary>The mask's key, threshold and scale for one call.</summary>
    sealed record Draw(ulong Seed, uint Threshold, float Scale);

    /// <summary>Output and mask bits of hash chunk <paramref name="chunk"/>: o = y ⊙ m, as the chain's multiply.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Forward(float* probs, float* output, byte* bits, long chunk, long n, Draw draw)
    {
        var (k1, k2) = FastDropout.ChunkKeys(draw.Seed, chunk);
        long start = chunk * FastDropout.Chunk;
        int count = (int)(Math.Min(n, start + FastDropout.Chunk) - start);
        float* y = probs + start, o = output + start;
        // A chunk starts at a multiple of 2¹⁵ elements, so its bits start on a byte (indeed a 4 KiB) boundary.
        byte* mask = bits + start / 8;
        uint threshold = draw.Threshold;
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var kept = Vector512.Create(draw.Scale);
            for (; j + 16 <= count; j += 16)
            {
                var keep = FastDropout.Keep16(j, k1, k2, threshold);
                *(ushort*)(mask + j / 8) = (ushort)keep.ExtractMostSignificantBits();
                (Vector512.Load(y + j) * (keep.AsSingle() & kept)).Store(o + j);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var kept = Vector256.Create(draw.Scale);
            for (; j + 8 <= count; j += 8)
            {
                var keep = FastDropout.Keep8(j, k1, k2, threshold);
                mask[j / 8] = (byte)keep.ExtractMostSignificantBits();
                (Vector256.Load(y + j) * (keep.AsSingle() & kept)).Store(o + j);
            }
        }
        // Whole bytes remain from here (j is a multiple of 8), so the bits below set only this chunk's bytes, which start zeroed.
        for (; j < count; j++)
        {
            bool keep = FastDropout.Keeps(j, k1, k2, threshold);
            if (keep) mask[j / 8] |= (byte)(1 << (j % 8));
            o[j] = y[j] * (keep ? draw.Scale : 0f);
        }
    }

    /// <summary><see cref="Forward"/> with a bfloat16 output: the same float32 products, rounded to nearest even when stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void ForwardBf16(float* probs, ushort* output, byte* bits, long chunk, long n, Draw draw)
    {
        var (k1, k2) = FastDropout.ChunkKeys(draw.Seed, chunk);
        long start = chunk * FastDropout.Chunk;
        int count = (int)(Math.Min(n, start + FastDropout.Chunk) - start);
        float* y = probs + start;
        ushort* o = output + start;
        byte* mask = bits + start / 8;
        uint threshold = draw.Threshold;
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var kept = Vector512.Create(draw.Scale);
            for (; j + 16 <= count; j += 16)
            {
                var keep = FastDropout.Keep16(j, k1, k2, threshold);
                *(ushort*)(mask + j / 8) = (ushort)keep.ExtractMostSignificantBits();
                var rounded = ToBf16Bits(Vector512.Load(y + j) * (keep.AsSingle() & kept));
                Vector512.Narrow(rounded, rounded).GetLower().Store(o + j);
            }
        }
        for (; j < count; j++)
        {
            bool keep = FastDropout.Keeps(j, k1, k2, threshold);
            if (keep) mask[j / 8] |= (byte)(1 << (j % 8));
            o[j] = ToBf16(y[j] * (keep ? draw.Scale : 0f));
        }
    }

    /// <summary>float32 to bfloat16 bits, rounded to nearest even (finite values; probabilities are never NaN unless the scores are).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ushort ToBf16(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<uint> ToBf16Bits(Vector512<float> x)
    {
        var bits = x.AsUInt32();
        return Vector512.ShiftRightLogical(bits + Vector512.Create(0x7FFFu) + (Vector512.ShiftRightLogical(bits, 16) & Vector512<uint>.One), 16);
    }

    /// <summary><see cref="Backward(float*, float*, float*, byte*, long, int, float)"/> for a bfloat16 incoming gradient:
    /// the row's gradient is widened (exactly) into <paramref name="dx"/> first, then the float32 backward runs in place.</summary>
    static unsafe void Backward(ushort* g, float* y, float* dx, byte* bits, long index, int n, float scale)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
                Vector512.ShiftLeft(Vector512.WidenLower(Vector256.Load(g + i).ToVector512Unsafe()), 16).AsSingle().Store(dx + i);
        for (; i < n; i++) dx[i] = BitConverter.UInt32BitsToSingle((uint)g[i] << 16);
        Backward(dx, y, dx, bits, index, n, scale);
    }

    /// <summary>dx = y ⊙ (g ⊙ m − Σ g ⊙ m ⊙ y) for one row whose first element is element <paramref name="index"/> of the tensor.
    /// <paramref name="g"/> and <paramref name="dx"/> may be the same row (each element is read before it is written).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Backward(float* g, float* y, float* dx, byte* bits, long index, int n, float scale)
    {
        float dot = 0;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var lanes = Vector512.Create(1u, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768);
            var kept = Vector512.Create(scale);
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16)
            {
                long e = index + i;
                uint word = *(uint*)(bits + (e >> 3)) >> (int)(e & 7);
                var keep = Vector512.Equals(Vector512.Create(word) & lanes, lanes).AsSingle();
                var gm = Vector512.Load(g + i) * (keep & kept);
                gm.Store(dx + i);
                acc += gm * Vector512.Load(y + i);
            }
            dot = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var lanes = Vector256.Create(1u, 2, 4, 8, 16, 32, 64, 128);
            var kept = Vector256.Create(scale);
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                long e = index + i;
                uint word = *(uint*)(bits + (e >> 3)) >> (int)(e & 7);
                var keep = Vector256.Equals(Vector256.Create(word) & lanes, lanes).AsSingle();
                var gm = Vector256.Load(g + i) * (keep & kept);
                gm.Store(dx + i);
                acc += gm * Vector256.Load(y + i);
            }
            dot = Vector256.Sum(acc);
        }
        for (; i < n; i++)
        {
            long e = index + i;
            float gm = g[i] * (((bits[e >> 3] >> (int)(e & 7)) & 1) != 0 ? scale : 0f);
            dx[i] = gm;
            dot += gm * y[i];
        }

        i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var d = Vector512.Create(dot);
            for (; i + 16 <= n; i += 16) (Vector512.Load(y + i) * (Vector512.Load(dx + i) - d)).Store(dx + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var d = Vector256.Create(dot);
            for (; i + 8 <= n; i += 8) (Vector256.Load(y + i) * (Vector256.Load(dx + i) - d)).Store(dx + i);
        }
        for (; i < n; i++) dx[i] = y[i] * (dx[i] - dot);
    }
}
