using MultiTaskKit.Benchmarks;
using MultiTaskKit.Runtime;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Benchmarks;

/// <summary>Smoke tests of the bench code at tiny sizes. Nothing here asserts a time: timings belong to <c>mtk bench</c>.</summary>
[Collection(ProcessStateCollection.Name)]
public class BenchTests
{
    static readonly BatchShape[] TinyTasks = [new(2, 8), new(2, 4)];

    readonly ITestOutputHelper output;

    public BenchTests(ITestOutputHelper output)
    {
        this.output = output;
    }

    [Fact]
    public void InterleavedRoundsRotateTheOrder()
    {
        using var step = new KitTrainingStep(TransformerShape.Tiny, TinyTasks);
        var order = new List<int>();
        var rows = Enumerable.Range(0, 3).Select(i => new BenchRunner.StepRow($"row {i}", step, () => order.Add(i))).ToList();
        var results = BenchRunner.TimeInterleaved(rows, new BenchOptions { Warmup = 1, Steps = 4 }, new BenchReport());
        // One warm-up each in row order, then rounds starting one row later each time.
        Assert.Equal([0, 1, 2, /* rounds */ 0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2], order);
        Assert.All(results, r => Assert.Equal(4, r.SecondsAll.Count));
    }

    [Fact]
    public void StepFlopsMatchHandCount()
    {
        // Tiny: linear weights per layer 4·32² + 2·32·64 = 8,192. Task 2×8 (16 tokens), 3 layers:
        // forward 2·8192·3·16 = 786,432 plus attention 2·(2·2·8·8·32)·3 = 49,152; training ×3.
        Assert.Equal(3.0 * (786_432 + 49_152), StepFlops.Training(TransformerShape.Tiny, [new BatchShape(2, 8)]));
        // MiniLM at 16×128+16×64: 6 × 1,769,472 × 6 layers × 3,072 tokens = 195.7 GFLOP of linear maps (the issue's
        // count), plus 9.06 GFLOP of attention products.
        var linearOnly = 6.0 * 1_769_472 * 6 * 3072;
        var total = StepFlops.Training(TransformerShape.MiniLM, [new(16, 128), new(16, 64)]);
        Assert.Equal(linearOnly, total - StepFlops.AttentionTraining(TransformerShape.MiniLM, [new(16, 128), new(16, 64)]), 1e-3);
        Assert.Equal(3.0 * 2 * (2.0 * 16 * 128 * 128 * 384 + 2.0 * 16 * 64 * 64 * 384) * 6,
            StepFlops.AttentionTraining(TransformerShape.MiniLM, [new(16, 128), new(16, 64)]), 1e-3);
    }

    [Fact]
    public void NaiveStepTrainsAndLeavesNoTensorsBehind()
    {
        using var step = new NaiveTransformerStep(TransformerShape.Tiny, TinyTasks, seed: 1);
        using (var scope = NewDisposeScope())
        {
            var loss = step.Loss();
            Assert.Empty(loss.shape);
            Assert.True(double.IsFinite(loss.item<float>()));
        }
        var before = step.Model.parameters().Select(p => p.detach().clone()).ToArray();
        step.Step(); // allocates AdamW's state
        long live = Soak.LiveTensors;
        for (int i = 0; i < 5; i++) step.Step();
        Assert.Equal(live, Soak.LiveTensors);
        var after = step.Model.parameters().ToArray();
        Assert.Contains(Enumerable.Range(0, after.Length), i => !before[i].allclose(after[i]));
        foreach (var t in before) t.Dispose();
    }

    [Fact]
    public void RunnerFillsEverySectionItCanAndNamesTheOthers()
    {
        var o = new BenchOptions
        {
            Shape = TransformerShape.Tiny,
            StepShapes = [TinyTasks, [new(2, 12), new(2, 4)]],
            SoakBatches = TinyTasks,
            Steps = 1,
            SoakSteps = 100,
            GemmRepeats = 1,
            MethodBatches = [new(2, 8), new(2, 8)],
            MethodSteps = 1,
            MethodRounds = 1,
            MethodNames = ["uw", "dwa", "pcgrad", "mgda-ub"], // one of each kind, rep-grad included
            MethodGroupSize = 3, // two groups, each timed against its own equal-weighting step
            CompareLibTorchDropout = true,
            Precision = Precision.Bf16, // the bf16 rows too, whatever this CPU has
            Only = new HashSet<string> { "naive", "step", "profile", "soak", "tokenizer", "methods" },
        };
        var kit = new KitParts
        {
            TrainingStep = (shape, tasks, kernels) => new KitTrainingStep(shape, tasks, kernels: kernels),
            Methods = KitBench.Methods,
        };
        var r = BenchRunner.Run(o, kit);
        foreach (var (section, seconds) in r.SectionSeconds) output.WriteLine($"{seconds,7:F1} s  {section}");

        Assert.Equal(6, r.Gemm.Count); // measured because steps need the ceiling: three shapes, fp32 and bf16
        Assert.Equal(3, r.Gemm.Count(g => g.Dtype == "bf16"));
        Assert.All(r.Gemm, g => Assert.True(g.Gflops > 0));
        Assert.True(r.ModelGemmBf16Gflops > 0);
        // kit, kit bf16, unfused softmax-dropout, its matrix products alone in fp32 and bf16 and naive at both shapes;
        // kit with libtorch dropout, AdamW op by op and attention dropout off at the first
        Assert.Equal(15, r.Steps.Count);
        Assert.Equal(2, r.Steps.Count(s => s.Implementation == BenchRunner.KitBf16Row));
        Assert.Equal(2, r.Steps.Count(s => s.Implementation == BenchRunner.MatrixProductsBf16Row));
        Assert.Contains("bf16_vs_fp32_2x8+2x4", r.Ratios.Keys);
        Assert.Contains("floor_bf16_vs_kit_bf16_2x8+2x4", r.Ratios.Keys);
        Assert.Contains(r.Targets, t => t.Target.Contains("bf16 step speed-up over the fp32 step"));
        Assert.DoesNotContain(r.Targets, t => t.Target.Contains("fraction of")); // retired: the floor rows say what the products allow
        Assert.Equal("bf16", r.Settings["precision"]);
        Assert.Contains(r.Steps, s => s.Implementation == "kit (AdamW op by op)");
        Assert.Equal(2, r.Steps.Count(s => s.Implementation == "kit (softmax, dropout unfused)"));
        Assert.Equal(2, r.Steps.Count(s => s.Implementation == BenchRunner.MatrixProductsRow));
        Assert.Contains(r.Steps, s => s.Implementation == "kit (attention dropout off, opt-in)");
        Assert.Contains(r.Steps, s => s.Implementation == "kit (libtorch dropout)");
        Assert.True(r.Methods.Count == 5, string.Join("; ", r.Unavailable.Select(kv => $"{kv.Key}: {kv.Value}")));
        Assert.Equal(1.0, r.Methods.Single(m => m.Method == "ew").RatioToEqual);
        Assert.Equal(["ew", "uw", "dwa", "pcgrad", "mgda-ub"], r.Methods.Select(m => m.Method));
        Assert.All(r.Methods, m => Assert.True(m.SecondsPerStep > 0 && double.IsFinite(m.RatioToEqual), m.Method));
        Assert.Equal("per-task gradients", r.Methods.Single(m => m.Method == "pcgrad").Kind);
        Assert.Equal("weighting only", r.Methods.Single(m => m.Method == "uw").Kind);
        Assert.All(r.Steps, s => Assert.True(s.SecondsPerStep > 0 && s.AchievedGflops > 0 && s.FractionOfModelGemm > 0));
        Assert.Contains("kit_vs_naive_2x8+2x4", r.Ratios.Keys);
        Assert.Contains("floor_vs_kit_2x8+2x4", r.Ratios.Keys);
        Assert.All(r.Gemm, g => Assert.Equal(Math.Max(g.AtStart, g.AfterSteps), g.Gflops)); // both passes ran; the better is the figure
        var kitRow = r.Steps.First(s => s.Implementation == "kit");
        Assert.Equal(kitRow.AchievedGflops / r.ModelGemmGflops, kitRow.FractionOfModelGemm, 1e-9); // recomputed against the final figure
        Assert.Contains(r.Profile, p => p.Part == "dropout");
        Assert.Contains(r.Profile, p => p.Part.StartsWith("attention, fused"));
        Assert.Contains(r.Profile, p => p.Part == "attention, the kit's kernel with dropout");
        var soak = Assert.Single(r.Soak);
        Assert.Equal(100, soak.Steps);
        Assert.True(soak.TensorCountReturned, $"live tensors {soak.LiveTensorsAtStart} → {soak.LiveTensorsAtEnd}");
        Assert.True(soak.RssMiBAtEarly > 0);
        Assert.Contains("tokenizer", r.Unavailable.Keys); // asked for, not supplied: named, not skipped silently
        Assert.DoesNotContain("pytorch", r.Unavailable.Keys); // not asked for

        var back = BenchReport.FromJson(r.ToJson());
        Assert.Equal(r.Steps.Count, back.Steps.Count);
        Assert.Equal(r.Steps[0].SecondsPerStep, back.Steps[0].SecondsPerStep);
        Assert.Equal(r.Targets.Count, back.Targets.Count);
    }

    [Fact]
    public void MatrixProductsFloorRunsTheProductsTheStepIsCreditedWith()
    {
        var tasks = new BatchShape[] { new(2, 8), new(3, 4) };
        using var floor = new MatrixProductsStep(TransformerShape.Tiny, tasks);
        long live = Soak.LiveTensors;
        floor.Step();
        Assert.Equal(live, Soak.LiveTensors);
        // Counted from the operands of every product it ran, against the bench's formula for the real step.
        Assert.Equal(StepFlops.Training(TransformerShape.Tiny, tasks), floor.LastStepFlops, 1e-6);
        Assert.Equal(floor.TrainingFlops, floor.LastStepFlops, 1e-6);
    }

    [Fact]
    public void UnknownSectionIsNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => new BenchOptions { Only = new HashSet<string> { "gemm", "warp" } }.Validate());
        Assert.Contains("'warp'", e.Message);
        Assert.Contains("gemm", e.Message);
    }

    [Fact]
    public void PyTorchReferenceRunsOrSaysWhyNot()
    {
        var missing = PyTorchReference.Run(TransformerShape.Tiny, new(2, 8), new(2, 4), 1, 1, python: "/nonexistent/python3");
        Assert.False(missing.Available);
        Assert.Contains("/nonexistent/python3", missing.Reason);

        Assert.NotNull(PyTorchReference.FindScript()); // the script ships in bench/ of the repository
        var r = PyTorchReference.Run(TransformerShape.Tiny, new(2, 8), new(2, 4), 1, 1);
        if (!File.Exists(PyTorchReference.DefaultPython))
            Assert.False(r.Available);
        else if (!r.Available)
            // Debian's python without torch is a set-up gap the reason must name.
            Assert.Contains("torch", r.Reason);
        else
        {
            Assert.True(r.SecondsPerStep > 0);
            // The script counts FLOPs as the kit does, so the two agree on the work of a step.
            Assert.Equal(StepFlops.Training(TransformerShape.Tiny, [new(2, 8), new(2, 4)]) / 1e9, r.Raw!["step_gflop"]!.GetValue<double>(), 1e-9);
        }
    }
}
