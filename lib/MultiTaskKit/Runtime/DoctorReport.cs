namespace MultiTaskKit.Runtime;

/// <summary>What <c>mtk doctor</c> prints: the runtime, the device and its measured speed, and where data and models live.</summary>
public sealed record DoctorReport(
    string TorchSharpVersion,
    string LibTorchVersion,
    NativeFixReport NativeFix,
    string Device,
    int Threads,
    double GemmGflops,
    string? DataDir,
    string ModelCache)
{
    public static DoctorReport Measure(string? dataDir = null)
    {
        TorchRuntime.EnsureInitialized();
        return new DoctorReport(
            TorchRuntime.TorchSharpVersion,
            TorchRuntime.LibTorchVersion,
            TorchRuntime.NativeFix!,
            TorchRuntime.Device.ToString(),
            TorchRuntime.Threads,
            TorchRuntime.MeasureGemmGflops(),
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
        yield return ("data directory", DataDir ?? "none found (set MTK_DATA_DIR or pass --data-dir; loaders download into the cache)");
        yield return ("model cache", ModelCache);
    }
}
