using System.Runtime.InteropServices;
using System.Diagnostics;
using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiTaskKit.Runtime;

/// <summary>
/// The one entry point that gets TorchSharp ready, and the one place that holds the kit's process-wide state. The kit's
/// module initializer (<see cref="KitModuleInitializer"/>) calls <see cref="EnsureInitialized"/> before any kit type is
/// used, so neither the kit's code nor its users need to; a program that calls TorchSharp before touching any kit type
/// calls it first.
/// <para>What is global here, and why it cannot be passed in instead:</para>
/// <list type="bullet">
/// <item>initialisation (<see cref="LibStdCxxCompat"/>): the patched native library must be loaded before TorchSharp
/// loads its own, once per process;</item>
/// <item>libtorch's intra-op thread count (<see cref="SetThreads"/>): <c>at::set_num_threads</c> sizes one pool for the
/// whole process;</item>
/// <item>glibc's allocator tuning (<see cref="NativeAllocator"/>): <c>mallopt</c> acts on the process's heap;</item>
/// <item>libtorch's default generator (<see cref="SeedGlobalGenerator"/>): dropout (libtorch's <c>dropout</c> in the
/// heads, the seed of <see cref="Models.Bert.FastDropout"/>) and parameter initialisation draw from it, and TorchSharp's
/// functional dropout and modules' initialisers take no generator;</item>
/// <item><see cref="DefaultDevice"/>: only where a call is given no device (hand-written notebook code, the CLI's
/// benchmarks), as the edges configured it.</item>
/// </list>
/// <para>The device and the precision of a run are not global: <see cref="Training.Trainer"/>, <see cref="Runs.RunPredictor"/>
/// and <see cref="Runs.ModelFactory"/> resolve <see cref="KitOptions.Device"/> (<see cref="ResolveDevice"/>) and
/// <see cref="KitOptions.Precision"/> themselves and pass them down, and evaluation takes the device from the model's
/// parameters; so two runs in one process (a notebook, tests in parallel) keep their own.</para>
/// </summary>
public static class TorchRuntime
{
    static readonly object Gate = new();
    static bool initialized;

    /// <summary>Why the module initializer's attempt failed, if it did; the next <see cref="EnsureInitialized"/> retries.</summary>
    public static Exception? InitializationError { get; internal set; }

    /// <summary>What the compatibility fix did, once initialised.</summary>
    public static NativeFixReport? NativeFix { get; private set; }

    /// <summary>The device of calls that are given none: <see cref="KitOptions.Device"/> as an edge last
    /// <see cref="Configure"/>d it, else CUDA when available, else CPU. No run reads it: a run's device is its own
    /// <see cref="KitOptions.Device"/>.</summary>
    public static Device DefaultDevice
    {
        get { EnsureInitialized(); return defaultDevice!; }
    }

    // Not initialised inline: touching any torch static before the native fix runs would load libLibTorchSharp too early.
    static Device? defaultDevice;

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
            defaultDevice = Choose("auto");
            SetThreads(Environment.ProcessorCount);
            initialized = true;
            InitializationError = null;
        }
    }

    /// <summary>For the edges (the <c>mtk</c> CLI, the notebook extension): applies the process-wide part of
    /// <paramref name="options"/> (<see cref="ConfigureProcess"/>) and makes its device the <see cref="DefaultDevice"/> of
    /// calls given none. Kernel choices, the device and the precision of a run travel with the run's own options.</summary>
    public static void Configure(KitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var device = ResolveDevice(options.Validate().Device); // a bad device name changes nothing
        ConfigureProcess(options);
        lock (Gate) defaultDevice = device;
    }

    /// <summary>Applies what of <paramref name="options"/> is process-wide by nature: libtorch's thread count (when set)
    /// and the allocator tuning. A run calls this and nothing else, so it leaves <see cref="DefaultDevice"/> alone.</summary>
    public static void ConfigureProcess(KitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        EnsureInitialized();
        lock (Gate)
        {
            NativeAllocator.Tune(options.MallocTuning);
            if (options.Threads is { } n) SetThreads(n);
        }
    }

    /// <summary>Re-seeds libtorch's default generator, the one dropout and parameter initialisation draw from (they take
    /// no generator in TorchSharp). Process-wide: two runs that train at once in one process draw each other's numbers,
    /// which is why the tests that train sit in one serial collection.</summary>
    public static void SeedGlobalGenerator(long seed)
    {
        EnsureInitialized();
        torch.manual_seed(seed);
    }

    /// <summary>Sets libtorch's intra-op thread count.</summary>
    public static void SetThreads(int threads)
    {
        if (threads < 1 || threads > KitOptions.MaxThreads)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, $"expected a thread count from 1 to {KitOptions.MaxThreads} (4 per core)");
        torch.set_num_threads(threads);
    }

    public static int Threads => torch.get_num_threads();

    /// <summary>The device <paramref name="requested"/> names (<see cref="KitOptions.Device"/>): <c>auto</c> (or empty)
    /// is CUDA when available, else CPU; <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c> (refused without CUDA) or another name
    /// libtorch knows. It changes nothing.</summary>
    public static Device ResolveDevice(string? requested)
    {
        EnsureInitialized();
        return Choose(requested);
    }

    static Device Choose(string? requested)
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
        var device = DefaultDevice;
        var a = randn(m, k, device: device);
        var b = randn(k, n, device: device);
        mm(a, b); // warm-up
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            using (var c = mm(a, b)) { if (device.type == DeviceType.CUDA) torch.cuda.synchronize(); }
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return 2.0 * m * k * n / best / 1e9;
    }
}
