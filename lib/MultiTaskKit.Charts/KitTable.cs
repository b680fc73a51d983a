using System.Globalization;
using System.Net;
using System.Text;

namespace MultiTaskKit.Charts;

/// <summary>
/// A small table of strings with a title: HTML in notebooks (every cell HTML-escaped, so dataset text such as tweets
/// cannot inject markup), aligned plain text in scripts (<see cref="ToString"/>).
/// </summary>
public sealed class KitTable
{
    public KitTable(string title, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, string? caption = null)
    {
        Title = title; Headers = headers; Caption = caption;
        Rows = rows.ToList();
        foreach (var (r, i) in Rows.Select((r, i) => (r, i)))
            if (r.Count != headers.Count)
                throw new ArgumentException($"table '{title}': row {i + 1} has {r.Count} cells, expected {headers.Count} (one per header).");
    }

    public string Title { get; }
    public IReadOnlyList<string> Headers { get; }
    public IReadOnlyList<IReadOnlyList<string>> Rows { get; }
    /// <summary>A line under the table (escaped).</summary>
    public string? Caption { get; }

    /// <summary>Formats a number for a table cell: 4 significant digits, invariant culture.</summary>
    public static string Num(double v) => double.IsNaN(v) ? "–" : v.ToString(Math.Abs(v) >= 1e5 || (Math.Abs(v) < 1e-3 && v != 0) ? "0.###e0" : "G4", CultureInfo.InvariantCulture);

    /// <summary>The table as an HTML fragment; all text is escaped.</summary>
    public string ToHtml()
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder("<div class=\"mtk-table\"><b>").Append(E(Title)).Append("</b><table style=\"border-collapse:collapse\"><thead><tr>");
        foreach (var h in Headers) sb.Append("<th style=\"border:1px solid #ccc;padding:2px 8px\">").Append(E(h)).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        foreach (var r in Rows)
        {
            sb.Append("<tr>");
            foreach (var c in r) sb.Append("<td style=\"border:1px solid #ccc;padding:2px 8px;text-align:left;max-width:60em\">").Append(E(c)).Append("</td>");
            sb.Append("</tr>");
        }
        sb.Append("</tbody></table>");
        if (Caption != null) sb.Append("<div style=\"color:#555\">").Append(E(Caption)).Append("</div>");
        return sb.Append("</div>").ToString();
    }

    /// <summary>The table as aligned plain text.</summary>
    public override string ToString()
    {
        var widths = Headers.Select((h, i) => Math.Min(60, Math.Max(h.Length, Rows.Select(r => r[i].Length).DefaultIfEmpty(0).Max()))).ToArray();
        string Cell(string s, int w) => (s.Length > w ? s[..(w - 1)] + "…" : s).PadRight(w);
        var sb = new StringBuilder(Title).Append('\n');
        sb.Append(string.Join("  ", Headers.Select((h, i) => Cell(h, widths[i])))).Append('\n');
        sb.Append(string.Join("  ", widths.Select(w => new string('-', w)))).Append('\n');
        foreach (var r in Rows) sb.Append(string.Join("  ", r.Select((c, i) => Cell(c.ReplaceLineEndings(" "), widths[i])))).Append('\n');
        if (Caption != null) sb.Append(Caption).Append('\n');
        return sb.ToString();
    }
}

/// <summary>
/// A dataset card for display: per-split counts, the label (or target) distribution, token-length percentiles and a few
/// example texts. Example texts come from datasets (reviews, tweets) and are always HTML-escaped.
/// </summary>
public sealed record DatasetCardView(
    string Task,
    string Source,
    IReadOnlyDictionary<string, int> SplitCounts,
    IReadOnlyDictionary<string, double> LabelDistribution,
    IReadOnlyDictionary<string, double> LengthPercentiles,
    IReadOnlyList<(string Text, string Label)> Examples)
{
    public string ToHtml()
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder("<div class=\"mtk-dataset-card\" style=\"border:1px solid #ccc;padding:8px;margin:4px 0\">");
        sb.Append("<b>").Append(E(Task)).Append("</b> <span style=\"color:#555\">").Append(E(Source)).Append("</span>");
        sb.Append(new KitTable("examples per split", ["split", "examples"], SplitCounts.Select(kv => (IReadOnlyList<string>)[kv.Key, kv.Value.ToString()])).ToHtml());
        sb.Append(new KitTable("label / target distribution", ["label", "share"], LabelDistribution.Select(kv => (IReadOnlyList<string>)[kv.Key, KitTable.Num(kv.Value)])).ToHtml());
        sb.Append(new KitTable("length", ["percentile", "length"], LengthPercentiles.Select(kv => (IReadOnlyList<string>)[kv.Key, KitTable.Num(kv.Value)])).ToHtml());
        sb.Append(new KitTable("examples", ["text", "label"], Examples.Select(e => (IReadOnlyList<string>)[e.Text.Length > 300 ? e.Text[..300] + "…" : e.Text, e.Label])).ToHtml());
        return sb.Append("</div>").ToString();
    }

    public override string ToString() =>
        $"{Task} ({Source}): " + string.Join(", ", SplitCounts.Select(kv => $"{kv.Key} {kv.Value}"));
}
