using System.Text.Json.Serialization;

namespace MultiTaskKit.Runtime;

/// <summary>
/// The CPU kernels the kit may use in place of libtorch's. Each is a choice of speed: fast dropout and fused
/// softmax-dropout draw different masks from libtorch's (so results differ from a run without them, and are
/// reproducible with them), fused AdamW gives the same numbers. Passed to the model (<see cref="Models.Bert.BertConfig.Kernels"/>)
/// and the optimizer (<see cref="Optim.LeanAdamW.Fused"/>); recorded with every run.
/// </summary>
public sealed record KernelOptions
{
    /// <summary>Dropout masks from <see cref="Models.Bert.FastDropout"/>'s counter-based hash instead of libtorch's
    /// serial sampler (BERT's hidden and attention dropout). Environment at the edges: <c>MTK_FAST_DROPOUT=0</c> turns it off.</summary>
    public bool FastDropout { get; init; } = true;

    /// <summary>Attention's softmax and dropout as one operation (<see cref="Models.Bert.SoftmaxDropout"/>); needs
    /// <see cref="FastDropout"/>. Environment at the edges: <c>MTK_FUSED_SOFTMAX_DROPOUT=0</c>.</summary>
    public bool FusedSoftmaxDropout { get; init; } = true;

    /// <summary>AdamW's update in one pass per cache-sized chunk (<see cref="Optim.AdamWKernel"/>), the same numbers.
    /// Environment at the edges: <c>MTK_FUSED_ADAMW=0</c>.</summary>
    [JsonPropertyName("fused_adamw")]
    public bool FusedAdamW { get; init; } = true;

    public static KernelOptions Default { get; } = new();
}

/// <summary>
/// How the kit runs, as opposed to what it trains: device, threads, precision, kernel choices and allocator tuning.
/// One record, passed in (the trainer through <see cref="Runs.RunConfig.Runtime"/>, the model, the optimizer) and written
/// to every run's <c>config.json</c>. A run resolves its own device and precision from it and applies only the thread
/// count and the allocator tuning to the process (<see cref="TorchRuntime.ConfigureProcess"/>), so two runs in one
/// process keep their devices. Nothing in the library reads the environment for these: the edges (the <c>mtk</c> CLI,
/// the notebook extension) call <see cref="FromEnvironment"/> and <see cref="TorchRuntime.Configure"/>.
/// </summary>
public sealed record KitOptions
{
    /// <summary><c>auto</c> (CUDA when available, else CPU), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>; resolved by
    /// whoever runs with these options (<see cref="TorchRuntime.ResolveDevice"/>).</summary>
    public string Device { get; init; } = "auto";

    /// <summary>libtorch's intra-op threads; null: leave the count as it is (all cores unless set before). At most
    /// <see cref="MaxThreads"/>.</summary>
    public int? Threads { get; init; }

    /// <summary>The most intra-op threads a run may ask for: four per core (at least 8). More only oversubscribes the
    /// cores, and tens of thousands make libgomp fail to create them or overflow the stack.</summary>
    public static int MaxThreads => Math.Max(8, 4 * Environment.ProcessorCount);

    /// <summary>The arithmetic of the BERT trunk's matrix products (<see cref="Runtime.Precision"/>; mixed bf16 in
    /// <see cref="Models.MixedPrecision"/>). <c>auto</c> resolves when a run starts (<see cref="PrecisionProbe"/>), and
    /// the run records what it resolved to. Default fp32; the case-study presets ask for auto. Environment at the
    /// edges: <c>MTK_PRECISION</c>.</summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    public KernelOptions Kernels { get; init; } = KernelOptions.Default;

    /// <summary>Keep glibc from returning freed heap to the kernel between steps (<see cref="NativeAllocator"/>): speed
    /// only, numbers unchanged. Environment at the edges: <c>MTK_MALLOC_TUNING=0</c> turns it off.</summary>
    public bool MallocTuning { get; init; } = true;

    /// <summary>The options the environment asks for: <c>MTK_DEVICE</c>, <c>MTK_THREADS</c>, <c>MTK_FAST_DROPOUT</c>,
    /// <c>MTK_FUSED_SOFTMAX_DROPOUT</c>, <c>MTK_FUSED_ADAMW</c>, <c>MTK_MALLOC_TUNING</c>. For the edges only.</summary>
    /// <param name="variables">Reads a variable; default <see cref="Environment.GetEnvironmentVariable(string)"/>.</param>
    public static KitOptions FromEnvironment(Func<string, string?>? variables = null)
    {
        variables ??= Environment.GetEnvironmentVariable;
        bool On(string name) => variables(name) switch
        {
            null or "" or "1" => true,
            "0" => false,
            var v => throw new ArgumentException($"{name}: expected 0 or 1, found '{v}'."),
        };
        int? threads = variables("MTK_THREADS") is { Length: > 0 } t
            ? int.TryParse(t, out var n) && n >= 1 && n <= MaxThreads ? n : throw new ArgumentException($"MTK_THREADS: expected an integer from 1 to {MaxThreads}, found '{t}'.")
            : null;
        return new KitOptions
        {
            Device = variables("MTK_DEVICE") is { Length: > 0 } d ? d : "auto",
            Threads = threads,
            Kernels = new KernelOptions
            {
                FastDropout = On("MTK_FAST_DROPOUT"),
                FusedSoftmaxDropout = On("MTK_FUSED_SOFTMAX_DROPOUT"),
                FusedAdamW = On("MTK_FUSED_ADAMW"),
            },
            MallocTuning = On("MTK_MALLOC_TUNING"),
            Precision = variables("MTK_PRECISION") is { Length: > 0 } p ? PrecisionNames.Parse(p, "MTK_PRECISION") : Precision.Fp32,
        };
    }

    /// <summary>Checks the values, naming the field.</summary>
    public KitOptions Validate(string source = "runtime")
    {
        if (Threads is < 1) throw new ArgumentException($"{source}.threads: expected a positive integer, found {Threads}.");
        if (Threads > MaxThreads)
            throw new ArgumentException($"{source}.threads: expected at most {MaxThreads} (4 per core, {Environment.ProcessorCount} cores here), found {Threads}.");
        if (string.IsNullOrWhiteSpace(Device)) throw new ArgumentException($"{source}.device: expected auto, cpu, cuda or cuda:N, found '{Device}'.");
        return this;
    }
}
