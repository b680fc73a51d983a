using System.Runtime.InteropServices;
using System.Diagnostics;
using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Runtime;

/// <summary>
/// The one entry point that gets TorchSharp ready: applies <see cref="LibStdCxxCompat"/>, picks the device and sets
/// the thread count. The kit's module initializer (<see cref="KitModuleInitializer"/>) calls
/// <see cref="EnsureInitialized"/> before any kit type is used, so neither the kit's code nor its users need to; a
/// program that calls TorchSharp before touching any kit type calls it first.
/// </summary>
public static class TorchRuntime
{
    static readonly object Gate = new();
    static bool initialized;

    /// <summary>Why the module initializer's attempt failed, if it did; the next <see cref="EnsureInitialized"/> retries.</summary>
    public static Exception? InitializationError { get; internal set; }

    /// <summary>What the compatibility fix did, once initialised.</summary>
    public static NativeFixReport? NativeFix { get; private set; }

    /// <summary>The device tensors go to: <see cref="KitOptions.Device"/> as last <see cref="Configure"/>d, else CUDA when available, else CPU.</summary>
    public static Device Device
    {
        get { EnsureInitialized(); return device!; }
    }

    // Not initialised inline: touching any torch static before the native fix runs would load libLibTorchSharp too early.
    static Device? device;

    /// <summary>Initialises once with the default <see cref="KitOptions"/> (auto device, all cores, allocator tuned);
    /// later calls return at once. Reads no environment variable: the edges pass theirs to <see cref="Configure"/>.</summary>
    public static void EnsureInitialized()
    {
        lock (Gate)
        {
            if (initialized) return;
            NativeFix = LibStdCxxCompat.Apply();
            NativeAllocator.Tune(enabled: true);
            // The first call into LibTorchSharp; fails loudly here rather than deep in user code.
            torch.InitializeDeviceType(DeviceType.CPU);
            device = ChooseDevice("auto");
            SetThreads(Environment.ProcessorCount);
            initialized = true;
            InitializationError = null;
        }
    }

    /// <summary>Applies the process-wide part of <paramref name="options"/>: the device later tensors go to, libtorch's
    /// thread count (when set) and the allocator tuning. Kernel choices are not process-wide: they travel with the model
    /// and the optimizer.</summary>
    public static void Configure(KitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        EnsureInitialized();
        lock (Gate)
        {
            NativeAllocator.Tune(options.MallocTuning);
            device = ChooseDevice(options.Device);
            if (options.Threads is { } n) SetThreads(n);
        }
    }

    /// <summary>Sets libtorch's intra-op thread count.</summary>
    public static void SetThreads(int threads)
    {
        if (threads < 1 || threads > KitOptions.MaxThreads)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, $"expected a thread count from 1 to {KitOptions.MaxThreads} (4 per core)");
        torch.set_num_threads(threads);
    }

    public static int Threads => torch.get_num_threads();

    static Device ChooseDevice(string? requested)
    {
        if (string.IsNullOrEmpty(requested) || requested == "auto")
            return torch.cuda.is_available() ? CUDA : CPU;
        if (requested.StartsWith("cuda", StringComparison.OrdinalIgnoreCase) && !torch.cuda.is_available())
            throw new InvalidOperationException($"device (MTK_DEVICE, runtime.device): '{requested}' was asked for, but CUDA is not available (build with -p:MtkDevice=cuda on a machine with a GPU).");
        try { return torch.device(requested); }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or NotSupportedException or ExternalException)
        {
            throw new ArgumentException($"device (MTK_DEVICE, runtime.device): expected auto, cpu, cuda or cuda:<index>, found '{requested}'.", e);
        }
    }

    /// <summary>The TorchSharp package version, from its assembly.</summary>
    public static string TorchSharpVersion =>
        typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    /// <summary>The libtorch version, read from the native package folder that holds libtorch_cpu.</summary>
    public static string LibTorchVersion
    {
        get
        {
            // .../libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native
            foreach (var dir in NativeSearch.Candidates().Where(d => File.Exists(Path.Combine(d, "libtorch_cpu.so"))))
                if (new DirectoryInfo(dir).Parent?.Parent?.Parent is { Parent.Name: var pkg } versionDir
                    && pkg.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase))
                    return $"{versionDir.Name} ({pkg})";
            return "unknown (no libtorch NuGet package folder found)";
        }
    }

    /// <summary>Measures fp32 matrix-multiply throughput in GFLOP/s for [m×k]·[k×n], best of <paramref name="repeats"/>.</summary>
    public static double MeasureGemmGflops(int m = 2048, int k = 2048, int n = 2048, int repeats = 5)
    {
        EnsureInitialized();
        using var scope = NewDisposeScope();
        var a = randn(m, k, device: Device);
        var b = randn(k, n, device: Device);
        mm(a, b); // warm-up
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            using (var c = mm(a, b)) { if (Device.type == DeviceType.CUDA) torch.cuda.synchronize(); }
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return 2.0 * m * k * n / best / 1e9;
    }
}
