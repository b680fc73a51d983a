using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Microsoft.DotNet.Interactive.Events;
using MultiTaskKit.Charts;
using MultiTaskKit.IO;
using MultiTaskKit.Interactive;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Notebooks;

/// <summary>The outcome of one notebook run.</summary>
/// <param name="NotebookPath">The executed .ipynb written.</param>
/// <param name="HtmlPath">Its offline HTML export.</param>
/// <param name="CellsRun">Code cells executed.</param>
/// <param name="Elapsed">Wall time of the run.</param>
/// <param name="Failure">Null when every cell ran; else which cell failed (number, first line) and the error.</param>
public sealed record NotebookRunResult(string NotebookPath, string HtmlPath, int CellsRun, TimeSpan Elapsed, string? Failure);

/// <summary>
/// Runs a .ipynb top to bottom in a fresh in-process C# kernel with the kit's extension loaded, stopping at the first
/// failing cell. The cell that loads the kit from its package feed (<c>#i "nuget: …"</c>, <c>#r "nuget: MultiTaskKit…"</c>)
/// is satisfied by the runner's own copy of the kit instead; any other package reference is an error.
/// <para>The process's working directory is left alone (a notebook's cells see the runner's own), so runs in one process
/// do not depend on each other's order; the kit's notebooks use no relative paths (their data lookup walks up from both
/// the working directory and the application's folder, see <see cref="KitPaths"/>).</para>
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
        try
        {
            await using var stream = File.OpenRead(notebookPath);
            doc = Notebook.Read(stream, Kernels);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            throw new InvalidDataException($"{notebookPath}: expected a Jupyter notebook (.ipynb JSON), found unreadable content ({e.Message}).", e);
        }
        Directory.CreateDirectory(outDir);
        var name = Path.GetFileNameWithoutExtension(notebookPath);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        KitFormatters.NewPage();
        using var kernel = await CreateKernelAsync();
        string? failure = null;
        int cellsRun = 0, order = 0;
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

        var ipynb = Path.Combine(outDir, name + ".ipynb");
        AtomicFile.Write(ipynb, tmp => { using var s = File.Create(tmp); Notebook.Write(doc, s, Kernels); });
        var html = Path.Combine(outDir, name + ".html");
        AtomicFile.WriteAllText(html, HtmlExport.Render(name, doc));
        return new NotebookRunResult(ipynb, html, cellsRun, clock.Elapsed, failure);
    }

    static async Task<CompositeKernel> CreateKernelAsync()
    {
        var csharp = new CSharpKernel().UseKernelHelpers().UseValueSharing();
        // The kit's assemblies, as the notebooks' package reference brings them: core, charts, extension.
        var kit = new[] { typeof(TorchRuntime).Assembly, typeof(MtlCharts).Assembly, typeof(KitExtension).Assembly, typeof(TorchSharp.torch).Assembly }
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
