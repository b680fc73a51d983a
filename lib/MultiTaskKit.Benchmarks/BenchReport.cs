using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace MultiTaskKit.Benchmarks;

/// <summary>A training step's timing and what it achieved, against the GEMM ceiling of the same run.</summary>
public sealed record StepResult(string Implementation, string Shape, double SecondsPerStep, double SecondsPerStepMin,
    IReadOnlyList<double> SecondsAll, long TokensPerStep, double TokensPerSecond, double StepGflop, double AchievedGflops,
    double FractionOfModelGemm, double FractionOfGemm2048, string Note = "", double CpuSecondsPerStep = double.NaN);

/// <summary>Throughput of one implementation of something (encoder inference, tokenizer).</summary>
public sealed record ThroughputResult(string What, string Implementation, double PerSecond, string Unit, string Note = "");

/// <summary>A method's step time against equal weighting's on the same model and batches.</summary>
public sealed record MethodOverhead(string Method, string Kind, double SecondsPerStep, double RatioToEqual, double Limit, bool WithinLimit);

/// <summary>One of the bars, checked against this run's figures.</summary>
public sealed record TargetCheck(string Target, double Value, double Threshold, bool Met);

/// <summary>Everything one <c>mtk bench</c> invocation measured, side by side. Serialises to the JSON <c>--out</c> writes.</summary>
public sealed class BenchReport
{
    public string Command { get; set; } = "";
    public Dictionary<string, string> Machine { get; set; } = new();
    public Dictionary<string, string> Settings { get; set; } = new();
    public List<GemmResult> Gemm { get; set; } = [];
    public double ModelGemmGflops { get; set; } = double.NaN;
    public double Gemm2048Gflops { get; set; } = double.NaN;
    /// <summary>The bf16 model-shape figure (<see cref="GemmBench.ModelGemmGflops"/> over the bf16 rows); NaN without bf16 rows.</summary>
    public double ModelGemmBf16Gflops { get; set; } = double.NaN;
    public List<StepResult> Steps { get; set; } = [];
    public Dictionary<string, double> Ratios { get; set; } = new();
    public PyTorchResult? PyTorch { get; set; }
    /// <summary>The PyTorch reference with CPU autocast to bf16.</summary>
    public PyTorchResult? PyTorchBf16 { get; set; }
    public List<ThroughputResult> Throughput { get; set; } = [];
    public List<MethodOverhead> Methods { get; set; } = [];
    public List<SoakResult> Soak { get; set; } = [];
    public List<ProfileEntry> Profile { get; set; } = [];
    public List<TargetCheck> Targets { get; set; } = [];
    /// <summary>Sections asked for that could not run, and why.</summary>
    public Dictionary<string, string> Unavailable { get; set; } = new();
    public double TotalSeconds { get; set; }
    /// <summary>Wall time of each part of the run, by its progress line.</summary>
    public Dictionary<string, double> SectionSeconds { get; set; } = new();

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // a NaN says "not measured"
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static BenchReport FromJson(string json) =>
        JsonSerializer.Deserialize<BenchReport>(json, JsonOptions) ?? throw new JsonException("bench JSON: expected an object, found null");
}
