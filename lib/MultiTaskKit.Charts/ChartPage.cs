using System.Net;
using System.Text;
using MultiTaskKit.IO;

namespace MultiTaskKit.Charts;

/// <summary>
/// Standalone HTML pages holding charts, tables and text, with plotly.js embedded once in the head so that the page
/// renders with no network access.
/// </summary>
public static class ChartPage
{
    /// <summary>One piece of a page: a chart, or HTML the caller vouches for (already escaped).</summary>
    public sealed record Block(KitChart? Chart, string? Html)
    {
        public static Block Of(KitChart chart) => new(chart, null);
        public static Block RawHtml(string html) => new(null, html);
        /// <summary>Text shown as a heading (escaped).</summary>
        public static Block Heading(string text) => new(null, $"<h2>{WebUtility.HtmlEncode(text)}</h2>");
        /// <summary>Text shown as a preformatted block (escaped).</summary>
        public static Block Text(string text) => new(null, $"<pre>{WebUtility.HtmlEncode(text)}</pre>");
    }

    /// <summary>The script element that loads plotly.js inline (once per page).</summary>
    public static string PlotlyScriptTag() =>
        $"<script type=\"text/javascript\">/* plotly.js {PlotlyHost.PlotlyJsVersion}, embedded by Plotly.NET */\n{PlotlyHost.PlotlyJs.Replace("</script", "<\\/script")}\n</script>";

    /// <summary>Renders a page. plotly.js is embedded only when at least one block is a chart.</summary>
    public static string Render(string title, IEnumerable<Block> blocks)
    {
        var list = blocks.ToList();
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
          .Append(WebUtility.HtmlEncode(title)).Append("</title>\n")
          .Append("<style>body{font-family:sans-serif;margin:24px;color:#222;background:#fff} .mtk-chart{margin:16px 0} ")
          .Append("table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:2px 8px;text-align:right} pre{background:#f6f6f6;padding:8px} .md td,.md th{text-align:left}</style>\n");
        if (list.Any(b => b.Chart != null)) sb.Append(PlotlyScriptTag()).Append('\n');
        sb.Append("</head>\n<body>\n<h1>").Append(WebUtility.HtmlEncode(title)).Append("</h1>\n");
        foreach (var b in list) sb.Append(b.Chart?.ToHtmlFragment() ?? b.Html).Append('\n');
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>Writes a page with <paramref name="charts"/> to <paramref name="path"/> atomically; returns the full path.</summary>
    public static string Write(string path, string title, IEnumerable<KitChart> charts) =>
        Write(path, title, charts.Select(Block.Of));

    /// <summary>Writes a page of <paramref name="blocks"/> to <paramref name="path"/> atomically; returns the full path.</summary>
    public static string Write(string path, string title, IEnumerable<Block> blocks)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        AtomicFile.WriteAllText(full, Render(title, blocks));
        return full;
    }
}
