namespace MultiTaskKit.IO;

/// <summary>
/// Test-only pauses, so that a fault-injection test can SIGKILL a real <c>mtk</c> process at an exact point of a
/// checkpoint write (inside the temporary folder, or between the two renames) instead of hoping a random delay lands
/// there. Off unless <c>MTK_TEST_PAUSE</c> is set to <c>point:milliseconds</c> (e.g. <c>checkpoint-rename:400</c>);
/// a pause only sleeps, so it never changes what is written.
/// </summary>
public static class TestHooks
{
    static readonly (string Point, int Milliseconds)? Configured = Parse(Environment.GetEnvironmentVariable("MTK_TEST_PAUSE"));

    static (string, int)? Parse(string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        var i = value.LastIndexOf(':');
        return i > 0 && int.TryParse(value[(i + 1)..], out var ms) && ms > 0
            ? (value[..i], ms)
            : throw new ArgumentException($"MTK_TEST_PAUSE: expected 'point:milliseconds' (a test-only hook), found '{value}'.");
    }

    /// <summary>Sleeps when <c>MTK_TEST_PAUSE</c> names <paramref name="point"/>; otherwise returns at once.</summary>
    public static void Pause(string point)
    {
        if (Configured is { } c && c.Point == point) Thread.Sleep(c.Milliseconds);
    }
}
