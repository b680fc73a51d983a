using System.CommandLine;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Microsoft.DotNet.Interactive.Events;
using MultiTaskKit.Charts;
using MultiTaskKit.Interactive;
using Spectre.Console;

namespace MultiTaskKit.Cli.Commands;

/// <summary><c>mtk notebook run &lt;files…&gt; [--out DIR]</c>: executes notebooks headless.</summary>
static class NotebookCommand
{
    public static Command Create()
    {
        var files = new Argument<FileInfo[]>("files") { Description = "Notebooks (.ipynb) to execute, in order.", Arity = ArgumentArity.OneOrMore };
        var outDir = new Option<DirectoryInfo?>("--out") { Description = "Folder for the executed .ipynb and .html files (default: ./notebook-runs)." };
        var run = new Command("run", "Execute notebooks in an in-process C# kernel; write executed .ipynb files and offline HTML exports. Exits 1 naming the cell when a cell fails.");
        run.Arguments.Add(files);
        run.Options.Add(outDir);
        run.SetAction(async (parse, ct) =>
        {
            CommonOptions.Apply(parse);
            var dir = parse.GetValue(outDir)?.FullName ?? Path.GetFullPath("notebook-runs");
            int failures = 0;
            foreach (var file in parse.GetValue(files)!)
            {
                var result = await NotebookRunner.RunAsync(file.FullName, dir, ct);
                var status = result.Failure is null ? "[green]ok[/]" : "[red]FAILED[/]";
                AnsiConsole.MarkupLine($"{status} {Markup.Escape(file.Name)}: {result.CellsRun} code cells in {result.Elapsed.TotalSeconds:0.0} s → {Markup.Escape(result.NotebookPath)}, {Markup.Escape(result.HtmlPath)}");
                if (result.Failure is { } f)
                {
                    failures++;
                    Console.Error.WriteLine(f);
                }
            }
            return failures == 0 ? 0 : 1;
        });
        var executed = new Argument<FileInfo[]>("files") { Description = "Executed notebooks (.ipynb), e.g. written by dotnet-repl --output-path.", Arity = ArgumentArity.OneOrMore };
        var expectCharts = new Option<bool>("--expect-charts") { Description = "Also require at least one kit chart (with plotly.js embedded) among the outputs." };
        var verify = new Command("verify", "Check executed notebooks: every code cell ran, no cell has an error output, and (with --expect-charts) the charts are there. Exits 1 naming the cell otherwise.");
        verify.Arguments.Add(executed);
        verify.Options.Add(expectCharts);
        verify.SetAction(parse =>
        {
            int failures = 0;
            foreach (var file in parse.GetValue(executed)!)
            {
                var problems = ExecutedNotebook.Problems(file.FullName, parse.GetValue(expectCharts));
                if (problems.Count == 0) AnsiConsole.MarkupLine($"[green]ok[/] {Markup.Escape(file.Name)}");
                else
                {
                    failures++;
                    AnsiConsole.MarkupLine($"[red]FAILED[/] {Markup.Escape(file.Name)}");
                    foreach (var p in problems) Console.Error.WriteLine("  " + p);
                }
            }
            return failures == 0 ? 0 : 1;
        });
        var command = new Command("notebook", "Work with the kit's Polyglot notebooks.");
        command.Subcommands.Add(run);
        command.Subcommands.Add(verify);
        return command;
    }
}

/// <summary>The outcome of one notebook run.</summary>
/// <param name="Failure">Null when every cell ran; else which cell failed (number, first line) and the error.</param>
public sealed record NotebookRunResult(string NotebookPath, string HtmlPath, int CellsRun, TimeSpan Elapsed, string? Failure);

/// <summary>
/// Runs a .ipynb top to bottom in a fresh in-process C# kernel with the kit's extension loaded, stopping at the first
/// failing cell. The cell that loads the kit from its package feed (<c>#i "nuget: …"</c>, <c>#r "nuget: MultiTaskKit…"</c>)
/// is satisfied by the runner's own copy of the kit instead; any other package reference is an error.
/// </summary>
public static class NotebookRunner
{
    static readonly Regex KitLoadLine = new(@"^\s*#(i\s+""nuget:|r\s+""nuget:\s*MultiTaskKit)", RegexOptions.IgnoreCase);
    static readonly Regex OtherPackage = new(@"^\s*#r\s+""nuget:", RegexOptions.IgnoreCase);

    /// <summary>Kernel names the runner can execute; other code cells are an error.</summary>
    static readonly KernelInfoCollection Kernels = new()
    {
        new Microsoft.DotNet.Interactive.Documents.KernelInfo("csharp", "C#", ["c#", "C#"]),
        new Microsoft.DotNet.Interactive.Documents.KernelInfo("markdown", "Markdown", ["md"]),
    };

    public static async Task<NotebookRunResult> RunAsync(string notebookPath, string outDir, CancellationToken ct = default)
    {
        Kernels.DefaultKernelName = "csharp";
        if (!File.Exists(notebookPath)) throw new FileNotFoundException($"mtk notebook run: expected a notebook at {notebookPath}, found no such file.", notebookPath);
        InteractiveDocument doc;
        await using (var stream = File.OpenRead(notebookPath)) doc = Notebook.Read(stream, Kernels);
        Directory.CreateDirectory(outDir);
        var name = Path.GetFileNameWithoutExtension(notebookPath);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        KitFormatters.NewPage();
        using var kernel = await CreateKernelAsync();
        var previousDir = Environment.CurrentDirectory;
        // Notebooks resolve relative paths from their own folder, as in VS Code and dotnet-repl.
        Environment.CurrentDirectory = Path.GetDirectoryName(Path.GetFullPath(notebookPath))!;
        string? failure = null;
        int cellsRun = 0, order = 0;
        try
        {
            for (int i = 0; i < doc.Elements.Count && failure is null; i++)
            {
                ct.ThrowIfCancellationRequested();
                var cell = doc.Elements[i];
                cell.Outputs.Clear();
                if (cell.KernelName == "markdown") continue;
                var firstLine = cell.Contents.Split('\n')[0].Trim();
                if (cell.KernelName != "csharp")
                {
                    failure = $"{name}: cell {i + 1} ('{firstLine}'): kernel '{cell.KernelName}' is not supported by mtk notebook run (C# and Markdown only).";
                    break;
                }
                var code = Rewrite(cell.Contents, out var unsupported);
                if (unsupported != null)
                {
                    failure = $"{name}: cell {i + 1}: package reference '{unsupported}' is not supported by mtk notebook run (only the kit's own packages, which the runner provides).";
                    cell.Outputs.Add(new ErrorElement(failure, "UnsupportedDirective", []));
                    break;
                }
                cell.ExecutionOrder = ++order;
                cellsRun++;
                var result = await kernel.SendAsync(new SubmitCode(code, "csharp"), ct);
                failure = Collect(result, cell, $"{name}: cell {i + 1} ('{firstLine}')");
            }
        }
        finally { Environment.CurrentDirectory = previousDir; }

        var ipynb = Path.Combine(outDir, name + ".ipynb");
        Runtime.AtomicFile.Write(ipynb, tmp => { using var s = File.Create(tmp); Notebook.Write(doc, s, Kernels); });
        var html = Path.Combine(outDir, name + ".html");
        Runtime.AtomicFile.WriteAllText(html, HtmlExport.Render(name, doc));
        return new NotebookRunResult(ipynb, html, cellsRun, clock.Elapsed, failure);
    }

    static async Task<CompositeKernel> CreateKernelAsync()
    {
        var csharp = new CSharpKernel().UseKernelHelpers().UseValueSharing();
        var kit = new[] { typeof(MtlCharts).Assembly, typeof(KitExtension).Assembly, typeof(TorchSharp.torch).Assembly }
            .Select(a => a.Location).ToArray();
        csharp.AddAssemblyReferences(kit);
        var composite = new CompositeKernel { csharp };
        composite.DefaultKernelName = "csharp";
        new KitExtension().OnLoadAsync(composite).GetAwaiter().GetResult();
        // Namespaces as the .NET Interactive tool's C# kernel has them (System.IO is not among them: measured in
        // dotnet-repl 0.3.259, Path needs `using System.IO;`), so a notebook that runs here runs there too.
        var usings = await composite.SendAsync(new SubmitCode(
            "using System; using System.Linq; using System.Collections.Generic; using System.Text; using System.Threading.Tasks;", "csharp"));
        if (usings.Events.OfType<CommandFailed>().FirstOrDefault() is { } f) throw new InvalidOperationException($"mtk notebook run: the kernel's default usings failed: {f.Message}");
        return composite;
    }

    /// <summary>Comments out the kit-loading directives; reports any other package reference.</summary>
    static string Rewrite(string code, out string? unsupported)
    {
        unsupported = null;
        var lines = code.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (KitLoadLine.IsMatch(lines[i])) lines[i] = "// (provided by mtk notebook run) " + lines[i].Trim();
            else if (OtherPackage.IsMatch(lines[i])) { unsupported = lines[i].Trim(); }
        }
        return string.Join('\n', lines);
    }

    /// <summary>Turns kernel events into cell outputs; an update replaces the output it updates. Returns the failure, if any.</summary>
    static string? Collect(KernelCommandResult result, InteractiveDocumentElement cell, string where)
    {
        var byValueId = new Dictionary<string, int>();
        string? failure = null;
        foreach (var e in result.Events)
        {
            switch (e)
            {
                case StandardOutputValueProduced o:
                    cell.Outputs.Add(new TextElement(string.Concat(o.FormattedValues.Select(v => v.Value)), "stdout")); break;
                case StandardErrorValueProduced o:
                    cell.Outputs.Add(new TextElement(string.Concat(o.FormattedValues.Select(v => v.Value)), "stderr")); break;
                case ReturnValueProduced r:
                    var rv = new ReturnValueElement();
                    foreach (var f in r.FormattedValues) rv.Data[f.MimeType] = f.Value;
                    cell.Outputs.Add(rv); break;
                case DisplayEvent d:
                    var data = d.FormattedValues.ToDictionary(f => f.MimeType, f => (object)f.Value);
                    var element = new DisplayElement(data);
                    if (d.ValueId is { } id && byValueId.TryGetValue(id, out var at)) cell.Outputs[at] = element;
                    else
                    {
                        if (d.ValueId is { } newId) byValueId[newId] = cell.Outputs.Count;
                        cell.Outputs.Add(element);
                    }
                    break;
                case CommandFailed f:
                    var message = f.Exception?.ToString() ?? f.Message;
                    cell.Outputs.Add(new ErrorElement(message, f.Exception?.GetType().Name ?? "Error", []));
                    failure = $"{where} failed:\n{message}";
                    break;
            }
        }
        return failure;
    }
}

/// <summary>An executed notebook as one offline HTML page: plotly.js once in the head, charts, tables and text.</summary>
static class HtmlExport
{
    public static string Render(string name, InteractiveDocument doc)
    {
        var plotlyTag = ChartPage.PlotlyScriptTag();
        var blocks = new List<ChartPage.Block>();
        bool anyChart = false;
        foreach (var cell in doc.Elements)
        {
            if (cell.KernelName == "markdown")
            {
                blocks.Add(ChartPage.Block.RawHtml("<div class=\"md\">" + Markdig.Markdown.ToHtml(cell.Contents) + "</div>"));
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
            if (source.Trim().Length > 0 && outputs.Count == 0 && cell["execution_count"] is null)
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
