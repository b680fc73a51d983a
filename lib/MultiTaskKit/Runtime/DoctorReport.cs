namespace MultiTaskKit.Runtime;

/// <summary>What <c>mtk doctor</c> prints: the runtime, the device and its measured speed, what <c>--precision auto</c>
/// picks here (<see cref="PrecisionProbe"/>), and where data and models live.</summary>
public sealed record DoctorReport(
    string TorchSharpVersion,
    string LibTorchVersion,
    NativeFixReport NativeFix,
    string Device,
    int Threads,
    double GemmGflops,
    PrecisionProbeResult Precision,
    string? DataDir,
    string ModelCache)
{
    public static DoctorReport Measure(string? dataDir = null)
    {
        return new DoctorReport(
            TorchRuntime.TorchSharpVersion,
            TorchRuntime.LibTorchVersion,
            TorchRuntime.NativeFix!,
            TorchRuntime.DefaultDevice.ToString(),
            TorchRuntime.Threads,
            TorchRuntime.MeasureGemmGflops(),
            PrecisionProbe.Probe(refresh: true),
            KitPaths.FindDataDir(dataDir),
            KitPaths.ModelCache);
    }

    public IEnumerable<(string Name, string Value)> Rows()
    {
        yield return ("TorchSharp", TorchSharpVersion);
        yield return ("libtorch", LibTorchVersion);
        yield return ("libstdc++ fix", NativeFix.Applied ? $"{NativeFix.Reason} ({NativeFix.PatchedLibrary})" : NativeFix.Reason);
        yield return ("device", Device);
        yield return ("threads", Threads.ToString());
        yield return ("fp32 GEMM 2048³", $"{GemmGflops:F1} GFLOP/s");
        yield return ("native bf16", $"{(Precision.NativeBf16 ? "yes" : "no")} ({Precision.Evidence})");
        yield return ($"precision probe [{PrecisionProbe.M}×{PrecisionProbe.K}]·[{PrecisionProbe.K}×{PrecisionProbe.N}]", Precision.Bf16Gflops is { } bf16
            ? $"fp32 {Precision.Fp32Gflops:F1} GFLOP/s, bf16 {bf16:F1} GFLOP/s ({Precision.Speedup:F2}×)"
            : $"fp32 {Precision.Fp32Gflops:F1} GFLOP/s, bf16 not measured");
        yield return ("--precision auto", $"{Precision.Choice.Name()} (bf16 where native and ≥ {PrecisionProbe.MinSpeedup:F2}× fp32 in the probe)");
        yield return ("precision probe cached for", Precision.Key);
        yield return ("data directory", DataDir ?? "none found (set MTK_DATA_DIR or pass --data-dir; loaders download into the cache)");
        yield return ("model cache", ModelCache);
    }
}
