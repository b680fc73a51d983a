using MultiTaskKit.Benchmarks;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Tests.Models.Bert;
using Xunit.Abstractions;

namespace MultiTaskKit.Tests.Benchmarks;

/// <summary>
/// Throughput figures, side by side in one run. Minutes long on 2 cores, so they run only with MTK_RUN_BENCHMARKS=1:
/// <c>MTK_RUN_BENCHMARKS=1 dotnet test tests/MultiTaskKit.Tests --filter "Category=Benchmark" --logger "console;verbosity=detailed"</c>.
/// </summary>
[Trait("Category", "Benchmark")]
[Collection(ProcessStateCollection.Name)] // sets libtorch's threads, and timings need the machine to themselves
public class BertBenchmarkTests(ITestOutputHelper output)
{
    static void SkipUnlessAsked() =>
        Skip.IfNot(Environment.GetEnvironmentVariable("MTK_RUN_BENCHMARKS") == "1", "Benchmark skipped: set MTK_RUN_BENCHMARKS=1 to run it (minutes on 2 cores).");

    [SkippableFact]
    public void EncoderInferenceAgainstOnnxRuntime()
    {
        SkipUnlessAsked();
        using var pretrained = PretrainedBert.Load("minilm");
        output.WriteLine($"GEMM 2048³: {TorchRuntime.MeasureGemmGflops():F0} GFLOP/s");
        var (kit, ort) = BertBenchmarks.EncoderInference(pretrained.Model, tokens: 128, batch: 32, threads: 2, repeats: 5);
        output.WriteLine(kit.ToString());
        output.WriteLine(ort.ToString());
        output.WriteLine($"kit / ONNX Runtime = {kit.PerSecond / ort.PerSecond:F2} (wall), {ort.CpuSecondsPerRepeat / kit.CpuSecondsPerRepeat:F2} (CPU time)");
        var (kit1, ort1) = BertBenchmarks.EncoderInference(pretrained.Model, tokens: 128, batch: 32, threads: 1, repeats: 3);
        output.WriteLine(kit1.ToString());
        output.WriteLine(ort1.ToString());
        Assert.True(kit.PerSecond > 0 && ort.PerSecond > 0);
    }

    [SkippableFact]
    public void TrainingStepAgainstNaiveTransformerEncoder()
    {
        SkipUnlessAsked();
        var (kit, naive) = BertBenchmarks.TrainingStep(BertConfig.MiniLmL6, batch: 16, tokens: 128, threads: 2, repeats: 3);
        output.WriteLine(kit.ToString());
        output.WriteLine(naive.ToString());
        output.WriteLine($"kit / naive = {kit.PerSecond / naive.PerSecond:F2} (wall), {naive.CpuSecondsPerRepeat / kit.CpuSecondsPerRepeat:F2} (CPU time)");
        var noAttnDropout = BertBenchmarks.TrainingStep(BertConfig.MiniLmL6 with { AttentionProbsDropoutProb = 0 }, 16, 128, 2, 3);
        output.WriteLine($"opt-in attention dropout 0: {noAttnDropout.Kit}");
        Assert.True(kit.PerSecond > 0 && naive.PerSecond > 0);
    }

    [SkippableFact]
    public void TokenizerThroughput()
    {
        SkipUnlessAsked();
        var texts = RealSentences.Texts;
        Skip.If(texts is null, $"Tokenizer benchmark skipped: {RealSentences.MissingReason}.");
        using var pretrained = PretrainedBert.Load("minilm");
        var result = BertBenchmarks.Tokenizer(pretrained.Tokenizer, texts!, repeats: 5);
        output.WriteLine(result.ToString());
        Assert.True(result.PerSecond > 0);
    }
}
