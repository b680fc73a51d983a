namespace MultiTaskKit.Notebooks;

/// <summary>Checks an executed .ipynb (from any client: mtk notebook run, dotnet-repl, VS Code).</summary>
public static class ExecutedNotebook
{
    /// <summary>What is wrong with it, one line per problem naming the cell; empty when it is fine.</summary>
    public static List<string> Problems(string path, bool expectCharts)
    {
        var problems = new List<string>();
        if (!File.Exists(path)) return [$"{path}: no such file"];
        System.Text.Json.Nodes.JsonNode? nb;
        try { nb = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path)); }
        catch (System.Text.Json.JsonException e) { return [$"{path}: not JSON: {e.Message}"]; }
        var cells = nb?["cells"]?.AsArray() ?? throw new InvalidDataException($"{path}: expected a 'cells' array, found none");
        bool chart = false, plotly = false;
        for (int i = 0; i < cells.Count; i++)
        {
            var cell = cells[i]!;
            if (cell["cell_type"]?.GetValue<string>() != "code") continue;
            var source = cell["source"] is System.Text.Json.Nodes.JsonArray a ? string.Concat(a.Select(x => x!.GetValue<string>())) : cell["source"]?.GetValue<string>() ?? "";
            var first = source.Split('\n')[0].Trim();
            var outputs = cell["outputs"]?.AsArray() ?? [];
            // A cell with no output shows that it ran by its execution count (Jupyter, mtk) or, in dotnet-repl, which
            // leaves the count empty, by the end time it records in the cell's metadata.
            bool ran = outputs.Count > 0 || cell["execution_count"] is not null
                       || cell["metadata"]?["dotnet_repl_cellExecutionEndTime"] is not null;
            if (source.Trim().Length > 0 && !ran)
                problems.Add($"cell {i + 1} ('{first}'): not executed");
            foreach (var o in outputs)
            {
                var type = o!["output_type"]?.GetValue<string>();
                if (type == "error")
                    problems.Add($"cell {i + 1} ('{first}'): {o["ename"]?.GetValue<string>()}: {Truncate(o["evalue"]?.GetValue<string>())}");
                if (type == "stream" && o["name"]?.GetValue<string>() == "stderr" && Text(o["text"]).Contains("Exception"))
                    problems.Add($"cell {i + 1} ('{first}'): exception on stderr: {Truncate(Text(o["text"]))}");
                var html = Text(o["data"]?["text/html"]);
                chart |= html.Contains("class=\"mtk-chart\"");
                plotly |= html.Contains("* plotly.js v");
            }
        }
        if (expectCharts && !chart) problems.Add("no kit chart among the outputs");
        if (expectCharts && chart && !plotly) problems.Add("charts are there but plotly.js is not embedded in any output");
        return problems;
    }

    static string Text(System.Text.Json.Nodes.JsonNode? n) =>
        n is System.Text.Json.Nodes.JsonArray a ? string.Concat(a.Select(x => x?.GetValue<string>())) : n?.GetValue<string>() ?? "";

    static string Truncate(string? s) => s is null ? "" : s.Length > 400 ? s[..400] + "…" : s;
}
