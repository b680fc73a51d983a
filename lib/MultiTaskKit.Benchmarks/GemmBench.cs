using System.Diagnostics;
using MultiTaskKit.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Benchmarks;

/// <summary>
/// One GEMM measurement: [M×K]·[K×N] in <see cref="Dtype"/> (fp32 or bf16), best of the repeats. A bench run measures each shape twice, at the
/// start and again after the training steps (<see cref="AtStart"/>, <see cref="AfterSteps"/>); <see cref="Gflops"/>
/// is the better of the two, so a burst of load during one pass cannot lower the ceiling the steps are held against.
/// </summary>
public sealed record GemmResult(string Name, int M, int K, int N, double Gflops)
{
    public double AtStart { get; init; } = double.NaN;
    public double AfterSteps { get; init; } = double.NaN;
    /// <summary><c>fp32</c> or <c>bf16</c>: the operands' dtype (libtorch accumulates bf16 products in float32).</summary>
    public string Dtype { get; init; } = "fp32";
}

/// <summary>
/// Matrix-multiply throughput at the shapes the model itself multiplies, in fp32 and (for mixed precision) bf16: what
/// a training step's products can reach. Best-of-N because the ceiling is what the hardware can do, not the average.
/// </summary>
public static class GemmBench
{
    /// <summary>The model's own shapes for <paramref name="rows"/> token rows (2,048 = 16×128): FFN up, the h×h maps, and square.</summary>
    public static IReadOnlyList<(string Name, int M, int K, int N)> ModelShapes(TransformerShape shape, int rows = 2048) =>
    [
        ($"[{rows}x{shape.Hidden}]·[{shape.Hidden}x{shape.Ffn}]", rows, shape.Hidden, shape.Ffn),
        ($"[{rows}x{shape.Hidden}]·[{shape.Hidden}x{shape.Hidden}]", rows, shape.Hidden, shape.Hidden),
        ("2048³", 2048, 2048, 2048),
    ];

    /// <summary>Every model shape in fp32 and, with <paramref name="bf16"/>, in bf16 (each shape's two dtypes measured back to back).</summary>
    public static IReadOnlyList<GemmResult> Run(TransformerShape shape, int repeats = 10, int rows = 2048, bool bf16 = false) =>
        ModelShapes(shape, rows)
            .SelectMany(s => (bf16 ? new[] { ScalarType.Float32, ScalarType.BFloat16 } : [ScalarType.Float32])
                .Select(dtype => new GemmResult(s.Name, s.M, s.K, s.N, Measure(s.M, s.K, s.N, repeats, dtype)) { Dtype = DtypeName(dtype) }))
            .ToArray();

    /// <summary><c>fp32</c> or <c>bf16</c>.</summary>
    public static string DtypeName(ScalarType dtype) => dtype == ScalarType.BFloat16 ? "bf16" : "fp32";

    /// <summary>GFLOP/s of [m×k]·[k×n] in <paramref name="dtype"/> on <see cref="TorchRuntime.DefaultDevice"/>, best of <paramref name="repeats"/> after one warm-up.</summary>
    public static double Measure(int m, int k, int n, int repeats, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var device = TorchRuntime.DefaultDevice;
        var a = randn(m, k, device: device).to(dtype);
        var b = randn(k, n, device: device).to(dtype);
        double best = double.MaxValue;
        for (int i = 0; i <= repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            using (var c = mm(a, b)) if (device.type == DeviceType.CUDA) cuda.synchronize();
            if (i > 0) best = Math.Min(best, sw.Elapsed.TotalSeconds); // the first is the warm-up
        }
        return 2.0 * m * k * n / best / 1e9;
    }

    /// <summary>The second pass folded into the first (whose <see cref="GemmResult.AtStart"/> is set): the better figure, both kept.</summary>
    public static List<GemmResult> Combine(IReadOnlyList<GemmResult> atStart, IReadOnlyList<GemmResult> afterSteps) =>
        atStart.Select(a =>
        {
            var b = afterSteps.FirstOrDefault(x => x.M == a.M && x.K == a.K && x.N == a.N && x.Dtype == a.Dtype);
            return b is null ? a : a with { Gflops = Math.Max(a.Gflops, b.Gflops), AfterSteps = b.Gflops };
        }).ToList();

    /// <summary>
    /// The reference figure a training step is held against: the FLOP-weighted harmonic mean of the model shapes
    /// (the time the step's linear maps would take at those speeds), which weights the FFN shape 2:1 over h×h as the
    /// layer does. The 2048³ square is reported but not used: the model never multiplies it. Only rows of
    /// <paramref name="dtype"/> count.
    /// </summary>
    public static double ModelGemmGflops(IReadOnlyList<GemmResult> results, TransformerShape shape, string dtype = "fp32")
    {
        results = results.Where(r => r.Dtype == dtype).ToList();
        var ffn = results.FirstOrDefault(r => r.K == shape.Hidden && r.N == shape.Ffn);
        var hh = results.FirstOrDefault(r => r.K == shape.Hidden && r.N == shape.Hidden);
        if (ffn is null || hh is null) return results.Count == 0 ? double.NaN : results.Max(r => r.Gflops);
        double wFfn = 2.0 * shape.Hidden * shape.Ffn, wHh = 4.0 * shape.Hidden * shape.Hidden;
        return (wFfn + wHh) / (wFfn / ffn.Gflops + wHh / hh.Gflops);
    }
}
