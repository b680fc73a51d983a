// This file is compiled into two assemblies: MultiTaskKit.Charts (where users build specs) and MultiTaskKit.Charts.Plotly
// (where Plotly.NET turns them into figures inside an isolated load context). The specs cross that boundary as JSON,
// so they hold only plain data.
namespace MultiTaskKit.Charts;

/// <summary>
/// One row of a run's history in long ("tidy") form: <c>history.csv</c> has exactly these columns
/// (<c>step, epoch, kind, task, metric, value</c>).
/// </summary>
/// <param name="Step">Optimiser step (1-based).</param>
/// <param name="Epoch">Fractional epoch at that step.</param>
/// <param name="Kind"><c>train</c> (per step) or <c>eval</c> (per evaluation, on the validation split).</param>
/// <param name="Task">Task name; for pairwise diagnostics two names joined by <c>|</c> (e.g. <c>imdb|tweets</c>); empty for run-wide values.</param>
/// <param name="Metric">snake_case metric: <c>loss</c>, <c>weight</c>, <c>grad_norm</c>, <c>grad_cosine</c>, <c>accuracy</c>, <c>pearson</c>, …</param>
/// <param name="Value">The value.</param>
public sealed record HistoryPoint(long Step, double Epoch, string Kind, string Task, string Metric, double Value)
{
    public const string Train = "train", Eval = "eval";
}

/// <summary>One named line: x and y of equal length.</summary>
public sealed record Series(string Name, double[] X, double[] Y);

/// <summary>One named group of bars over shared categories.</summary>
public sealed record BarGroup(string Name, double[] Values);

/// <summary>A grid of z values over x (columns) and y (rows) with an optional path drawn on top.</summary>
public sealed record SurfaceSpec(double[] X, double[] Y, double[][] Z, Series[] Paths);

/// <summary>One panel of an <c>intervals</c> chart: per category (a model or method) every seed's value as a point, and
/// the mean with its interval.</summary>
public sealed record IntervalPanel(string Title, string[] Categories, double[][] Points, double[] Mean, double[] Low, double[] High);

/// <summary>What the Plotly builder is asked to draw. Exactly one of the payloads is set, as <see cref="Kind"/> says.</summary>
public sealed record ChartSpec
{
    /// <summary><c>lines</c>, <c>grid-lines</c>, <c>bars</c>, <c>heatmap</c>, <c>surface</c>, <c>intervals</c>.</summary>
    public required string Kind { get; init; }
    public required string Title { get; init; }
    public required string XTitle { get; init; }
    public required string YTitle { get; init; }
    /// <summary>Colour bar title for heat maps and surfaces (the z axis, with its unit).</summary>
    public string? ZTitle { get; init; }
    public int Width { get; init; } = 760;
    public int Height { get; init; } = 440;

    /// <summary>For <c>lines</c>: all series on one plot. For <c>grid-lines</c>: one panel per group.</summary>
    public Series[][]? Panels { get; init; }
    /// <summary>Panel titles for <c>grid-lines</c>.</summary>
    public string[]? PanelTitles { get; init; }
    /// <summary>Draw markers on the lines (few points, e.g. evaluations).</summary>
    public bool Markers { get; init; }
    /// <summary>Names of series drawn faint (thin, translucent), e.g. a raw curve behind its smoothed line. A faint
    /// series named "X (raw)" takes the colour of the series "X".</summary>
    public string[]? Faint { get; init; }

    /// <summary>For <c>bars</c>: categories on x, one group per method/model.</summary>
    public string[]? Categories { get; init; }
    public BarGroup[]? Groups { get; init; }

    /// <summary>For <c>heatmap</c>: row labels (y), column labels (x), values [row][column], optional cell text.</summary>
    public string[]? RowLabels { get; init; }
    public string[]? ColumnLabels { get; init; }
    public double[][]? Cells { get; init; }
    public string[][]? CellText { get; init; }
    /// <summary>Centre the colour scale on zero with a diverging palette (cosines: red = conflict).</summary>
    public bool Diverging { get; init; }

    /// <summary>For <c>surface</c>.</summary>
    public SurfaceSpec? Surface { get; init; }

    /// <summary>For <c>intervals</c>: one panel each, laid out in a grid of two columns.</summary>
    public IntervalPanel[]? Intervals { get; init; }

    /// <summary>
    /// The spec with the points of lines whose x or y is NaN or ±∞ left out (a constant target's Pearson, a diverged
    /// loss). Bars, heat-map cells and surfaces keep theirs, and the figure shows them as gaps (null).
    /// </summary>
    public ChartSpec WithFiniteLines()
    {
        static Series S(Series s)
        {
            var keep = Enumerable.Range(0, Math.Min(s.X.Length, s.Y.Length)).Where(i => double.IsFinite(s.X[i]) && double.IsFinite(s.Y[i])).ToArray();
            return keep.Length == s.X.Length && s.X.Length == s.Y.Length ? s : s with { X = keep.Select(i => s.X[i]).ToArray(), Y = keep.Select(i => s.Y[i]).ToArray() };
        }
        return this with
        {
            Panels = Panels?.Select(p => p.Select(S).ToArray()).ToArray(),
            Surface = Surface is null ? null : Surface with { Paths = Surface.Paths.Select(S).ToArray() },
        };
    }

    /// <summary>
    /// The spec with every piece of text HTML-escaped. Plotly renders a subset of HTML in titles, names and labels
    /// (<c>&lt;a href&gt;</c> becomes a live link), and labels come from data files and task names; escaped, they show
    /// as typed.
    /// </summary>
    public ChartSpec WithEscapedText()
    {
        static string E(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
        static string[]? A(string[]? a) => a?.Select(E).ToArray();
        static Series S(Series s) => s with { Name = E(s.Name) };
        return this with
        {
            Title = E(Title), XTitle = E(XTitle), YTitle = E(YTitle), ZTitle = ZTitle is null ? null : E(ZTitle),
            Panels = Panels?.Select(p => p.Select(S).ToArray()).ToArray(),
            PanelTitles = A(PanelTitles),
            Categories = A(Categories),
            Groups = Groups?.Select(g => g with { Name = E(g.Name) }).ToArray(),
            RowLabels = A(RowLabels), ColumnLabels = A(ColumnLabels),
            CellText = CellText?.Select(A).ToArray()!,
            Surface = Surface is null ? null : Surface with { Paths = Surface.Paths.Select(S).ToArray() },
            Intervals = Intervals?.Select(p => p with { Title = E(p.Title), Categories = p.Categories.Select(E).ToArray() }).ToArray(),
        };
    }
}

/// <summary>
/// Source-generated JSON for the specs: file-based apps (<c>dotnet run app.cs</c>) turn reflection-based
/// System.Text.Json off by default, and the specs must cross the load-context boundary there too.
/// </summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web,
    NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ChartSpec))]
internal sealed partial class ChartSpecJson : System.Text.Json.Serialization.JsonSerializerContext;
