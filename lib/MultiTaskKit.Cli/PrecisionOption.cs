using System.CommandLine;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Cli;

/// <summary><c>--precision fp32|bf16|auto</c> of the commands that train, score or measure.</summary>
static class PrecisionOption
{
    /// <param name="defaultText">What the command does without the option, for its help text.</param>
    public static Option<string?> Create(string defaultText) => new("--precision")
    {
        Description = "fp32, bf16 (mixed: the BERT trunk's matrix products in bf16 on fp32 weights, optimizer state and losses) "
                      + $"or auto (bf16 where this CPU has native bf16 and a measured bf16 product is faster; mtk doctor shows the choice). Default: {defaultText}.",
    };

    /// <summary>What this invocation asks for: the option, else <c>MTK_PRECISION</c>; null when neither is set.</summary>
    public static Precision? Requested(ParseResult parse, Option<string?> option) =>
        Parse(parse, option) ?? (Environment.GetEnvironmentVariable("MTK_PRECISION") is { Length: > 0 } env ? PrecisionNames.Parse(env, "MTK_PRECISION") : null);

    /// <summary>The parsed value; null when the option is absent. A bad value throws naming the option.</summary>
    public static Precision? Parse(ParseResult parse, Option<string?> option) =>
        parse.GetValue(option) is { } text ? PrecisionNames.Parse(text, "--precision") : null;
}
