using System.Diagnostics;
using System.Text;

namespace MultiTaskKit.Tests.Runtime;

/// <summary>
/// A fresh process whose very first statement is a kit call must work: the libstdc++ fix has to run from the kit's
/// module initializer, not from a call the program might never make. The program is a real <c>dotnet run</c>
/// file-based app that references the kit's project, as the notebook scripts do.
/// </summary>
public class FirstUseTests
{
    [Fact]
    public void AProgramWhoseFirstStatementBuildsAMethodRuns()
    {
        var repo = RepositoryRoot();
        var dir = Directory.CreateTempSubdirectory("mtk-first-use-");
        try
        {
            var program = Path.Combine(dir.FullName, "first-use.cs");
            File.WriteAllText(program, $$"""
                #:project {{Path.Combine(repo, "lib", "MultiTaskKit")}}
                var spec = MultiTaskKit.Aggregation.MethodCatalog.Create("pcgrad", new[] { "a", "b" });
                // Aggregate two conflicting gradients: a real libtorch computation in this fresh process.
                using var g = TorchSharp.torch.tensor(new float[] { 1, 0, -1, 1 }).reshape(2, 2);
                var update = spec.Aggregator!.Aggregate(g, new MultiTaskKit.Aggregation.AggregationInput(new[] { "a", "b" },
                    new double[,] { { 1, -1 }, { -1, 2 } }, new double[] { 1, 1 }, new MultiTaskKit.Weighting.StepContext(0, 0, null)));
                Console.WriteLine($"first use ok: {spec} update {string.Join(" ", update.Update.data<float>().ToArray())}");
                """);
            var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir.FullName, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("run");
            psi.ArgumentList.Add(program);
            psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            psi.Environment["DOTNET_NOLOGO"] = "1";
            using var p = Process.Start(psi)!;
            var output = new StringBuilder();
            p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
            p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            if (!p.WaitForExit(TimeSpan.FromMinutes(8))) { p.Kill(entireProcessTree: true); Assert.Fail("the first-use program ran over 8 minutes"); }
            p.WaitForExit();
            string text;
            lock (output) text = output.ToString();
            Assert.True(p.ExitCode == 0, $"exit code {p.ExitCode}:\n{text}");
            Assert.DoesNotContain("DllNotFoundException", text);
            Assert.Contains("first use ok: ", text);
        }
        finally { dir.Delete(recursive: true); }
    }

    static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Kit.sln"))) return d.FullName;
        throw new DirectoryNotFoundException($"expected Kit.sln above {AppContext.BaseDirectory}, found none");
    }
}
