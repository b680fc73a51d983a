using System.Reflection;

namespace MultiTaskKit.Cli;

/// <summary>A mistake in how mtk was called (an option missing, two that exclude each other): exit code 2.</summary>
sealed class UsageException(string message) : Exception(message);

/// <summary>
/// How mtk reports a failure: one line on stderr, "mtk: error: " and the message (which names the file, line, key or
/// argument), exit code 1, or 2 for usage errors. The stack trace only with <c>--verbose</c> or <c>MTK_DEBUG=1</c>.
/// </summary>
static class CliErrors
{
    public const int Failure = 1;
    public const int Usage = 2;

    public static bool Verbose(IReadOnlyList<string> args) =>
        args.Contains("--verbose") || Environment.GetEnvironmentVariable("MTK_DEBUG") is "1" or "true";

    /// <summary>Writes the one-line report of <paramref name="error"/> and returns the exit code.</summary>
    public static int Report(Exception error, bool verbose)
    {
        var e = Unwrap(error);
        Console.Error.WriteLine($"mtk: error: {OneLine(e.Message)}");
        if (verbose) Console.Error.WriteLine(error.ToString());
        return e is UsageException ? Usage : Failure;
    }

    /// <summary>Reports parse errors (unknown option, missing value) as one usage line.</summary>
    public static int ReportParse(IEnumerable<string> messages, string command)
    {
        Console.Error.WriteLine($"mtk: usage error: {OneLine(string.Join("; ", messages))} (see 'mtk {command} --help')");
        return Usage;
    }

    static Exception Unwrap(Exception e)
    {
        while (true)
        {
            if (e is TargetInvocationException { InnerException: { } t }) e = t;
            else if (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerExceptions[0];
            else if (e is TypeInitializationException { InnerException: { } ti }) e = ti;
            else return e;
        }
    }

    static string OneLine(string s) => ConsoleText.Printable(string.Join(" ", s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
}
