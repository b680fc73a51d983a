using System.Reflection;
using MultiTaskKit.Models;

namespace MultiTaskKit.Charts.Scripts;

/// <summary>
/// <c>.Display()</c> for the scripts that <c>mtk notebook export-scripts</c> makes from the notebooks. A notebook cell ends
/// in <c>value.Display()</c>, which the kernel renders; the exported script runs the same line, and this prints the
/// value on the console and adds it to one HTML page per script (charts and model diagrams drawn, tables as text),
/// rewritten after each chart so that a script stopped half-way leaves its charts so far.
/// The page is <c>$MTK_SCRIPT_OUT/&lt;script&gt;.html</c>, else <c>runs/notebooks/&lt;script&gt;.html</c>.
/// </summary>
public static class ScriptDisplay
{
    static readonly object Gate = new();
    static readonly List<ChartPage.Block> Blocks = new();

    /// <summary>Where the page goes.</summary>
    public static string PagePath
    {
        get
        {
            var dir = Environment.GetEnvironmentVariable("MTK_SCRIPT_OUT") is { Length: > 0 } d ? d : Path.Combine("runs", "notebooks");
            return Path.GetFullPath(Path.Combine(dir, (Assembly.GetEntryAssembly()?.GetName().Name ?? "script") + ".html"));
        }
    }

    /// <summary>Prints <paramref name="value"/> and records it on the script's page; returns it.</summary>
    public static T Display<T>(this T value)
    {
        lock (Gate)
        {
            switch (value)
            {
                case KitChart chart:
                    Blocks.Add(ChartPage.Block.Of(chart));
                    Console.WriteLine($"[chart] {chart.Title} → {WritePage()}");
                    break;
                case ModelDiagram diagram:
                    Blocks.Add(ChartPage.Block.RawHtml(diagram.ToHtml()));
                    Console.WriteLine(diagram);
                    Console.WriteLine($"[diagram] → {WritePage()}");
                    break;
                case MultiTaskNetwork model:
                    var summary = KitViews.ModelSummary(model);
                    Blocks.Add(ChartPage.Block.RawHtml(summary.ToHtml()));
                    Console.WriteLine(summary);
                    break;
                case KitTable table:
                    Blocks.Add(ChartPage.Block.RawHtml(table.ToHtml()));
                    Console.WriteLine(table);
                    break;
                case DatasetCardView card:
                    Blocks.Add(ChartPage.Block.RawHtml(card.ToHtml()));
                    Console.WriteLine(card);
                    foreach (var (text, label) in card.Examples) Console.WriteLine($"  [{label}] {(text.Length > 160 ? text[..160] + "…" : text)}");
                    break;
                case Evaluation.MetricsReport report:
                    var metrics = KitViews.Metrics(report);
                    Blocks.Add(ChartPage.Block.RawHtml(metrics.ToHtml()));
                    Console.WriteLine(metrics);
                    break;
                case null:
                    Console.WriteLine("<null>");
                    break;
                case string s:
                    Blocks.Add(ChartPage.Block.Text(s));
                    Console.WriteLine(s);
                    break;
                case System.Collections.IEnumerable items:
                    var lines = items.Cast<object?>().Select(i => i?.ToString() ?? "<null>").ToList();
                    Blocks.Add(ChartPage.Block.Text(string.Join('\n', lines)));
                    foreach (var line in lines) Console.WriteLine(line);
                    break;
                default:
                    Blocks.Add(ChartPage.Block.Text(value.ToString() ?? ""));
                    Console.WriteLine(value);
                    break;
            }
        }
        return value;
    }

    static string WritePage() => ChartPage.Write(PagePath, Assembly.GetEntryAssembly()?.GetName().Name ?? "script", Blocks);
}
