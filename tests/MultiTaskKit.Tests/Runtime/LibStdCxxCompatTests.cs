using MultiTaskKit.Runtime;

namespace MultiTaskKit.Tests.Runtime;

public class LibStdCxxCompatTests
{
    [Fact]
    public void FixIsSkippedWhenSystemLibStdCxxIsNewEnough()
    {
        bool asked = false;
        var report = LibStdCxxCompat.Decide(isLinux: true, systemHasVersion: () => asked = true);
        Assert.True(asked);
        Assert.NotNull(report);
        Assert.False(report!.Applied);
        Assert.Contains("not needed", report.Reason);
    }

    [Fact]
    public void FixIsSkippedOffLinuxWithoutAskingTheSystem()
    {
        var report = LibStdCxxCompat.Decide(isLinux: false, systemHasVersion: () => throw new InvalidOperationException("must not be asked"));
        Assert.False(report!.Applied);
    }

    [Fact]
    public void FixIsNeededWhenTheVersionIsMissing() =>
        Assert.Null(LibStdCxxCompat.Decide(isLinux: true, systemHasVersion: () => false));

    [Fact]
    public void ProcessStateMatchesTheSystemCheck()
    {
        TorchRuntime.EnsureInitialized();
        bool systemHas = LibStdCxxCompat.SystemLibStdCxxHasVersion();
        Assert.Equal(OperatingSystem.IsLinux() && !systemHas, TorchRuntime.NativeFix!.Applied);
    }

    /// <summary>TorchSharp's own (unpatched) native library, as copied beside the tests.</summary>
    static string FreshLibrary()
    {
        var lib = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        var candidates = new[] { lib }.Concat(Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories));
        var source = candidates.FirstOrDefault(File.Exists);
        Assert.True(source is not null, $"expected libLibTorchSharp.so under {AppContext.BaseDirectory}, found none");
        return source!;
    }

    [SkippableFact]
    public void MarkWeakChangesOnlyTheNamedVersionOfARealLibrary()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "ELF version needs exist on Linux only");
        TorchRuntime.EnsureInitialized();
        // the copy this process loaded when the fix applies here; otherwise a fresh copy patched the same way
        byte[] patched;
        if (TorchRuntime.NativeFix!.PatchedLibrary is { } path) patched = File.ReadAllBytes(path);
        else
        {
            patched = File.ReadAllBytes(FreshLibrary());
            Assert.Equal(1, ElfVersionNeeds.MarkWeak(patched, LibStdCxxCompat.MissingVersion));
        }
        var needs = ElfVersionNeeds.Read(patched);
        Assert.Contains(needs, n => n.Version == LibStdCxxCompat.MissingVersion && n.Weak && n.File == "libstdc++.so.6");
        Assert.Contains(needs, n => n.Version == "GLIBC_2.2.5" && !n.Weak);
        Assert.Equal(1, needs.Count(n => n.Weak));
    }

    [SkippableFact]
    public void MarkWeakOnAFreshElfFlipsExactlyOneFlag()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "ELF version needs exist on Linux only");
        var bytes = File.ReadAllBytes(FreshLibrary());
        var before = (byte[])bytes.Clone();
        int changed = ElfVersionNeeds.MarkWeak(bytes, LibStdCxxCompat.MissingVersion);
        Assert.Equal(1, changed);
        Assert.Equal(1, bytes.Zip(before).Count(p => p.First != p.Second));
        Assert.Equal(0, ElfVersionNeeds.MarkWeak(bytes, LibStdCxxCompat.MissingVersion)); // idempotent
    }

    [Fact]
    public void NonElfInputIsRejectedWithTheName()
    {
        var ex = Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Read(new byte[100], "x.so"));
        Assert.Contains("x.so", ex.Message);
        Assert.Contains("ELF", ex.Message);
    }
}
