using System.Net;
using System.Text;
using Markdig;
using Microsoft.DotNet.Interactive.Documents;
using MultiTaskKit.Charts;

namespace MultiTaskKit.Notebooks;

/// <summary>An executed notebook as one offline HTML page: plotly.js once in the head, charts, tables and text.</summary>
public static class HtmlExport
{
    /// <summary>GitHub-flavoured Markdown as VS Code renders a notebook's text: pipe tables, task lists, autolinks.</summary>
    static readonly Markdig.MarkdownPipeline Markdown = new Markdig.MarkdownPipelineBuilder().UseAdvancedExtensions().Build();

    /// <summary>A Markdown cell's text as HTML.</summary>
    public static string MarkdownToHtml(string markdown) => Markdig.Markdown.ToHtml(markdown, Markdown);

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
