using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MultiTaskKit.Benchmarks;

/// <summary>What the PyTorch reference run gave, or why it could not run.</summary>
/// <param name="Precision">fp32, or bf16-autocast (forward and losses under CPU autocast, as HF's <c>bf16=True</c>).</param>
/// <param name="BlasKind">The kind of BLAS the process mapped: openblas, mkl, blis, reference or unknown.</param>
public sealed record PyTorchResult(bool Available, string? Reason, double SecondsPerStep, double TokensPerSecond, double AchievedGflops,
    double GemmGflops, string? TorchVersion, string? Blas, string? Command, JsonNode? Raw, string Precision = "fp32", string? BlasKind = null);

/// <summary>
/// Runs <c>bench/pytorch_reference.py</c> (the same two-task step in plain PyTorch) as a subprocess with Debian's
/// interpreter, so it measures side by side with the kit in one invocation. The set-up is in <c>bench/README.md</c>.
/// A run that mapped netlib's reference BLAS is refused, not reported: Debian's <c>python3-torch</c> multiplies through
/// whichever <c>libblas.so.3</c> is installed, and without <c>libopenblas0-pthread</c> that is the reference one, which
/// made the peer read 33 s a step instead of about 7 (its GEMM 8 GFLOP/s instead of 57).
/// </summary>
public static class PyTorchReference
{
    /// <summary>Debian's interpreter, which sees <c>python3-torch</c>; a pyenv python on PATH does not.</summary>
    public const string DefaultPython = "/usr/bin/python3";

    /// <summary>The script, looked for in <c>bench/</c> of this folder or any parent (a clone's root), then beside the binaries.</summary>
    public static string? FindScript()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "bench", "pytorch_reference.py");
                if (File.Exists(candidate)) return candidate;
            }
        return null;
    }

    /// <summary>The precisions the script runs: <c>fp32</c>, and <c>bf16</c> (CPU autocast to bfloat16).</summary>
    public static readonly IReadOnlyList<string> Precisions = ["fp32", "bf16"];

    public static PyTorchResult Run(TransformerShape shape, BatchShape task1, BatchShape task2, int threads, int steps,
        string python = DefaultPython, string? script = null, TimeSpan? timeout = null, string precision = "fp32")
    {
        if (!Precisions.Contains(precision))
            throw new ArgumentException($"precision: expected one of {string.Join(", ", Precisions)}, found '{precision}'", nameof(precision));
        if (task1.Batch != task2.Batch)
            return Unavailable($"the reference script takes one batch size for both tasks, found {task1.Batch} and {task2.Batch}");
        script ??= FindScript();
        if (script is null) return Unavailable("bench/pytorch_reference.py was not found in this folder or any parent");
        if (!File.Exists(python)) return Unavailable($"{python} does not exist; the set-up is `apt-get install -y python3-torch libopenblas0-pthread` (bench/README.md)");

        var args = new List<string>
        {
            script, "--threads", threads.ToString(), "--steps", steps.ToString(), "--batch", task1.Batch.ToString(),
            "--seq1", task1.Tokens.ToString(), "--seq2", task2.Tokens.ToString(), "--vocab", shape.Vocab.ToString(),
            "--hidden", shape.Hidden.ToString(), "--heads", shape.Heads.ToString(), "--ffn", shape.Ffn.ToString(),
            "--layers", shape.Layers.ToString(), "--split", shape.Split.ToString(),
            "--dropout", shape.Dropout.ToString(System.Globalization.CultureInfo.InvariantCulture), "--precision", precision,
        };
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // One BLAS pool of the asked size: OpenBLAS and OpenMP would otherwise each start one per core.
        psi.Environment["OMP_NUM_THREADS"] = threads.ToString();
        psi.Environment["OPENBLAS_NUM_THREADS"] = threads.ToString();
        var command = $"{python} {string.Join(' ', args)}";

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {python}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(15)))
        {
            process.Kill(entireProcessTree: true);
            return Unavailable($"timed out: {command}");
        }
        var err = stderr.Result.Trim();
        if (process.ExitCode != 0)
        {
            var why = err.Contains("No module named 'torch'")
                ? $"{python} has no torch module; the set-up is `apt-get install -y python3-torch libopenblas0-pthread`"
                : $"exit code {process.ExitCode}: {Tail(err)}";
            return Unavailable(why) with { Command = command };
        }
        try
        {
            var json = JsonNode.Parse(stdout.Result.Trim().Split('\n').Last())!;
            var result = new PyTorchResult(true, null,
                json["seconds_per_step"]!.GetValue<double>(), json["tokens_per_second"]!.GetValue<double>(),
                json["achieved_gflops"]!.GetValue<double>(), json["gemm_2048_gflops"]!.GetValue<double>(),
                json["torch_version"]?.GetValue<string>(), json["blas"]?.GetValue<string>(), command, json,
                json["precision"]?.GetValue<string>() ?? precision, json["blas_kind"]?.GetValue<string>());
            if (result.BlasKind == "reference")
                return result with
                {
                    Available = false,
                    Reason = $"torch multiplied through netlib's reference BLAS ({result.Blas}; its 2048³ GEMM {result.GemmGflops:F0} GFLOP/s), " +
                             "about ten times slower than OpenBLAS, so its step is no peer figure; the set-up is `apt-get install -y libopenblas0-pthread` (bench/README.md)",
                };
            return result;
        }
        catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException or FormatException)
        {
            return Unavailable($"could not read its JSON ({e.Message}); stdout was: {Tail(stdout.Result)}") with { Command = command };
        }
    }

    static string Tail(string s) => s.Length <= 600 ? s : "…" + s[^600..];

    static PyTorchResult Unavailable(string reason) => new(false, reason, double.NaN, double.NaN, double.NaN, double.NaN, null, null, null, null);
}
