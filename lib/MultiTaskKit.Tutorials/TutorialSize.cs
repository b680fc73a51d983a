namespace MultiTaskKit.Tutorials;

/// <summary>
/// How big the notebooks' runs are: <c>MTK_NOTEBOOK_SIZE=small</c> (tests and CI: seconds) or <c>default</c>
/// (the real, teaching-sized runs). Notebook and script read the same variable, so both run the same flow.
/// </summary>
public enum TutorialSize { Small, Default }

public static class TutorialSizes
{
    /// <summary>From <c>MTK_NOTEBOOK_SIZE</c>; unset means <see cref="TutorialSize.Default"/>.</summary>
    public static TutorialSize FromEnvironment()
    {
        var v = Environment.GetEnvironmentVariable("MTK_NOTEBOOK_SIZE");
        return string.IsNullOrEmpty(v) || v.Equals("default", StringComparison.OrdinalIgnoreCase) ? TutorialSize.Default
            : v.Equals("small", StringComparison.OrdinalIgnoreCase) ? TutorialSize.Small
            : throw new ArgumentException($"MTK_NOTEBOOK_SIZE: expected 'small' or 'default', found '{v}'.");
    }
}
