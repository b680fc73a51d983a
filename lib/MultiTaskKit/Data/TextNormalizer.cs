using System.Net;
using System.Text.RegularExpressions;

namespace MultiTaskKit.Data;

/// <summary>
/// Text cleaning applied identically before training and before inference. A task names its normaliser in its
/// configuration (<c>"tweet"</c>, <c>"imdb"</c>, <c>"none"</c>); the trainer and the predictor both call
/// <see cref="Apply"/> with that name, so the two can never drift apart.
/// </summary>
public static partial class TextNormalizer
{
    public const string None = "none";
    public const string Tweet = "tweet";
    public const string Imdb = "imdb";

    /// <summary>Applies the normaliser named <paramref name="name"/> (null or empty means none).</summary>
    public static string Apply(string? name, string text) => (name ?? None).ToLowerInvariant() switch
    {
        "" or None => text,
        Tweet => NormalizeTweet(text),
        Imdb => CleanImdb(text),
        _ => throw new ArgumentException($"normalizer: expected one of none, tweet, imdb; found '{name}'.", nameof(name)),
    };

    /// <summary>
    /// Tweets: HTML entities decoded (the VADER file keeps <c>&amp;amp;</c>), user mentions replaced by <c>@user</c> and
    /// links by <c>http</c>, as TweetEval's preprocessing does (Barbieri et al. 2020), and whitespace collapsed.
    /// </summary>
    public static string NormalizeTweet(string text)
    {
        var s = WebUtility.HtmlDecode(text);
        s = Mention().Replace(s, "@user");
        s = Link().Replace(s, "http");
        return Spaces().Replace(s, " ").Trim();
    }

    /// <summary>IMDB reviews: the HTML line breaks (<c>&lt;br /&gt;</c>) inside the text become spaces.</summary>
    public static string CleanImdb(string text)
    {
        var s = LineBreak().Replace(text, " ");
        return Spaces().Replace(s, " ").Trim();
    }

    [GeneratedRegex(@"(?<![\w@])@\w{1,50}")] private static partial Regex Mention();
    [GeneratedRegex(@"(?:https?://|www\.)\S+", RegexOptions.IgnoreCase)] private static partial Regex Link();
    [GeneratedRegex(@"<br\s*/?>", RegexOptions.IgnoreCase)] private static partial Regex LineBreak();
    [GeneratedRegex(@"\s+")] private static partial Regex Spaces();
}
