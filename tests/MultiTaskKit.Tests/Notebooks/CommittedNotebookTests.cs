using System.Text.Json.Nodes;
using MultiTaskKit.Charts;
using MultiTaskKit.Cli.Commands;
using MultiTaskKit.Notebooks;
using MultiTaskKit.Tests.Charts;

namespace MultiTaskKit.Tests.Notebooks;

/// <summary>
/// The notebooks in notebooks/: committed clean, teaching in order, loading the kit the README's way. Executing every
/// notebook and script is CI's job (notebooks/ci.sh, through mtk notebook run, dotnet run and dotnet-repl); here one
/// notebook runs small and its HTML export is rendered in Chromium.
/// </summary>
[Collection(ProcessStateCollection.Name)]
public class CommittedNotebookTests
{
    /// <summary>
    /// The notebook the rendering test runs and screenshots by default (fast). CI's notebooks/ci.sh runs this test a
    /// second time with MTK_RENDER_HTML pointing at the HTML export of 02-case-study that mtk notebook run wrote, since
    /// running the case study takes minutes.
    /// </summary>
    const string RenderedNotebook = "01-why-multitask.ipynb";

    static readonly string[] Expected =
        ["01-why-multitask", "02-case-study", "03-loss-weighting", "04-task-conflict", "05-mtl-vs-transfer", "06-when-sharing-helps", "07-cost-of-mtl", "08-pairs-and-tags", "09-does-it-help"];

    internal static string NotebookDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Kit.sln"))) return Path.Combine(d.FullName, "notebooks");
        throw new DirectoryNotFoundException($"expected Kit.sln above {AppContext.BaseDirectory}, found none");
    }

    public static TheoryData<string> Notebooks() => new(Expected);

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void NotebookIsCleanAndTeachesInOrder(string name)
    {
        var path = Path.Combine(NotebookDir(), name + ".ipynb");
        Assert.True(File.Exists(path), $"expected {path}");
        var nb = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.Equal("csharp", nb["metadata"]?["polyglot_notebook"]?["kernelInfo"]?["defaultKernelName"]?.GetValue<string>());
        var cells = nb["cells"]!.AsArray();
        var code = cells.Select((c, i) => (c, i)).Where(x => x.c!["cell_type"]!.GetValue<string>() == "code").ToList();
        Assert.NotEmpty(code);
        foreach (var (c, i) in code)
        {
            Assert.Empty(c!["outputs"]!.AsArray());
            Assert.Null(c["execution_count"]);
            Assert.Equal("csharp", c["metadata"]?["polyglot_notebook"]?["kernelName"]?.GetValue<string>());
            Assert.True(i > 0 && cells[i - 1]!["cell_type"]!.GetValue<string>() == "markdown", $"{name}: code cell {i + 1} has no markdown cell before it");
            var lines = Source(c).Split('\n').Count(l => l.Trim().Length > 0);
            Assert.True(lines <= 30, $"{name}: code cell {i + 1} has {lines} lines; keep teaching cells short");
        }
        var first = Source(code[0].c);
        Assert.Contains(ScriptExport.KitPackageLine, first);
        // The second code cell is the visible parameters cell, and it honours MTK_NOTEBOOK_SIZE (CI's small size).
        Assert.Contains("MTK_NOTEBOOK_SIZE", Source(code[1].c));
        var markdown = string.Concat(cells.Where(c => c!["cell_type"]!.GetValue<string>() == "markdown").Select(Source));
        Assert.Contains("You will be able to", markdown);
        Assert.Contains("## Exercises", markdown);
        Assert.Contains("<details>", markdown);
    }

    /// <summary>The drift check: every committed script is exactly what <c>mtk notebook export-scripts</c> makes from its notebook.</summary>
    [Theory]
    [MemberData(nameof(Notebooks))]
    public void ScriptIsWhatTheNotebookMakes(string name)
    {
        var notebook = Path.Combine(NotebookDir(), name + ".ipynb");
        var script = ScriptExport.ScriptPathFor(notebook);
        Assert.True(File.Exists(script), $"expected the script {script}; run: dotnet run --project lib/MultiTaskKit.Cli -- notebook export-scripts");
        Assert.True(ScriptExport.Export(notebook) == File.ReadAllText(script).Replace("\r\n", "\n"),
            $"{script} differs from what {notebook} makes; run: dotnet run --project lib/MultiTaskKit.Cli -- notebook export-scripts");
    }

    /// <summary>A script is the lesson too: every line of every markdown cell (exercises and glossary after the last code
    /// cell included) is in it as a comment (a cell that explains a class moves to the end with the class).</summary>
    [Theory]
    [MemberData(nameof(Notebooks))]
    public void ScriptCarriesEveryMarkdownCell(string name)
    {
        var notebook = Path.Combine(NotebookDir(), name + ".ipynb");
        var script = File.ReadAllText(ScriptExport.ScriptPathFor(notebook)).Replace("\r\n", "\n").Split('\n');
        var cells = JsonNode.Parse(File.ReadAllText(notebook))!["cells"]!.AsArray();
        foreach (var cell in cells.Where(c => c!["cell_type"]!.GetValue<string>() == "markdown"))
            foreach (var line in Source(cell!).Replace("\r\n", "\n").TrimEnd().Split('\n').Where(l => l.Trim().Length > 0))
                Assert.True(Array.IndexOf(script, "// " + line) >= 0, $"{name}: the script lacks the markdown line '{line}'; run: mtk notebook export-scripts");
    }

    [Fact]
    public void NoOtherNotebooksOrScripts()
    {
        Assert.Equal(Expected, Directory.GetFiles(NotebookDir(), "*.ipynb").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal));
        Assert.Equal(Expected, Directory.GetFiles(Path.Combine(NotebookDir(), "scripts"), "*.cs").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal));
    }

    static string Source(JsonNode? cell) =>
        cell!["source"] is JsonArray a ? string.Concat(a.Select(x => x!.GetValue<string>())) : cell["source"]!.GetValue<string>();

    [SkippableFact]
    public async Task HtmlExportRendersChartsInHeadlessChromium()
    {
        Skip.If(ChromiumScreenshot.FindChromium() is null, "Chromium is not installed (apt-get install -y chromium); the rendering test needs it.");
        var dir = Directory.CreateTempSubdirectory("mtk-render-").FullName;
        var before = Environment.GetEnvironmentVariable("MTK_NOTEBOOK_SIZE");
        Environment.SetEnvironmentVariable("MTK_NOTEBOOK_SIZE", "small");
        try
        {
            var html = Environment.GetEnvironmentVariable("MTK_RENDER_HTML");
            if (string.IsNullOrEmpty(html))
            {
                var result = await NotebookRunner.RunAsync(Path.Combine(NotebookDir(), RenderedNotebook), dir);
                Assert.Null(result.Failure);
                html = result.HtmlPath;
            }
            var png = ChromiumScreenshot.Capture(html, Path.Combine(dir, "page.png"), 1100, 20000);
            Console.WriteLine($"rendering test screenshot of {html}: {png}");
            var image = PngImage.Read(png);
            // Plotly's plot background (#E5ECF6) marks the plot areas; the palette's first two colours mark the traces.
            int plotArea = image.CountColour(0xE5, 0xEC, 0xF6, 4), traces = image.CountColour(0x1F, 0x77, 0xB4, 12) + image.CountColour(0xFF, 0x7F, 0x0E, 12);
            Assert.True(plotArea > 50_000, $"expected plot areas in the screenshot, found {plotArea} plot-background pixels");
            // Small-size curves are short and the raw training curves are drawn faint (not counted here).
            Assert.True(traces > 1_000, $"expected drawn traces inside the plot areas, found {traces} trace-coloured pixels");
            var keep = Environment.GetEnvironmentVariable("MTK_RENDER_ARTIFACTS");
            if (!string.IsNullOrEmpty(keep)) { Directory.CreateDirectory(keep); File.Copy(png, Path.Combine(keep, Path.GetFileNameWithoutExtension(html) + ".png"), true); }
        }
        finally
        {
            Environment.SetEnvironmentVariable("MTK_NOTEBOOK_SIZE", before);
            Directory.Delete(dir, true);
        }
    }
}
