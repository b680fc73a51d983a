using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Markdig;
using Markdig.Renderers;
using Markdig.Renderers.Html;
using Markdig.Renderers.Html.Inlines;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;
using Microsoft.DotNet.Interactive.Documents;
using MultiTaskKit.Charts;

namespace MultiTaskKit.Notebooks;

/// <summary>An executed notebook as one offline HTML page: plotly.js once in the head, charts, tables and text.</summary>
public static class HtmlExport
{
    /// <summary>GitHub-flavoured Markdown as VS Code renders a notebook's text: pipe tables, task lists, autolinks.</summary>
    static readonly Markdig.MarkdownPipeline Markdown = new Markdig.MarkdownPipelineBuilder().UseAdvancedExtensions().Build();

    /// <summary>The raw HTML a notebook's Markdown may keep: the folding of exercise answers and inline emphasis,
    /// without attributes (<c>details</c> may say <c>open</c>). Any other raw HTML is shown as text: a notebook from
    /// someone else must not run script or load anything in the exported page.</summary>
    static readonly HashSet<string> SafeTags = new(StringComparer.OrdinalIgnoreCase)
        { "details", "summary", "br", "b", "i", "em", "strong", "code", "sub", "sup", "kbd", "p", "ul", "ol", "li", "hr" };

    static readonly Regex Tag = new(@"<[^>]*>", RegexOptions.Compiled);
    static readonly Regex SafeTag = new(@"^</?([A-Za-z][A-Za-z0-9]*)(\s+open)?\s*/?>$", RegexOptions.Compiled);

    /// <summary>Link and image targets other than http(s), mailto, in-page (#) and relative ones.</summary>
    static readonly Regex UnsafeUrl = new(@"\b(href|src)=""(?!https?:|mailto:|#|/|[^"":]*(""|/))[^""]*""", RegexOptions.IgnoreCase | RegexOptions.Compiled);

    internal static bool IsSafeHtml(string html) =>
        Tag.Matches(html).All(m => SafeTag.Match(m.Value) is { Success: true } t && SafeTags.Contains(t.Groups[1].Value))
        && !Tag.Replace(html, "").Contains('<');

    /// <summary>A Markdown cell's text as HTML: raw HTML other than <see cref="SafeTags"/> escaped, and link targets
    /// with another scheme (<c>javascript:</c>, <c>data:</c>) replaced by <c>#</c>.</summary>
    public static string MarkdownToHtml(string markdown)
    {
        var writer = new StringWriter();
        var renderer = new HtmlRenderer(writer);
        Markdown.Setup(renderer);
        renderer.ObjectRenderers.ReplaceOrAdd<HtmlInlineRenderer>(new SafeInline());
        renderer.ObjectRenderers.ReplaceOrAdd<HtmlBlockRenderer>(new SafeBlock());
        renderer.Render(Markdig.Markdown.Parse(markdown, Markdown));
        writer.Flush();
        return UnsafeUrl.Replace(writer.ToString(), m => $"{m.Groups[1].Value}=\"#\"");
    }

    sealed class SafeInline : HtmlObjectRenderer<HtmlInline>
    {
        protected override void Write(HtmlRenderer renderer, HtmlInline html)
        {
            if (IsSafeHtml(html.Tag)) renderer.Write(html.Tag);
            else renderer.WriteEscape(html.Tag);
        }
    }

    sealed class SafeBlock : HtmlObjectRenderer<HtmlBlock>
    {
        protected override void Write(HtmlRenderer renderer, HtmlBlock html)
        {
            var text = html.Lines.ToString();
            if (IsSafeHtml(text)) { renderer.WriteLeafRawLines(html, true, false); return; }
            renderer.Write("<p>").WriteEscape(text).Write("</p>").WriteLine();
        }
    }

    public static string Render(string name, InteractiveDocument doc)
    {
        var plotlyTag = ChartPage.PlotlyScriptTag();
        var blocks = new List<ChartPage.Block>();
        bool anyChart = false;
        foreach (var cell in doc.Elements)
        {
            if (cell.KernelName == "markdown")
            {
                blocks.Add(ChartPage.Block.RawHtml("<div class=\"md\">" + MarkdownToHtml(cell.Contents) + "</div>"));
                continue;
            }
            blocks.Add(ChartPage.Block.RawHtml($"<pre class=\"code\" style=\"background:#eef\">{WebUtility.HtmlEncode(cell.Contents)}</pre>"));
            foreach (var o in cell.Outputs)
            {
                var sb = new StringBuilder();
                switch (o)
                {
                    case TextElement t: sb.Append("<pre>").Append(WebUtility.HtmlEncode(t.Text)).Append("</pre>"); break;
                    case ErrorElement err: sb.Append("<pre style=\"color:#b00\">").Append(WebUtility.HtmlEncode(err.ErrorValue)).Append("</pre>"); break;
                    case DisplayElement d: sb.Append(Data(d.Data)); break;
                    case ReturnValueElement r: sb.Append(Data(r.Data)); break;
                }
                var html = sb.ToString();
                if (html.Contains(plotlyTag)) { html = html.Replace(plotlyTag, ""); }
                anyChart |= html.Contains("class=\"mtk-chart\"");
                blocks.Add(ChartPage.Block.RawHtml(html));
            }
        }
        var page = ChartPage.Render(name, blocks);
        // Charts arrive as HTML outputs, not KitChart blocks: put plotly.js in the head once ourselves.
        return anyChart ? page.Replace("</head>", plotlyTag + "\n</head>") : page;
    }

    static string Data(IDictionary<string, object> data) =>
        data.TryGetValue("text/html", out var html) ? html?.ToString() ?? ""
        : data.TryGetValue("text/plain", out var text) ? $"<pre>{WebUtility.HtmlEncode(text?.ToString() ?? "")}</pre>" : "";
}
