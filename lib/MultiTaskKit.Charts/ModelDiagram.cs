using System.Globalization;
using System.Net;
using System.Text;
using MultiTaskKit.Models;

namespace MultiTaskKit.Charts;

/// <summary>
/// A drawing of a multi-task network made from the network object itself: its parameters grouped into blocks (one per
/// layer, embedding or head), the shared blocks stacked at the bottom and one column per task above them, each block
/// with its parameter count. It is an inline SVG, so it renders offline.
/// </summary>
public sealed class ModelDiagram
{
    /// <summary>One drawn block: its name (the parameter path without the owner's prefix), its owner, its parameter count.</summary>
    public sealed record Block(string Name, string Owner, long Parameters);

    ModelDiagram(string title, IReadOnlyList<Block> shared, IReadOnlyDictionary<string, IReadOnlyList<Block>> tasks)
    {
        Title = title; Shared = shared; Tasks = tasks;
    }

    public string Title { get; }
    /// <summary>The shared blocks, input side first.</summary>
    public IReadOnlyList<Block> Shared { get; }
    /// <summary>Each task's own blocks, input side first.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Block>> Tasks { get; }

    /// <summary>Groups <paramref name="model"/>'s parameters into blocks: a path is cut after its first layer index
    /// (<c>shared.layers.0</c>) or else after the owner's prefix and one more name (<c>shared.stem</c>, <c>tasks.imdb.head</c>).</summary>
    public static ModelDiagram Of(MultiTaskNetwork model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var owner = new Dictionary<TorchSharp.Modules.Parameter, string>(ReferenceEqualityComparer.Instance);
        foreach (var p in model.SharedParameters()) owner[p] = "";
        foreach (var t in model.Tasks) foreach (var p in model.TaskParameters(t)) owner.TryAdd(p, t);
        var blocks = new List<(string Key, string Owner, long Count)>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!owner.TryGetValue(p, out var o)) continue; // strategy parameters are not part of the network
            var parts = name.Split('.');
            int numeric = Array.FindIndex(parts, s => s.All(char.IsAsciiDigit));
            int depth = o == "" ? 2 : 3;
            int cut = numeric >= 0 && numeric < parts.Length - 1 ? numeric + 1 : Math.Min(depth, parts.Length - 1);
            var key = string.Join('.', parts[..Math.Max(1, cut)]);
            int at = blocks.FindIndex(b => b.Key == key && b.Owner == o);
            if (at < 0) blocks.Add((key, o, p.numel()));
            else blocks[at] = (key, o, blocks[at].Count + p.numel());
        }
        static string Short(string key, string o)
        {
            var parts = key.Split('.');
            return string.Join('.', parts.Skip(o == "" ? 1 : Math.Min(2, parts.Length - 1)));
        }
        var shared = blocks.Where(b => b.Owner == "").Select(b => new Block(Short(b.Key, ""), "shared", b.Count)).ToList();
        var tasks = model.Tasks.ToDictionary(t => t, t => (IReadOnlyList<Block>)blocks.Where(b => b.Owner == t).Select(b => new Block(Short(b.Key, t), t, b.Count)).ToList());
        return new ModelDiagram($"{model.Architecture}: {model.GetType().Name}", shared, tasks);
    }

    static readonly string[] TaskColours = ["#fdd9b5", "#c7e9c0", "#dadaeb", "#fcbba1"];

    /// <summary>The diagram as an inline SVG (all text escaped).</summary>
    public string ToSvg()
    {
        const int boxH = 30, gap = 10, colW = 230, pad = 20;
        int columns = Math.Max(1, Tasks.Count);
        int width = pad * 2 + columns * colW + (columns - 1) * gap;
        int taskRows = Tasks.Count == 0 ? 0 : Tasks.Values.Max(b => b.Count);
        int rows = 1 + Shared.Count + taskRows + 1; // input, shared, tasks, outputs
        int height = pad * 2 + 24 + rows * (boxH + gap);
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"mtk-model-diagram\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.Append(inv, $"<text x=\"{pad}\" y=\"{pad + 8}\" font-weight=\"bold\" font-size=\"14\">{E(Title)}</text>");
        int Y(int row) => height - pad - (row + 1) * (boxH + gap); // row 0 at the bottom
        void Box(int x, int y, int w, string fill, string text, string? sub = null)
        {
            sb.Append(inv, $"<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{boxH}\" rx=\"4\" fill=\"{fill}\" stroke=\"#555\"/>");
            sb.Append(inv, $"<text x=\"{x + w / 2}\" y=\"{y + 19}\" text-anchor=\"middle\">{E(text)}{(sub is null ? "" : $" <tspan fill=\"#555\">({E(sub)})</tspan>")}</text>");
        }
        void Arrow(int x, int yFrom, int yTo) =>
            sb.Append(inv, $"<line x1=\"{x}\" y1=\"{yFrom}\" x2=\"{x}\" y2=\"{yTo + 2}\" stroke=\"#555\"/><polygon points=\"{x - 4},{yTo + 8} {x + 4},{yTo + 8} {x},{yTo + 1}\" fill=\"#555\"/>");
        int full = width - 2 * pad;
        Box(pad, Y(0), full, "#ffffff", "input");
        for (int i = 0; i < Shared.Count; i++)
        {
            Box(pad, Y(1 + i), full, "#9ecae1", "shared · " + Shared[i].Name, Shared[i].Parameters.ToString("N0", inv));
            Arrow(width / 2, Y(i), Y(1 + i) + boxH);
        }
        int baseRow = 1 + Shared.Count, c = 0;
        foreach (var (task, blocks) in Tasks)
        {
            int x = pad + c * (colW + gap), mid = x + colW / 2;
            string fill = TaskColours[c % TaskColours.Length];
            for (int i = 0; i < blocks.Count; i++)
            {
                Box(x, Y(baseRow + i), colW, fill, $"{task} · {blocks[i].Name}", blocks[i].Parameters.ToString("N0", inv));
                Arrow(mid, Y(baseRow + i - 1), Y(baseRow + i) + boxH);
            }
            Box(x, Y(baseRow + taskRows), colW, "#ffffff", $"prediction: {task}");
            Arrow(mid, Y(baseRow + blocks.Count - 1), Y(baseRow + taskRows) + boxH);
            c++;
        }
        return sb.Append("</svg>").ToString();
    }

    /// <summary>The diagram with a legend line, for notebooks and pages.</summary>
    public string ToHtml() =>
        $"<div class=\"mtk-model\">{ToSvg()}<div style=\"color:#555\">blue: shared by every task; other colours: one task's own parameters. Counts are parameters.</div></div>";

    /// <summary>The blocks as a table: one row per block (layer, embedding, head), who owns it, its parameters; then the totals
    /// shared and per task.</summary>
    public KitTable ToTable()
    {
        var all = Shared.Concat(Tasks.Values.SelectMany(b => b)).ToList();
        long total = all.Sum(b => b.Parameters);
        var rows = all.Select(b => (IReadOnlyList<string>)[b.Name, b.Owner, b.Parameters.ToString("N0", CultureInfo.InvariantCulture)])
            .Concat(all.GroupBy(b => b.Owner).Select(g => (IReadOnlyList<string>)[$"total ({g.Key})", g.Key,
                $"{g.Sum(b => b.Parameters).ToString("N0", CultureInfo.InvariantCulture)} ({100.0 * g.Sum(b => b.Parameters) / Math.Max(1, total):0.#} %)"]));
        return new KitTable($"Parameters shared and per task, per block: {Title}", ["block", "owner", "parameters"], rows);
    }

    /// <summary>The same structure as text (scripts print it).</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(Title).Append('\n');
        foreach (var (task, blocks) in Tasks)
            sb.Append("  ").Append(task).Append(": ").AppendJoin(" -> ", blocks.Select(b => $"{b.Name} ({b.Parameters:N0})")).Append('\n');
        sb.Append("  shared: ").AppendJoin(" -> ", Shared.Select(b => $"{b.Name} ({b.Parameters:N0})"));
        return sb.ToString();
    }

    static string E(string s) => WebUtility.HtmlEncode(s);
}
