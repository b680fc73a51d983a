using System.Text.Json;
using System.Text.Json.Nodes;
using Plotly.NET;
using Plotly.NET.LayoutObjects;
using CS = Plotly.NET.CSharp;
using static Plotly.NET.CSharp.GenericChartExtensions;

namespace MultiTaskKit.Charts.Plotly;

/// <summary>
/// The entry point MultiTaskKit calls by reflection from inside the isolated load context. Only strings cross the
/// boundary: a <see cref="ChartSpec"/> as JSON in, a Plotly figure (<c>{"data":[…],"layout":{…}}</c>) as JSON out.
/// </summary>
public static class PlotlyEntry
{
    /// <summary>Builds the figure for <paramref name="specJson"/> with Plotly.NET and returns it as JSON.</summary>
    public static string Build(string specJson)
    {
        var spec = JsonSerializer.Deserialize(specJson, ChartSpecJson.Default.ChartSpec)
            ?? throw new ArgumentException("chart spec: expected a JSON object, found null");
        GenericChart chart = spec.Kind switch
        {
            "lines" => Lines(spec),
            "grid-lines" => GridLines(spec),
            "bars" => Bars(spec),
            "heatmap" => Heatmap(spec),
            "surface" => Surface(spec),
            "intervals" => Intervals(spec),
            _ => throw new ArgumentException($"chart spec: unknown kind '{spec.Kind}' (expected lines, grid-lines, bars, heatmap, surface or intervals)"),
        };
        chart = Chart.withTitle(spec.Title, null).Invoke(chart);
        chart = chart.WithSize(spec.Width, spec.Height);
        var figure = JsonNode.Parse(NonFiniteAsNull(GenericChart.toFigureJson(chart)))!.AsObject();
        Patch(figure, spec);
        NullNonFinite(figure);
        return figure.ToJsonString();
    }

    /// <summary>plotly.js as shipped inside Plotly.NET, so that pages render offline.</summary>
    public static string PlotlyJs()
    {
        var asm = typeof(GenericChart).Assembly;
        var name = asm.GetManifestResourceNames().Single(n => n.StartsWith("Plotly.NET.plotly-") && n.EndsWith(".min.js"));
        using var stream = asm.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The plotly.js version embedded in Plotly.NET.</summary>
    public static string PlotlyJsVersion()
    {
        var name = typeof(GenericChart).Assembly.GetManifestResourceNames().Single(n => n.StartsWith("Plotly.NET.plotly-") && n.EndsWith(".min.js"));
        return name["Plotly.NET.plotly-".Length..^".min.js".Length];
    }

    static GenericChart Axes(GenericChart chart, string x, string y) =>
        chart.WithXAxisStyle<double, double, string>(TitleText: x).WithYAxisStyle<double, double, string>(TitleText: y);

    static GenericChart LinePanel(Series[] series, bool markers) =>
        CS.Chart.Combine(series.Select(s => CS.Chart.Line<double, double, string>(s.X, s.Y, ShowMarkers: markers, Name: s.Name)));

    static GenericChart Lines(ChartSpec spec)
    {
        var panels = Need(spec.Panels, "Panels");
        return Axes(LinePanel(panels.SelectMany(p => p).ToArray(), spec.Markers), spec.XTitle, spec.YTitle);
    }

    static GenericChart GridLines(ChartSpec spec)
    {
        var panels = Need(spec.Panels, "Panels");
        int cols = Math.Min(panels.Length, 2), rows = (panels.Length + cols - 1) / cols;
        var charts = panels.Select(p => Axes(LinePanel(p, spec.Markers), spec.XTitle, spec.YTitle));
        return CS.Chart.Grid(charts, rows, cols,
            SubPlotTitles: spec.PanelTitles ?? panels.Select((_, i) => $"panel {i + 1}").ToArray(),
            XGap: 0.12, YGap: 0.25);
    }

    static GenericChart Bars(ChartSpec spec)
    {
        var categories = Need(spec.Categories, "Categories");
        var bars = Need(spec.Groups, "Groups").Select(g =>
            CS.Chart.Column<double, string, string>(g.Values, Keys: categories, Name: g.Name,
                MultiText: g.Values.Select(v => v.ToString("G4")).ToArray(), TextPosition: StyleParam.TextPosition.Outside));
        return Axes(CS.Chart.Combine(bars), spec.XTitle, spec.YTitle);
    }

    static GenericChart Heatmap(ChartSpec spec)
    {
        var cells = Need(spec.Cells, "Cells");
        var scale = spec.Diverging ? StyleParam.Colorscale.RdBu : StyleParam.Colorscale.Viridis;
        GenericChart chart = spec.CellText is { } text
            ? CS.Chart.AnnotatedHeatmap<double, string, string, string>(cells, text, X: Need(spec.ColumnLabels, "ColumnLabels"),
                Y: Need(spec.RowLabels, "RowLabels"), ColorScale: scale, ReverseYAxis: true)
            : CS.Chart.Heatmap<double, string, string, string>(cells, X: Need(spec.ColumnLabels, "ColumnLabels"),
                Y: Need(spec.RowLabels, "RowLabels"), ColorScale: scale, ReverseYAxis: true);
        return Axes(chart, spec.XTitle, spec.YTitle);
    }

    static GenericChart Surface(ChartSpec spec)
    {
        var s = Need(spec.Surface, "Surface");
        var contour = CS.Chart.Contour<double, double, double, string>(s.Z, X: s.X, Y: s.Y, ColorScale: StyleParam.Colorscale.Viridis, Name: "surface");
        var paths = s.Paths.Select(p => CS.Chart.Line<double, double, string>(p.X, p.Y, ShowMarkers: true, Name: p.Name));
        return Axes(CS.Chart.Combine(new[] { contour }.Concat(paths)), spec.XTitle, spec.YTitle);
    }

    public const string SeedTrace = "each seed", MeanTrace = "mean and interval";

    /// <summary>Per panel: every seed's value as a faint point over its category, and the mean as a marker whose error bars
    /// (set in <see cref="Patch"/>) span the interval.</summary>
    static GenericChart Intervals(ChartSpec spec)
    {
        var panels = Need(spec.Intervals, "Intervals");
        GenericChart Panel(IntervalPanel p)
        {
            var xs = p.Categories.SelectMany((c, i) => p.Points[i].Select(_ => c)).ToArray();
            var ys = p.Points.SelectMany(v => v).ToArray();
            var seeds = CS.Chart.Point<string, double, string>(xs, ys, Name: SeedTrace);
            var means = CS.Chart.Point<string, double, string>(p.Categories, p.Mean, Name: MeanTrace);
            return Axes(CS.Chart.Combine(new[] { seeds, means }), spec.XTitle, spec.YTitle);
        }
        if (panels.Length == 1) return Panel(panels[0]);
        int cols = Math.Min(panels.Length, 2), rows = (panels.Length + cols - 1) / cols;
        return CS.Chart.Grid(panels.Select(Panel), rows, cols, SubPlotTitles: panels.Select(p => p.Title).ToArray(), XGap: 0.2, YGap: 0.25); // room for the right column's y title
    }

    // Settings that the C# façade does not expose; set on the figure Plotly.NET produced.
    /// <summary>NaN and ±∞ as JSON null (a gap in plotly.js): Newtonsoft may write them as bare tokens, which are not JSON.</summary>
    static string NonFiniteAsNull(string json) =>
        System.Text.RegularExpressions.Regex.Replace(json, @"(?<=[\[,:]\s*)(-?Infinity|NaN)(?=\s*[\],}])", "null");

    /// <summary>NaN and ±∞ written as strings ("NaN") inside arrays of numbers become null too.</summary>
    static void NullNonFinite(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, v) in o.ToList()) NullNonFinite(v);
                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++)
                {
                    if (a[i] is JsonValue v && v.TryGetValue<string>(out var s) && s is "NaN" or "Infinity" or "-Infinity"
                        && a.Any(x => x is JsonValue n && n.GetValueKind() == System.Text.Json.JsonValueKind.Number))
                        a[i] = null;
                    else NullNonFinite(a[i]);
                }
                break;
        }
    }

    static void Patch(JsonObject figure, ChartSpec spec)
    {
        if (spec.Kind == "heatmap" && spec.Diverging)
            foreach (var trace in figure["data"]!.AsArray())
            {
                trace!["zmid"] = 0.0; trace["zmin"] = -1.0; trace["zmax"] = 1.0;
                trace["reversescale"] = true; // RdBu runs red→blue; red must mean negative (conflict)
            }
        if (spec.Kind is "heatmap" or "surface")
            foreach (var trace in figure["data"]!.AsArray().Where(t => t!["type"]?.GetValue<string>() is "heatmap" or "contour"))
                trace!["colorbar"] = new JsonObject { ["title"] = new JsonObject { ["text"] = spec.ZTitle ?? "value" } };
        if (spec.Kind == "bars") figure["layout"]!["barmode"] = "group";
        if (spec.Kind == "intervals")
        {
            var panels = spec.Intervals!;
            int k = 0;
            foreach (var trace in figure["data"]!.AsArray())
            {
                var name = trace!["name"]?.GetValue<string>();
                trace["mode"] = "markers";
                trace["legendgroup"] = name;
                trace["showlegend"] = k == 0 || (name == MeanTrace && k == 1);
                if (name == SeedTrace) trace["marker"] = new JsonObject { ["color"] = Palette[0], ["opacity"] = 0.45, ["size"] = 8 };
                if (name == MeanTrace && k / 2 < panels.Length)
                {
                    var p = panels[k / 2];
                    trace["marker"] = new JsonObject { ["color"] = Palette[3], ["size"] = 11, ["symbol"] = "diamond" };
                    trace["error_y"] = new JsonObject
                    {
                        ["type"] = "data", ["symmetric"] = false, ["color"] = Palette[3], ["thickness"] = 2, ["width"] = 8,
                        ["array"] = new JsonArray(p.High.Select((h, i) => (JsonNode)JsonValue.Create(double.IsFinite(h) ? h - p.Mean[i] : 0)).ToArray()),
                        ["arrayminus"] = new JsonArray(p.Low.Select((l, i) => (JsonNode)JsonValue.Create(double.IsFinite(l) ? p.Mean[i] - l : 0)).ToArray()),
                    };
                }
                k++;
            }
        }
        if (spec.Kind is "lines" or "grid-lines" or "bars")
        {
            // One colour per series name across panels, and one legend entry per name, so "train" means one thing.
            var colours = new Dictionary<string, string>();
            var faint = new HashSet<string>(spec.Faint ?? []);
            const string Raw = " (raw)";
            // Solid series first, so that a faint "X (raw)" finds the colour of "X".
            foreach (var trace in figure["data"]!.AsArray())
            {
                var name = trace!["name"]?.GetValue<string>() ?? "";
                if (!faint.Contains(name) && !colours.ContainsKey(name)) colours[name] = Palette[colours.Count % Palette.Length];
            }
            var shown = new HashSet<string>();
            foreach (var trace in figure["data"]!.AsArray())
            {
                var name = trace!["name"]?.GetValue<string>() ?? "";
                bool seen = !shown.Add(name);
                var key = faint.Contains(name) && name.EndsWith(Raw, StringComparison.Ordinal) && colours.ContainsKey(name[..^Raw.Length]) ? name[..^Raw.Length] : name;
                if (!colours.ContainsKey(key)) colours[key] = Palette[colours.Count % Palette.Length];
                var colour = colours[key];
                if (spec.Kind == "bars") trace["marker"] = new JsonObject { ["color"] = colour };
                else trace["line"] = faint.Contains(name) ? new JsonObject { ["color"] = colour, ["width"] = 1 } : new JsonObject { ["color"] = colour };
                if (faint.Contains(name)) trace["opacity"] = 0.3;
                if (trace["marker"] is JsonObject m && spec.Kind != "bars") m["color"] = colour;
                trace["legendgroup"] = name;
                trace["showlegend"] = !seen;
            }
        }
    }

    static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    static T Need<T>(T? value, string field) where T : class =>
        value ?? throw new ArgumentException($"chart spec: field {field} is required for this kind of chart, found none");
}
