using MultiTaskKit.Runtime;

namespace MultiTaskKit.Tests.Cli;

public class DoctorCommandTests
{
    [Fact]
    public void DoctorShowsWhatPrecisionAutoPicksAndWhy()
    {
        var (code, output) = MtkProcess.Run(Path.GetTempPath(), "doctor");
        Assert.True(code == 0, output);
        var native = PrecisionProbe.NativeBf16(TorchSharp.torch.CPU);
        Assert.Contains($"native bf16", output);
        Assert.Contains(native.Native ? "yes (CPU flag" : "no (", output);
        Assert.Matches(native.Native ? @"fp32 [\d.]+ GFLOP/s, bf16 [\d.]+" : "bf16 not measured", output);
        Assert.Matches(@"--precision auto\s*│\s*(fp32|bf16) \(", output);
        if (!native.Native) Assert.Matches(@"--precision auto\s*│\s*fp32", output);
    }
}
