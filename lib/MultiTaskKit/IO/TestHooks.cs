namespace MultiTaskKit.IO;

/// <summary>
/// Test-only hold points, so that a fault-injection test can SIGKILL a real <c>mtk</c> process at an exact point (after
/// the n-th optimizer step, inside a checkpoint write, between its two renames) by waiting for an event instead of a
/// delay. Off unless the environment asks for it:
/// <list type="bullet">
/// <item><c>MTK_TEST_HOOK_LOG=file</c>: every arrival at a point appends <c>point#n</c> to the file, so a test learns
/// which arrivals a run makes.</item>
/// <item><c>MTK_TEST_PAUSE=point#n</c> with <c>MTK_TEST_PAUSE_FILE=file</c>: at the n-th arrival at <c>point</c> the
/// process writes the file (<c>point#n pid</c>) and holds until the test deletes it (or kills the process).</item>
/// </list>
/// Holding only waits, so it never changes what is written.
/// </summary>
internal static class TestHooks
{
    /// <summary>How long a held process waits for a test that died without releasing it; no test relies on it.</summary>
    static readonly TimeSpan OrphanLimit = TimeSpan.FromMinutes(10);

    static readonly string? Log = Environment.GetEnvironmentVariable("MTK_TEST_HOOK_LOG") is { Length: > 0 } l ? l : null;
    static readonly (string Point, int Nth, string File)? Hold = Parse(Environment.GetEnvironmentVariable("MTK_TEST_PAUSE"), Environment.GetEnvironmentVariable("MTK_TEST_PAUSE_FILE"));
    static readonly Dictionary<string, int> Arrivals = new();

    static (string, int, string)? Parse(string? value, string? file)
    {
        if (string.IsNullOrEmpty(value)) return null;
        var i = value.LastIndexOf('#');
        if (i <= 0 || !int.TryParse(value[(i + 1)..], out var nth) || nth < 1)
            throw new ArgumentException($"MTK_TEST_PAUSE: expected 'point#n' with n ≥ 1 (a test-only hook), found '{value}'.");
        if (string.IsNullOrEmpty(file))
            throw new ArgumentException($"MTK_TEST_PAUSE is '{value}': expected MTK_TEST_PAUSE_FILE to name the file that signals the hold, found none.");
        return (value[..i], nth, file);
    }

    /// <summary>Counts an arrival at <paramref name="point"/>; logs it and holds there when the environment asks
    /// (see the type's summary); otherwise returns at once.</summary>
    public static void Pause(string point)
    {
        if (Log is null && Hold is null) return;
        int n;
        lock (Arrivals) n = Arrivals[point] = Arrivals.GetValueOrDefault(point) + 1;
        if (Log is not null) lock (Arrivals) File.AppendAllText(Log, $"{point}#{n}\n");
        if (Hold is not { } hold || hold.Point != point || hold.Nth != n) return;
        var tmp = hold.File + ".tmp";
        File.WriteAllText(tmp, $"{point}#{n} {Environment.ProcessId}");
        File.Move(tmp, hold.File, overwrite: true);
        var held = System.Diagnostics.Stopwatch.StartNew();
        while (File.Exists(hold.File) && held.Elapsed < OrphanLimit) Thread.Sleep(10);
    }
}
