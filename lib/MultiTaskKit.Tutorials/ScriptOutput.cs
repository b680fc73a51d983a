namespace MultiTaskKit.Tutorials;

/// <summary>Where the notebook scripts write their chart pages: <c>MTK_SCRIPT_OUT</c>, else <c>./runs/notebooks</c>.</summary>
public static class ScriptOutput
{
    public static string Folder =>
        Environment.GetEnvironmentVariable("MTK_SCRIPT_OUT") is { Length: > 0 } dir ? dir : Path.Combine("runs", "notebooks");
}
