using System.Runtime.InteropServices;

namespace MultiTaskKit.Runtime;

/// <summary>
/// Keeps glibc's allocator from handing large blocks back to the kernel between training steps. libtorch's CPU
/// allocator is plain malloc: every activation above glibc's mmap threshold is a fresh mmap whose pages fault in
/// again on first touch, and freed heap tops are trimmed away, so each step pays for the same page faults again
/// (<c>bench/README.md</c> has the cost). Serving all blocks from the heap and never
/// trimming it lets the next step reuse the pages. The heap settles at the step's peak, so resident memory is flat
/// across steps (the soak in <c>mtk bench</c> checks it).
/// <see cref="KitOptions.MallocTuning"/> = false (<c>MTK_MALLOC_TUNING=0</c> at the edges) restores glibc's defaults.
/// </summary>
internal static class NativeAllocator
{
    const int M_TRIM_THRESHOLD = -1;
    const int M_MMAP_MAX = -4;

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int mallopt(int param, int value);

    /// <summary>What <see cref="Tune"/> did: "applied", "off (glibc's defaults)", or why it could not.</summary>
    public static string Status { get; private set; } = "not applied";

    // glibc's defaults, restored when tuning is turned off.
    const int DefaultMmapMax = 65536;
    const int DefaultTrimThreshold = 128 * 1024;

    /// <summary>Applies the settings (Linux with glibc only), or with <paramref name="enabled"/> false restores glibc's
    /// defaults. Called by <see cref="TorchRuntime.EnsureInitialized"/> and <see cref="TorchRuntime.ConfigureProcess"/>.</summary>
    public static void Tune(bool enabled)
    {
        if (!OperatingSystem.IsLinux()) { Status = "not Linux"; return; }
        try
        {
            if (!enabled)
            {
                bool reset = mallopt(M_MMAP_MAX, DefaultMmapMax) == 1 & mallopt(M_TRIM_THRESHOLD, DefaultTrimThreshold) == 1;
                Status = reset ? "off (glibc's defaults)" : "mallopt refused the defaults";
                return;
            }
            bool ok = mallopt(M_MMAP_MAX, 0) == 1 & mallopt(M_TRIM_THRESHOLD, int.MaxValue) == 1;
            Status = ok ? "applied (no mmap, no trim)" : "mallopt refused the settings";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Status = $"not glibc ({e.GetType().Name})"; // musl has no mallopt; nothing to tune
        }
    }
}
