using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using MultiTaskKit.IO;

namespace MultiTaskKit.Runtime;

/// <summary>What <see cref="LibStdCxxCompat"/> decided and did.</summary>
/// <param name="Applied">True when the patched copy of <c>libLibTorchSharp.so</c> was loaded.</param>
/// <param name="Reason">Why it was or was not applied, in words.</param>
/// <param name="PatchedLibrary">The patched copy, when applied.</param>
public sealed record NativeFixReport(bool Applied, string Reason, string? PatchedLibrary = null);

/// <summary>
/// Makes TorchSharp 0.107 load on Linux systems whose libstdc++ predates GCC 13 (Debian 12, Ubuntu 22.04).
/// <para>
/// TorchSharp's <c>libLibTorchSharp.so</c> is linked against GCC 13's libstdc++ and so needs version
/// <c>GLIBCXX_3.4.32</c>, for one symbol only: <c>std::ios_base_library_init()</c>. When the system lacks it, this
/// class writes a copy of the library into the kit's cache with that one version need marked weak, loads a tiny
/// shim library that defines the symbol into the global scope, and points TorchSharp's <c>LibTorchSharp</c> imports
/// at the copy. The NuGet cache is never modified. Where the system library is new enough, or off Linux, nothing happens.
/// </para>
/// </summary>
internal static class LibStdCxxCompat
{
    public const string MissingVersion = "GLIBCXX_3.4.32";
    public const string Symbol = "_ZSt21ios_base_library_initv";
    const string TorchSharpLibrary = "libLibTorchSharp.so";
    const string ShimResource = "MultiTaskKit.Runtime.Native.libmtk_glibcxx_shim.so";

    /// <summary>
    /// Decides whether the fix is needed. The checks are parameters so that tests can fake the system.
    /// </summary>
    public static NativeFixReport? Decide(bool isLinux, Func<bool> systemHasVersion)
    {
        if (!isLinux) return new NativeFixReport(false, "not needed: not Linux");
        if (systemHasVersion()) return new NativeFixReport(false, $"not needed: system libstdc++ provides {MissingVersion}");
        return null; // needed
    }

    /// <summary>True when the process's libstdc++.so.6 defines <see cref="Symbol"/> at <see cref="MissingVersion"/>.</summary>
    public static bool SystemLibStdCxxHasVersion()
    {
        if (!NativeLibrary.TryLoad("libstdc++.so.6", out var handle)) return false;
        return Dl.dlvsym(handle, Symbol, MissingVersion) != IntPtr.Zero;
    }

    /// <summary>Applies the fix when needed. Idempotent: later calls return the first report.</summary>
    public static NativeFixReport Apply(Func<bool>? systemHasVersion = null)
    {
        lock (Gate)
        {
            return report ??= ApplyOnce(systemHasVersion ?? SystemLibStdCxxHasVersion);
        }
    }

    static readonly object Gate = new();
    static NativeFixReport? report;

    static NativeFixReport ApplyOnce(Func<bool> systemHasVersion)
    {
        if (Decide(OperatingSystem.IsLinux(), systemHasVersion) is { } skip) return skip;

        var torchSharpDir = NativeSearch.FindDirectoryWith(TorchSharpLibrary)
            ?? throw new FileNotFoundException($"TorchSharp native library: expected {TorchSharpLibrary} in the app folder or the NuGet cache, found none. Searched: {string.Join(", ", NativeSearch.Candidates())}");
        var original = Path.Combine(torchSharpDir, TorchSharpLibrary);
        var bytes = File.ReadAllBytes(original);
        if (!ElfVersionNeeds.Read(bytes, original).Any(n => n.Version == MissingVersion))
            return new NativeFixReport(false, $"not needed: {original} does not need {MissingVersion}");

        var hash = Convert.ToHexString(SHA256.HashData(bytes))[..16].ToLowerInvariant();
        var dir = Path.Combine(KitPaths.NativeCache, hash);
        Directory.CreateDirectory(dir);
        var patched = Path.Combine(dir, TorchSharpLibrary);
        var shim = Path.Combine(dir, "libmtk_glibcxx_shim.so");
        if (!File.Exists(patched))
        {
            ElfVersionNeeds.MarkWeak(bytes, MissingVersion, original);
            AtomicFile.WriteAllBytes(patched, bytes);
        }
        if (!File.Exists(shim))
        {
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ShimResource)
                ?? throw new InvalidOperationException($"embedded resource {ShimResource} is missing from MultiTaskKit.dll");
            using var ms = new MemoryStream();
            stream.CopyTo(ms);
            AtomicFile.WriteAllBytes(shim, ms.ToArray());
        }

        // The copy lives outside libtorch's folder, so its $ORIGIN runpath no longer finds libtorch: load the
        // dependencies by full path first; the copy's DT_NEEDED entries then match them by soname.
        var libtorchDir = NativeSearch.FindDirectoryWith("libtorch_cpu.so") ?? torchSharpDir;
        foreach (var dep in new[] { "libc10.so", "libc10_cuda.so", "libtorch_cpu.so", "libtorch_cuda.so", "libtorch.so" })
        {
            var path = Path.Combine(libtorchDir, dep);
            if (File.Exists(path)) NativeLibrary.Load(path);
        }
        if (Dl.dlopen(shim, Dl.RTLD_NOW | Dl.RTLD_GLOBAL) == IntPtr.Zero)
            throw new DllNotFoundException($"{shim}: dlopen failed: {Dl.LastError()}");
        var handle = NativeLibrary.Load(patched);
        var torchAssembly = typeof(TorchSharp.torch).Assembly;
        try
        {
            NativeLibrary.SetDllImportResolver(torchAssembly, (name, _, _) =>
                name is "LibTorchSharp" or TorchSharpLibrary ? handle : IntPtr.Zero);
        }
        catch (InvalidOperationException)
        {
            // A resolver is already set (by the host or an earlier copy of the kit); the soname match still finds the copy.
        }
        return new NativeFixReport(true, $"applied: system libstdc++ lacks {MissingVersion}", patched);
    }

    static class Dl
    {
        public const int RTLD_NOW = 2, RTLD_GLOBAL = 0x100;
        [DllImport("libc.so.6")] public static extern IntPtr dlopen(string file, int mode);
        [DllImport("libc.so.6")] public static extern IntPtr dlvsym(IntPtr handle, string symbol, string version);
        [DllImport("libc.so.6")] static extern IntPtr dlerror();
        public static string LastError() => Marshal.PtrToStringAnsi(dlerror()) ?? "unknown error";
    }
}
