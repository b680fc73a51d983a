using System.Text;

namespace MultiTaskKit.Cli;

/// <summary>Text from files and arguments made safe to print on a terminal.</summary>
static class ConsoleText
{
    /// <summary>
    /// Control characters (C0 but tab, DEL, C1) as visible escapes (<c>\x1b</c>): printed raw, an ESC sequence can
    /// retitle the window, clear the screen or hide what follows, and BEL rings.
    /// </summary>
    public static string Printable(string text)
    {
        if (!text.Any(IsControl)) return text;
        var sb = new StringBuilder(text.Length + 8);
        foreach (var c in text)
            if (IsControl(c)) sb.Append($"\\x{(int)c:x2}");
            else sb.Append(c);
        return sb.ToString();
    }

    static bool IsControl(char c) => (c < 0x20 && c != '\t') || c is >= '\u007f' and <= '\u009f';
}
