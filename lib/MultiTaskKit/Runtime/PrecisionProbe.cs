using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using MultiTaskKit.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Runtime;

/// <summary>What <see cref="PrecisionProbe"/> found on one device: whether it has native bfloat16 and what a small
/// matrix product reaches in each dtype.</summary>
/// <param name="Key">What the answer depends on (device, CPU model and bf16-related flags, threads, libtorch), in words.</param>
/// <param name="Device">The device measured.</param>
/// <param name="NativeBf16">Whether the device does bfloat16 arithmetic in hardware.</param>
/// <param name="Evidence">Why <paramref name="NativeBf16"/> is what it is (the CPU flag, or its absence).</param>
/// <param name="Fp32Gflops">Best-of-N float32 GFLOP/s of the probe product; null when it was not measured.</param>
/// <param name="Bf16Gflops">Best-of-N bfloat16 GFLOP/s of the probe product; null when it was not measured (no native bf16).</param>
public sealed record PrecisionProbeResult(string Key, string Device, bool NativeBf16, string Evidence, double? Fp32Gflops, double? Bf16Gflops)
{
    /// <summary>bf16 throughput over fp32 throughput; null when either was not measured.</summary>
    [JsonIgnore]
    public double? Speedup => Fp32Gflops is > 0 && Bf16Gflops is { } b ? b / Fp32Gflops : null;

    /// <summary>What <see cref="Precision.Auto"/> resolves to on this device (<see cref="PrecisionProbe.Choose"/>).</summary>
    [JsonIgnore]
    public Precision Choice => PrecisionProbe.Choose(this);
}

/// <summary>
/// Resolves <see cref="Precision.Auto"/>: bf16 only where the device multiplies bfloat16 natively and a measured bf16
/// product beats float32 by <see cref="MinSpeedup"/>. A CPU without native bf16 (an AVX2-only machine, say) gets fp32
/// without a measurement: libtorch would emulate bf16 there, slower than float32. The measurement is one product of the
/// trunk's feed-forward shape in each dtype (well under a second), made once per device, CPU model and flags, thread
/// count and libtorch version, and cached as JSON under <see cref="KitPaths.CacheRoot"/>/probe.
/// </summary>
internal static class PrecisionProbe
{
    /// <summary>
    /// The bf16 product must be this much faster than fp32 for <c>auto</c> to pick bf16: the mixed step also casts
    /// weights and activations and keeps softmax, LayerNorm and the residual stream in float32, so a product that is
    /// only a little faster would make the whole step slower.
    /// </summary>
    public const double MinSpeedup = 1.3;

    /// <summary>The probe product [M×K]·[K×N]: a MiniLM feed-forward expansion of 1,024 tokens.</summary>
    public const int M = 1024, K = 384, N = 1536;

    const int Warmup = 1, Repeats = 5;

    static readonly ConcurrentDictionary<string, PrecisionProbeResult> Memo = new();

    /// <summary><c>auto</c>'s decision from a probe's figures: a pure function, so tests can give it any measurement.</summary>
    public static Precision Choose(PrecisionProbeResult result) =>
        result.NativeBf16 && result.Speedup is { } s && s >= MinSpeedup ? Precision.Bf16 : Precision.Fp32;

    /// <summary><paramref name="requested"/> itself, or for <see cref="Precision.Auto"/> the probe's choice on
    /// <paramref name="device"/> (default: <see cref="TorchRuntime.DefaultDevice"/>; a run passes its own).</summary>
    public static Precision Resolve(Precision requested, string? cacheDir = null, Device? device = null) =>
        requested == Precision.Auto ? Probe(device, cacheDir).Choice : requested;

    /// <summary>
    /// The probe result for <paramref name="device"/> (default: <see cref="TorchRuntime.DefaultDevice"/>): from this process's
    /// memory, else from the cache file, else measured now and cached. <paramref name="refresh"/> measures again and
    /// replaces the cached answer (<c>mtk doctor</c> does, so that a figure taken on a busy machine does not stay).
    /// <paramref name="cacheDir"/> defaults to <see cref="KitPaths.CacheRoot"/>/probe.
    /// </summary>
    public static PrecisionProbeResult Probe(Device? device = null, string? cacheDir = null, bool refresh = false)
    {
        device ??= TorchRuntime.DefaultDevice;
        var key = Key(device);
        var dir = cacheDir ?? Path.Combine(KitPaths.CacheRoot, "probe");
        var path = Path.Combine(dir, $"precision-{Hash(key)}.json");
        PrecisionProbeResult MeasureAndStore()
        {
            var measured = Measure(device, key);
            try { AtomicFile.WriteAllText(path, JsonSerializer.Serialize(measured, JsonOptions)); }
            catch (IOException) { } // a read-only cache costs a re-measurement next time, nothing else
            catch (UnauthorizedAccessException) { }
            return measured;
        }
        if (refresh) return Memo[path] = MeasureAndStore();
        return Memo.GetOrAdd(path, _ => TryRead(path, key) ?? MeasureAndStore());
    }

    /// <summary>Measures the probe product now (no cache), interleaving the two dtypes so that both see the same machine load.</summary>
    public static PrecisionProbeResult Measure(Device device, string? key = null)
    {
        key ??= Key(device);
        var (native, evidence) = NativeBf16(device);
        using var scope = NewDisposeScope();
        var a = randn(M, K, device: device);
        var b = randn(K, N, device: device);
        double fp32 = double.MaxValue, bf16 = double.MaxValue;
        Tensor? a16 = native ? a.to(ScalarType.BFloat16) : null, b16 = native ? b.to(ScalarType.BFloat16) : null;
        for (int i = 0; i < Warmup + Repeats; i++)
        {
            double t32 = Time(a, b, device);
            double t16 = a16 is null ? double.MaxValue : Time(a16, b16!, device);
            if (i < Warmup) continue;
            fp32 = Math.Min(fp32, t32);
            bf16 = Math.Min(bf16, t16);
        }
        double flops = 2.0 * M * K * N;
        return new PrecisionProbeResult(key, device.ToString(), native, evidence, flops / fp32 / 1e9, native ? flops / bf16 / 1e9 : null);
    }

    static double Time(Tensor a, Tensor b, Device device)
    {
        var sw = Stopwatch.StartNew();
        using (var c = mm(a, b)) if (device.type == DeviceType.CUDA) cuda.synchronize();
        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Whether <paramref name="device"/> does bfloat16 arithmetic in hardware. CPUs: the <c>avx512_bf16</c> or
    /// <c>amx_bf16</c> flag (x86) or <c>bf16</c> (Arm) in <c>/proc/cpuinfo</c>; without it (or off Linux) the answer is
    /// no. GPUs: assumed yes, and the measured product decides (a GPU without bf16 units is slower in bf16).
    /// </summary>
    public static (bool Native, string Evidence) NativeBf16(Device device)
    {
        if (device.type != DeviceType.CPU) return (true, $"{device.type} device: decided by the measured product");
        var flags = CpuFlags();
        if (flags is null) return (false, "no /proc/cpuinfo to read CPU flags from; fp32 assumed");
        var found = new[] { "amx_bf16", "avx512_bf16", "bf16" }.Where(flags.Contains).ToList();
        return found.Count > 0
            ? (true, $"CPU flag {string.Join(", ", found)}")
            : (false, "the CPU has no avx512_bf16, amx_bf16 or bf16 flag (bf16 would be emulated)");
    }

    /// <summary>What the probe's answer depends on, as text: device, CPU model, its bf16-related flags, threads, libtorch.</summary>
    public static string Key(Device device)
    {
        var flags = CpuFlags() ?? new HashSet<string>();
        var relevant = flags.Where(f => f is "avx2" or "avx512f" or "avx512_bf16" or "amx_bf16" or "amx_tile" or "bf16" or "asimd" or "sve").Order();
        return $"device {device}; cpu {CpuModel() ?? "unknown"}; flags {string.Join(" ", relevant)}; threads {TorchRuntime.Threads}; libtorch {TorchRuntime.LibTorchVersion}";
    }

    static string Hash(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16].ToLowerInvariant();

    static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    /// <summary>A cached result for exactly <paramref name="key"/>; null when absent, unreadable or for another key (a hash collision, or a hand-edited file).</summary>
    static PrecisionProbeResult? TryRead(string path, string key)
    {
        try
        {
            if (!File.Exists(path)) return null;
            var r = JsonSerializer.Deserialize<PrecisionProbeResult>(File.ReadAllText(path), JsonOptions);
            return r is not null && r.Key == key ? r : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return null; }
    }

    static string[]? cpuinfo;

    static string[]? CpuInfo()
    {
        if (cpuinfo is not null) return cpuinfo;
        try { return cpuinfo = File.Exists("/proc/cpuinfo") ? File.ReadAllLines("/proc/cpuinfo") : null; }
        catch (IOException) { return null; }
    }

    static HashSet<string>? CpuFlags()
    {
        var line = CpuInfo()?.FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal) || l.StartsWith("Features", StringComparison.Ordinal));
        return line is null ? null : line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
    }

    static string? CpuModel()
    {
        var line = CpuInfo()?.FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal) || l.StartsWith("CPU part", StringComparison.Ordinal));
        return line?[(line.IndexOf(':') + 1)..].Trim();
    }
}
