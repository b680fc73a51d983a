using System.Diagnostics;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using TorchSharp;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;

namespace MultiTaskKit.Benchmarks;

/// <summary>What <c>mtk bench</c> measures and how long it may take.</summary>
public sealed record BenchOptions
{
    /// <summary>Every section, in the order they run.</summary>
    public static readonly IReadOnlyList<string> AllSections = ["gemm", "step", "naive", "pytorch", "inference", "tokenizer", "methods", "profile", "soak"];

    /// <summary>Sections to run; empty means all.</summary>
    public IReadOnlySet<string> Only { get; init; } = new HashSet<string>();
    /// <summary>Timed training steps per variant, one per interleaved round, after <see cref="Warmup"/> untimed ones.</summary>
    public int Steps { get; init; } = 9;
    /// <summary>Untimed steps per variant first: the optimiser's state, the heap reaching its peak, the JIT's second tier.</summary>
    public int Warmup { get; init; } = 3;
    /// <summary>Steps of the soak; the early memory reading is at step 100.</summary>
    public int SoakSteps { get; init; } = 2000;
    /// <summary>Batches of the soak: the case-study model at small batches, so 2,000 steps fit in minutes on 2 cores.</summary>
    public IReadOnlyList<BatchShape> SoakBatches { get; init; } = [new(2, 32), new(2, 16)];
    /// <summary>The encoder shape; the case study's MiniLM unless a test shrinks it.</summary>
    public TransformerShape Shape { get; init; } = TransformerShape.MiniLM;
    /// <summary>The two step shapes (task 1 classification, task 2 regression).</summary>
    public IReadOnlyList<IReadOnlyList<BatchShape>> StepShapes { get; init; } =
        [[new(16, 128), new(16, 64)], [new(16, 256), new(16, 64)]];
    public int GemmRepeats { get; init; } = 10;
    /// <summary>Batches of the method-overhead section: the case-study model, one batch read by both tasks.</summary>
    public IReadOnlyList<BatchShape> MethodBatches { get; init; } = [new(8, 64), new(8, 64)];
    /// <summary>Timed steps per method and round, and interleaved rounds, of the method-overhead section.</summary>
    public int MethodSteps { get; init; } = 3;
    public int MethodRounds { get; init; } = 2;
    /// <summary>Methods alive at once in the method-overhead section, equal weighting included: each group of this many
    /// is built, timed interleaved against its own equal-weighting step, and freed before the next (every method holds
    /// a whole model with its optimizer state; all of them at once took about 17 GB).</summary>
    public int MethodGroupSize { get; init; } = 6;
    /// <summary>Methods to compare (names of <see cref="MethodCatalog"/>; "ew" is always added); null: all.</summary>
    public IReadOnlyList<string>? MethodNames { get; init; }
    public string Python { get; init; } = PyTorchReference.DefaultPython;
    /// <summary>Also time the naive step at the second shape (the issue's table has it; it costs a minute).</summary>
    public bool NaiveAtEveryShape { get; init; } = true;

    /// <summary>Also time the kit's step with libtorch's dropout instead of <see cref="Models.Bert.FastDropout"/>.</summary>
    public bool CompareLibTorchDropout { get; init; } = true;

    /// <summary>Also time the kit's step with AdamW as libtorch's operations one by one instead of <see cref="Training.AdamWKernel"/>.</summary>
    public bool CompareLibTorchAdamW { get; init; } = true;

    /// <summary>Also time the kit's step, at every shape, with softmax and attention dropout as libtorch's chain instead of <see cref="Models.Bert.SoftmaxDropout"/>.</summary>
    public bool CompareUnfusedSoftmaxDropout { get; init; } = true;

    /// <summary>Also time the kit's step with attention-probability dropout off (opt-in: changes results), which trains with fused attention.</summary>
    public bool CompareAttentionDropoutOff { get; init; } = true;

    /// <summary>Also time the step's matrix products alone (<see cref="MatrixProductsStep"/>), the floor of any libtorch implementation.</summary>
    public bool CompareMatrixProducts { get; init; } = true;

    /// <summary>
    /// The precisions of the step, floor, GEMM and inference rows: <c>fp32</c> only; <c>bf16</c>, fp32 and bf16 side by
    /// side (bf16 even where the CPU lacks native bf16); <c>auto</c> (default), bf16 rows too where
    /// <see cref="PrecisionProbe"/> picks bf16, else fp32 only and the report says why. The kernel comparisons stay fp32.
    /// </summary>
    public Precision Precision { get; init; } = Precision.Auto;

    /// <summary>Whether this run has bf16 rows (<see cref="Precision"/> resolved).</summary>
    public bool Bf16 => Precision == Precision.Bf16 || (Precision == Precision.Auto && PrecisionProbe.Probe().Choice == Precision.Bf16);

    /// <summary>A fast pass: 2 timed steps, a 300-step soak, no second naive shape.</summary>
    public static BenchOptions Quick(BenchOptions o) => o with { Steps = 2, SoakSteps = 300, GemmRepeats = 5, NaiveAtEveryShape = false, MethodSteps = 2, MethodRounds = 1 };

    public bool Runs(string section) => Only.Count == 0 || Only.Contains(section);

    public void Validate()
    {
        foreach (var s in Only)
            if (!AllSections.Contains(s))
                throw new ArgumentException($"--only: unknown section '{s}'; expected some of {string.Join(", ", AllSections)}.");
        if (Steps < 1) throw new ArgumentException($"--steps: expected at least 1, found {Steps}.");
        if (SoakSteps < 100) throw new ArgumentException($"--soak-steps: expected at least 100 (memory is first read at step 100), found {SoakSteps}.");
        Shape.Validate();
    }
}

/// <summary>
/// The parts of the kit a bench run exercises, supplied by their owners' code. A part left null is reported as
/// unavailable with <see cref="KitParts"/>'s reason instead of being skipped silently.
/// </summary>
public sealed class KitParts
{
    /// <summary>The kit's own case-study step (BERT trunk split at layer k, two tasks).</summary>
    /// <summary>Builds the kit's training step at a shape with the given kernel choices.</summary>
    public Func<TransformerShape, IReadOnlyList<BatchShape>, Runtime.KernelOptions, BenchStep>? TrainingStep { get; init; }
    public string TrainingStepMissing { get; init; } = "the kit's BERT trunk and multi-task model are not built into this binary";

    /// <summary>Encoder inference, kit against ONNX Runtime: returns both throughputs.</summary>
    public Func<BenchOptions, IReadOnlyList<ThroughputResult>>? Inference { get; init; }
    public string InferenceMissing { get; init; } = "the kit's MiniLM and the ONNX Runtime comparison are not built into this binary";

    public Func<BenchOptions, IReadOnlyList<ThroughputResult>>? Tokenizer { get; init; }
    public string TokenizerMissing { get; init; } = "the kit's tokenizer is not built into this binary";

    public Func<BenchOptions, IReadOnlyList<MethodOverhead>>? Methods { get; init; }
    public string MethodsMissing { get; init; } = "the weighting and aggregation methods are not built into this binary";
}

/// <summary>Runs the sections of <c>mtk bench</c> in one process, so every figure is comparable with every other.</summary>
public static class BenchRunner
{
    /// <summary>The implementation name of the floor row (<see cref="MatrixProductsStep"/>).</summary>
    public const string MatrixProductsRow = "matrix products alone (floor)";

    /// <summary>The implementation name of the bf16 floor row: the mixed-precision step's products alone, in bf16.</summary>
    public const string MatrixProductsBf16Row = "matrix products alone, bf16 (floor)";

    /// <summary>The implementation name of the kit's mixed-precision step row.</summary>
    public const string KitBf16Row = "kit bf16";

    /// <summary>The step row of the PyTorch reference at <paramref name="precision"/>: "pytorch" (fp32) or "pytorch bf16".</summary>
    public static string PyTorchRow(string precision) => precision == "fp32" ? "pytorch" : $"pytorch {precision}";

    public static BenchReport Run(BenchOptions o, KitParts kit, Action<string>? log = null)
    {
        o.Validate();
        var total = Stopwatch.StartNew();
        var inner = log ?? (_ => { });
        var sectionClock = Stopwatch.StartNew();
        string? section = null;
        var report0 = (BenchReport?)null;
        // Every log line opens a section: the time since the previous line goes to the previous section.
        log = line =>
        {
            if (section is not null && report0 is not null) report0.SectionSeconds[section] = report0.SectionSeconds.GetValueOrDefault(section) + sectionClock.Elapsed.TotalSeconds;
            section = line;
            sectionClock.Restart();
            inner(line);
        };
        var report = new BenchReport { Machine = MachineInfo(), Settings = Settings(o) };
        report0 = report;
        bool bf16 = o.Bf16;
        report.Settings["precision"] = o.Precision == Precision.Auto ? $"auto ({(bf16 ? "bf16" : "fp32")})" : o.Precision.Name();
        if (o.Precision == Precision.Auto && !bf16 && PrecisionProbe.Probe() is var probe)
            report.Unavailable["bf16"] = $"--precision auto chose fp32 on this machine ({probe.Evidence}; probe bf16 ÷ fp32 {probe.Speedup?.ToString("F2") ?? "not measured"}); pass --precision bf16 to measure it anyway";
        var shapeA = o.StepShapes[0];
        // A failing part is reported (in red, with the exception) and the run goes on: a crash in the last minute of a
        // half-hour run must not lose every figure before it.
        void Guard(string part, Action action)
        {
            try { action(); }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                report.Unavailable[part] = $"failed: {e.GetType().Name}: {e.Message}";
                inner($"{part} failed: {e}");
            }
        }

        bool anyStep = o.Runs("step") || o.Runs("naive") || o.Runs("pytorch");
        if (o.Runs("gemm") || anyStep)
        {
            log("GEMM at the model's shapes");
            Guard("gemm", () =>
            {
                report.Gemm = GemmBench.Run(o.Shape, o.GemmRepeats, (int)shapeA[0].TokenCount, bf16).Select(g => g with { AtStart = g.Gflops }).ToList();
                SetGemmFigures(report, o.Shape);
            });
        }

        for (int i = 0; i < o.StepShapes.Count; i++)
        {
            var tasks = o.StepShapes[i];
            bool first = i == 0;
            Guard($"step {Describe(tasks)}", () =>
            {
                // Every variant at this shape is built first and then timed interleaved, one step of each per round, so
                // that a burst of load elsewhere on the machine, or the heap still growing, hits them all alike.
                var rows = new List<StepRow>();
                var owned = new List<IDisposable>();
                try
                {
                    if (o.Runs("step"))
                    {
                        if (kit.TrainingStep is null) report.Unavailable["step"] = kit.TrainingStepMissing;
                        else
                        {
                            var all = Runtime.KernelOptions.Default;
                            // Each variant is its own step (same seed: same weights and batches) built with other kernel choices.
                            void Variant(string name, TransformerShape shape, Runtime.KernelOptions kernels)
                            {
                                var variant = kit.TrainingStep(shape, tasks, kernels);
                                owned.Add(variant);
                                rows.Add(new StepRow(name, variant));
                            }
                            Variant("kit", o.Shape, all);
                            // With libtorch's dropout: what the cheaper masks are worth, side by side.
                            if (first && o.CompareLibTorchDropout) Variant("kit (libtorch dropout)", o.Shape, all with { FastDropout = false });
                            // With AdamW as libtorch's eight operations per parameter: what the fused update is worth.
                            if (first && o.CompareLibTorchAdamW) Variant("kit (AdamW op by op)", o.Shape, all with { FusedAdamW = false });
                            // With softmax and the attention mask as separate libtorch calls and a float mask.
                            if (o.CompareUnfusedSoftmaxDropout) Variant("kit (softmax, dropout unfused)", o.Shape, all with { FusedSoftmaxDropout = false });
                            // Opt-in, changes results: no dropout on attention probabilities lets training use fused attention.
                            if (first && o.CompareAttentionDropoutOff)
                            {
                                var fused = kit.TrainingStep(o.Shape with { AttentionDropout = 0 }, tasks, all);
                                owned.Add(fused);
                                rows.Add(new StepRow("kit (attention dropout off, opt-in)", fused));
                            }
                        }
                    }
                    // The mixed-precision step: the same model, seed and batches with its trunk's products in bf16.
                    if (o.Runs("step") && bf16 && kit.TrainingStep is not null)
                    {
                        var mixed = kit.TrainingStep(o.Shape, tasks, Runtime.KernelOptions.Default);
                        Models.MixedPrecision.Apply(mixed.Model, Precision.Bf16);
                        owned.Add(mixed);
                        rows.Add(new StepRow(KitBf16Row, mixed));
                    }
                    // The floor: the same step's matrix products and nothing else, at the same shapes, timed alongside.
                    if (o.Runs("step") && o.CompareMatrixProducts)
                    {
                        var products = new MatrixProductsStep(o.Shape, tasks);
                        owned.Add(products);
                        rows.Add(new StepRow(MatrixProductsRow, products));
                        if (bf16)
                        {
                            var products16 = new MatrixProductsStep(o.Shape, tasks, dtype: TorchSharp.torch.ScalarType.BFloat16);
                            owned.Add(products16);
                            rows.Add(new StepRow(MatrixProductsBf16Row, products16));
                        }
                    }
                    if (o.Runs("naive") && (first || o.NaiveAtEveryShape))
                    {
                        var naive = new NaiveTransformerStep(o.Shape, tasks);
                        owned.Add(naive);
                        rows.Add(new StepRow("naive", naive));
                    }
                    if (rows.Count == 0) return;
                    log($"training steps {Describe(tasks)}: {string.Join(", ", rows.Select(r => r.Implementation))}, {o.Warmup} warm-up and {o.Steps} timed steps each, interleaved");
                    report.Steps.AddRange(TimeInterleaved(rows, o, report));
                }
                finally { foreach (var s in owned) s.Dispose(); }
            });
        }

        // The ceiling again, now that the process is warm: the better pass is the figure, and every step row so far is
        // recomputed against it.
        if (report.Gemm.Count > 0 && report.Steps.Count > 0)
        {
            log("GEMM at the model's shapes, second pass");
            Guard("gemm (second pass)", () =>
            {
                report.Gemm = GemmBench.Combine(report.Gemm, GemmBench.Run(o.Shape, o.GemmRepeats, (int)shapeA[0].TokenCount, bf16));
                SetGemmFigures(report, o.Shape);
                report.Steps = report.Steps.Select(s => s with
                {
                    FractionOfModelGemm = s.AchievedGflops / report.ModelGemmGflops,
                    FractionOfGemm2048 = s.AchievedGflops / report.Gemm2048Gflops,
                }).ToList();
            });
        }

        // The peer at fp32, and with CPU autocast to bf16 beside it (what HF's bf16=True does on a CPU), whatever the
        // kit's own precision: the kit's fp32 step is compared with the first, its bf16 step with the second.
        if (o.Runs("pytorch"))
            foreach (var precision in PyTorchReference.Precisions)
                Guard(PyTorchRow(precision), () =>
                {
                    log($"PyTorch reference, {precision} (subprocess)");
                    var py = PyTorchReference.Run(o.Shape, shapeA[0], shapeA[^1], TorchRuntime.Threads, o.Steps, o.Python, precision: precision);
                    if (precision == "fp32") report.PyTorch = py; else report.PyTorchBf16 = py;
                    if (!py.Available) report.Unavailable[PyTorchRow(precision)] = py.Reason!;
                    else
                    {
                        var flops = StepFlops.Training(o.Shape, shapeA);
                        report.Steps.Add(new StepResult(PyTorchRow(precision), Describe(shapeA), py.SecondsPerStep, py.SecondsPerStep, [py.SecondsPerStep],
                            shapeA.Sum(t => t.TokenCount), py.TokensPerSecond, flops / 1e9, py.AchievedGflops,
                            py.AchievedGflops / report.ModelGemmGflops, py.AchievedGflops / report.Gemm2048Gflops,
                            $"torch {py.TorchVersion}, {py.Precision}, {py.BlasKind} BLAS; its own 2048³ fp32 GEMM {py.GemmGflops:F0} GFLOP/s"));
                    }
                });

        Optional(report, "inference", o, kit.Inference, kit.InferenceMissing, log, r => report.Throughput.AddRange(r));
        Optional(report, "tokenizer", o, kit.Tokenizer, kit.TokenizerMissing, log, r => report.Throughput.AddRange(r));
        Optional(report, "methods", o, kit.Methods, kit.MethodsMissing, log, r => report.Methods.AddRange(r));

        if (o.Runs("profile"))
        {
            if (kit.TrainingStep is not null)
                Guard("profile (kit)", () =>
                {
                    log("profile: kit step");
                    using var step = kit.TrainingStep(o.Shape, shapeA, Runtime.KernelOptions.Default);
                    report.Profile.AddRange(StepProfile.Run(step, Math.Max(2, Math.Min(o.Steps, 3))));
                });
            else report.Unavailable["profile (kit)"] = kit.TrainingStepMissing;
            Guard("profile (naive)", () =>
            {
                log("profile: naive step");
                using var naive = new NaiveTransformerStep(o.Shape, shapeA);
                report.Profile.AddRange(StepProfile.Run(naive, Math.Max(2, Math.Min(o.Steps, 3))));
            });
        }

        if (o.Runs("soak")) Guard("soak", () =>
        {
            BenchStep? soakStep = kit.TrainingStep?.Invoke(o.Shape, o.SoakBatches, Runtime.KernelOptions.Default);
            if (soakStep is null) report.Unavailable["soak (kit)"] = kit.TrainingStepMissing + "; soaking the naive step instead";
            soakStep ??= new NaiveTransformerStep(o.Shape, o.SoakBatches);
            using (soakStep)
            {
                log($"soak: {o.SoakSteps} steps of {soakStep.Name} at {Describe(o.SoakBatches)}");
                report.Soak.Add(Soak.Run(soakStep, o.SoakSteps, progress: new InlineProgress<int>(i => { if (i % 500 == 0) inner($"  soak step {i}"); })));
            }
        });

        log("done");
        report.SectionSeconds.Remove("done");
        Ratios(report);
        report.Targets = Targets(report);
        report.TotalSeconds = total.Elapsed.TotalSeconds;
        return report;
    }

    static void SetGemmFigures(BenchReport report, TransformerShape shape)
    {
        report.ModelGemmGflops = GemmBench.ModelGemmGflops(report.Gemm, shape);
        report.ModelGemmBf16Gflops = report.Gemm.Any(g => g.Dtype == "bf16") ? GemmBench.ModelGemmGflops(report.Gemm, shape, "bf16") : double.NaN;
        report.Gemm2048Gflops = report.Gemm.FirstOrDefault(g => g.M == 2048 && g.K == 2048 && g.N == 2048)?.Gflops ?? double.NaN;
    }

    static void Optional<T>(BenchReport report, string section, BenchOptions o, Func<BenchOptions, IReadOnlyList<T>>? run,
        string missing, Action<string> log, Action<IReadOnlyList<T>> add)
    {
        if (!o.Runs(section)) return;
        if (run is null) { report.Unavailable[section] = missing; return; }
        log(section);
        try { add(run(o)); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A missing model file or data folder is a reason to report, not a reason to lose the rest of the run.
            report.Unavailable[section] = e is IOException or ArgumentException ? e.Message : $"failed: {e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>One variant of the step to time: a step object and what to switch on and off around each of its steps.</summary>
    public sealed record StepRow(string Implementation, ITimedStep Step, Action? Before = null, Action? After = null)
    {
        public void Run()
        {
            Before?.Invoke();
            try { Step.Step(); }
            finally { After?.Invoke(); }
        }
    }

    /// <summary>Warms every row up, then runs <see cref="BenchOptions.Steps"/> rounds of one timed step per row.</summary>
    public static IReadOnlyList<StepResult> TimeInterleaved(IReadOnlyList<StepRow> rows, BenchOptions o, BenchReport report)
    {
        foreach (var row in rows)
        {
            row.Step.SetTraining(true);
            for (int w = 0; w < o.Warmup; w++) row.Run();
        }
        var seconds = rows.Select(_ => new List<double>()).ToArray();
        var cpu = rows.Select(_ => new List<double>()).ToArray();
        // The order rotates by one each round, so that no variant always runs first, or always after the same other
        // variant (whose heap, caches and lingering threads it would inherit every time).
        for (int round = 0; round < o.Steps; round++)
            for (int i = 0; i < rows.Count; i++)
            {
                int r = (i + round) % rows.Count;
                var t = StepTimer.Measure(rows[r].Run, 1, warmup: 0);
                seconds[r].AddRange(t.Seconds);
                cpu[r].AddRange(t.CpuSeconds ?? []);
            }
        return rows.Select((row, r) => Result(row.Step, row.Implementation, new Timing(seconds[r], cpu[r]), report)).ToList();
    }

    static StepResult Result(ITimedStep step, string implementation, Timing t, BenchReport report)
    {
        var flops = step.TrainingFlops;
        var achieved = flops / t.Median / 1e9;
        return new StepResult(implementation, Describe(step.Tasks), t.Median, t.Min, t.Seconds, step.TokensPerStep,
            step.TokensPerStep / t.Median, flops / 1e9, achieved, achieved / report.ModelGemmGflops, achieved / report.Gemm2048Gflops,
            step.Name, t.CpuMedian);
    }

    public static string Describe(IReadOnlyList<BatchShape> tasks) => string.Join("+", tasks);

    static void Ratios(BenchReport r)
    {
        StepResult? Find(string impl, int shape) => r.Steps.FirstOrDefault(s => s.Implementation == impl && s.Shape == r.Settings[$"shape{shape}"]);
        for (int i = 0; i < 2; i++)
        {
            var kit = Find("kit", i);
            if (kit is null) continue;
            if (Find("naive", i) is { } naive) r.Ratios[$"kit_vs_naive_{kit.Shape}"] = naive.SecondsPerStep / kit.SecondsPerStep;
            if (Find("pytorch", i) is { } py) r.Ratios[$"kit_vs_pytorch_{kit.Shape}"] = py.SecondsPerStep / kit.SecondsPerStep;
            if (Find(PyTorchRow("bf16"), i) is { } py16)
            {
                if (Find("pytorch", i) is { } py32) r.Ratios[$"pytorch_bf16_vs_pytorch_fp32_{kit.Shape}"] = py32.SecondsPerStep / py16.SecondsPerStep;
                if (Find(KitBf16Row, i) is { } kit16Peer) r.Ratios[$"kit_bf16_vs_pytorch_bf16_{kit.Shape}"] = py16.SecondsPerStep / kit16Peer.SecondsPerStep;
            }
            // Below 1: the share of the kit's step its matrix products alone take.
            if (Find(MatrixProductsRow, i) is { } floor) r.Ratios[$"floor_vs_kit_{kit.Shape}"] = floor.SecondsPerStep / kit.SecondsPerStep;
            if (Find(KitBf16Row, i) is { } kit16)
            {
                r.Ratios[$"bf16_vs_fp32_{kit.Shape}"] = kit.SecondsPerStep / kit16.SecondsPerStep;
                if (Find(MatrixProductsBf16Row, i) is { } floor16) r.Ratios[$"floor_bf16_vs_kit_bf16_{kit.Shape}"] = floor16.SecondsPerStep / kit16.SecondsPerStep;
            }
        }
        var ortInf = r.Throughput.FirstOrDefault(t => t.What == "encoder inference" && t.Implementation == "onnxruntime");
        foreach (var kitInf in r.Throughput.Where(t => t.What == "encoder inference" && t.Implementation.StartsWith("kit")))
            if (ortInf is not null)
                r.Ratios[kitInf.Implementation == "kit" ? "inference_kit_vs_onnxruntime" : $"inference_{kitInf.Implementation.Replace(' ', '_')}_vs_onnxruntime"] = kitInf.PerSecond / ortInf.PerSecond;
    }

    /// <summary>
    /// The issues' bars, checked against this run; absent figures are left out rather than counted as failures. The
    /// step is held against the fp32 step and the floor rows, not against a fraction of the GEMM figure: the floor
    /// showed that bar out of reach of any step built on libtorch's products.
    /// </summary>
    static List<TargetCheck> Targets(BenchReport r)
    {
        var list = new List<TargetCheck>();
        StepResult? Row(string implementation, int shape) => r.Steps.FirstOrDefault(s => s.Implementation == implementation && s.Shape == r.Settings.GetValueOrDefault($"shape{shape}"));
        if (Row("kit", 0) is { } a)
        {
            if (r.Ratios.TryGetValue($"kit_vs_naive_{a.Shape}", out var n)) list.Add(new($"step {a.Shape}: speed-up over naive", n, 1.15, n >= 1.15));
            if (r.Ratios.TryGetValue($"kit_vs_pytorch_{a.Shape}", out var p)) list.Add(new($"step {a.Shape}: speed-up over PyTorch", p, 2.5, p >= 2.5));
        }
        for (int i = 0; i < 2; i++)
            if (Row("kit", i) is { } kit && r.Ratios.TryGetValue($"bf16_vs_fp32_{kit.Shape}", out var mixed))
                list.Add(new($"step {kit.Shape}: bf16 step speed-up over the fp32 step", mixed, 1.5, mixed >= 1.5));
        if (r.Ratios.TryGetValue("inference_kit_bf16_vs_onnxruntime", out var inf16))
            list.Add(new("encoder inference: kit bf16 vs ONNX Runtime fp32 (128 tokens, batch 32)", inf16, 1.8, inf16 >= 1.8));
        if (r.Ratios.TryGetValue("inference_kit_vs_onnxruntime", out var inf)) list.Add(new("encoder inference vs ONNX Runtime", inf, 1.0, inf >= 1.0));
        foreach (var s in r.Soak)
        {
            list.Add(new($"soak ({s.Model}): RSS growth step {s.EarlyStep}→{s.Steps}, %", s.GrowthPercent, 5, s.GrowthPercent < 5));
            list.Add(new($"soak ({s.Model}): live tensors end − start", s.LiveTensorsAtEnd - s.LiveTensorsAtStart, 0, s.TensorCountReturned));
        }
        foreach (var m in r.Methods)
            list.Add(new($"method {m.Method} ({m.Kind}) ÷ equal", m.RatioToEqual, m.Limit, m.WithinLimit));
        return list;
    }

    static Dictionary<string, string> Settings(BenchOptions o)
    {
        var d = new Dictionary<string, string>
        {
            ["shape"] = o.Shape.ToString(),
            ["steps"] = o.Steps.ToString(),
            ["warmup"] = o.Warmup.ToString(),
            ["soak_steps"] = o.SoakSteps.ToString(),
            ["soak_batches"] = Describe(o.SoakBatches),
            ["only"] = o.Only.Count == 0 ? "all" : string.Join(",", o.Only),
        };
        for (int i = 0; i < o.StepShapes.Count; i++) d[$"shape{i}"] = Describe(o.StepShapes[i]);
        return d;
    }

    static Dictionary<string, string> MachineInfo()
    {
        var d = new Dictionary<string, string>
        {
            ["date_utc"] = DateTime.UtcNow.ToString("u"),
            ["threads"] = TorchRuntime.Threads.ToString(),
            ["interop_threads"] = torch.get_num_interop_threads().ToString(),
            ["cores"] = Environment.ProcessorCount.ToString(),
            ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ["dotnet"] = Environment.Version.ToString(),
            ["torchsharp"] = TorchRuntime.TorchSharpVersion,
            ["libtorch"] = TorchRuntime.LibTorchVersion,
            ["device"] = TorchRuntime.DefaultDevice.ToString(),
        };
        if (File.Exists("/proc/loadavg")) d["load_average_at_start"] = string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        if (File.Exists("/proc/cpuinfo"))
            d["cpu"] = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown";
        return d;
    }
}

/// <summary>Reports on the calling thread, at once (<see cref="Progress{T}"/> would post to the thread pool).</summary>
sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
