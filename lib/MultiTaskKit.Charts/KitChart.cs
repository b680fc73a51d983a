using System.Net;
using System.Text.Json.Nodes;
using MultiTaskKit.IO;

namespace MultiTaskKit.Charts;

/// <summary>
/// A chart built by Plotly.NET: its title and its Plotly figure as JSON. Display it in a notebook (the kit's kernel
/// extension formats it), write it as standalone HTML with <see cref="SaveHtml"/>, or as PNG with <see cref="SavePng"/>.
/// </summary>
public sealed class KitChart
{
    public KitChart(string title, string figureJson)
    {
        Title = title;
        FigureJson = figureJson;
        Id = "mtk-chart-" + Guid.NewGuid().ToString("N")[..12];
    }

    /// <summary>The chart's title.</summary>
    public string Title { get; }

    /// <summary>The Plotly figure: <c>{"data":[…],"layout":{…}}</c>.</summary>
    public string FigureJson { get; }

    /// <summary>The id of the div the chart draws into.</summary>
    public string Id { get; }

    /// <summary>Width and height in pixels from the figure's layout.</summary>
    public (int Width, int Height) Size
    {
        get
        {
            var layout = JsonNode.Parse(FigureJson)?["layout"];
            return ((int?)layout?["width"]?.GetValue<double>() ?? 760, (int?)layout?["height"]?.GetValue<double>() ?? 440);
        }
    }

    /// <summary>
    /// A div plus a script that draws the chart once <c>window.Plotly</c> exists. It carries no plotly.js itself:
    /// the page (see <see cref="ChartPage"/>) or the notebook (the kernel extension) supplies plotly.js once.
    /// </summary>
    public string ToHtmlFragment()
    {
        var (w, h) = Size;
        // The figure JSON is embedded in a script: "</" must not end the script element early.
        var figure = FigureJson.Replace("</", "<\\/");
        return $$"""
            <div class="mtk-chart" id="{{Id}}" style="width:{{w}}px;height:{{h}}px" aria-label="{{WebUtility.HtmlEncode(Title)}}"></div>
            <script type="text/javascript">
            (function () {
              var fig = {{figure}};
              var draw = function (tries) {
                if (window.Plotly) { window.Plotly.newPlot('{{Id}}', fig.data, fig.layout, {responsive: true, displaylogo: false}); }
                else if (tries > 0) { setTimeout(function () { draw(tries - 1); }, 100); }
                else { document.getElementById('{{Id}}').innerText = 'plotly.js is not loaded on this page: run the cell that loads the kit, or open the HTML export.'; }
              };
              draw(100);
            })();
            </script>
            """;
    }

    /// <summary>A standalone HTML page with plotly.js embedded (renders offline).</summary>
    public string ToStandaloneHtml() => ChartPage.Render(Title, [ChartPage.Block.Of(this)]);

    /// <summary>Writes <see cref="ToStandaloneHtml"/> to <paramref name="path"/> atomically and returns the full path.</summary>
    public string SaveHtml(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        AtomicFile.WriteAllText(full, ToStandaloneHtml());
        return full;
    }

    /// <summary>Renders the chart to PNG with headless Chromium (see <see cref="ChromiumScreenshot"/>); returns the full path.</summary>
    public string SavePng(string path)
    {
        var (w, h) = Size;
        var html = Path.Combine(Path.GetTempPath(), $"{Id}.html");
        try
        {
            SaveHtml(html);
            return ChromiumScreenshot.Capture(html, path, w + 40, h + 40);
        }
        finally { File.Delete(html); }
    }

    public override string ToString() => $"KitChart '{Title}'";
}
