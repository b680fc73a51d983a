using MultiTaskKit.Runtime;

namespace MultiTaskKit.Benchmarks;

/// <summary>
/// One GEMM measurement: [M×K]·[K×N] in fp32, best of the repeats. A bench run measures each shape twice, at the
/// start and again after the training steps (<see cref="AtStart"/>, <see cref="AfterSteps"/>); <see cref="Gflops"/>
/// is the better of the two, so a burst of load during one pass cannot lower the ceiling the steps are held against.
/// </summary>
public sealed record GemmResult(string Name, int M, int K, int N, double Gflops)
{
    public double AtStart { get; init; } = double.NaN;
    public double AfterSteps { get; init; } = double.NaN;
}

/// <summary>
/// fp32 matrix-multiply throughput at the shapes the model itself multiplies, the ceiling the training step's
/// achieved GFLOP/s is compared with. Best-of-N because the ceiling is what the hardware can do, not the average.
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

    public static IReadOnlyList<GemmResult> Run(TransformerShape shape, int repeats = 10, int rows = 2048) =>
        ModelShapes(shape, rows)
            .Select(s => new GemmResult(s.Name, s.M, s.K, s.N, TorchRuntime.MeasureGemmGflops(s.M, s.K, s.N, repeats)))
            .ToArray();

    /// <summary>The second pass folded into the first (whose <see cref="GemmResult.AtStart"/> is set): the better figure, both kept.</summary>
    public static List<GemmResult> Combine(IReadOnlyList<GemmResult> atStart, IReadOnlyList<GemmResult> afterSteps) =>
        atStart.Select(a =>
        {
            var b = afterSteps.FirstOrDefault(x => x.M == a.M && x.K == a.K && x.N == a.N);
            return b is null ? a : a with { Gflops = Math.Max(a.Gflops, b.Gflops), AfterSteps = b.Gflops };
        }).ToList();

    /// <summary>
    /// The reference figure a training step is held against: the FLOP-weighted harmonic mean of the model shapes
    /// (the time the step's linear maps would take at those speeds), which weights the FFN shape 2:1 over h×h as the
    /// layer does. The 2048³ square is reported but not used: the model never multiplies it.
    /// </summary>
    public static double ModelGemmGflops(IReadOnlyList<GemmResult> results, TransformerShape shape)
    {
        var ffn = results.FirstOrDefault(r => r.K == shape.Hidden && r.N == shape.Ffn);
        var hh = results.FirstOrDefault(r => r.K == shape.Hidden && r.N == shape.Hidden);
        if (ffn is null || hh is null) return results.Count == 0 ? double.NaN : results.Max(r => r.Gflops);
        double wFfn = 2.0 * shape.Hidden * shape.Ffn, wHh = 4.0 * shape.Hidden * shape.Hidden;
        return (wFfn + wHh) / (wFfn / ffn.Gflops + wHh / hh.Gflops);
    }
}
