using System.Diagnostics;
using System.Text;

namespace MultiTaskKit.Tests.Cli;

/// <summary>Runs the real <c>mtk</c> (built beside the tests) as a child process, one libtorch thread, in a private cache.</summary>
static class MtkProcess
{
    /// <summary>The mtk built beside the tests; <c>MTK_TEST_MTK_DLL</c> points the process tests at another build
    /// (e.g. the starting commit's, to show that a test fails there).</summary>
    public static string MtkDll => Environment.GetEnvironmentVariable("MTK_TEST_MTK_DLL") is { Length: > 0 } other ? other : Path.Combine(AppContext.BaseDirectory, "mtk.dll");

    public static ProcessStartInfo StartInfo(string workDir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(MtkDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        // One thread: the machine is shared, and thread counts must match between compared runs.
        psi.Environment["MTK_THREADS"] = "1";
        psi.Environment["NO_COLOR"] = "1";
        return psi;
    }

    public static (int ExitCode, string Output) Run(string workDir, params string[] args) => Run(StartInfo(workDir, args));

    /// <summary>Runs <paramref name="psi"/> (from <see cref="StartInfo"/>, its environment possibly changed) to its end.</summary>
    public static (int ExitCode, string Output) Run(ProcessStartInfo psi)
    {
        var args = psi.ArgumentList.Skip(1);
        using var p = Process.Start(psi)!;
        var output = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(TimeSpan.FromMinutes(4))) { p.Kill(entireProcessTree: true); throw new TimeoutException($"mtk {string.Join(' ', args)} ran over 4 minutes"); }
        p.WaitForExit();
        lock (output) return (p.ExitCode, output.ToString());
    }
}
