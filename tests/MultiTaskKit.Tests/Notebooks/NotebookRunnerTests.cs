using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MultiTaskKit.Cli.Commands;
using MultiTaskKit.Notebooks;

namespace MultiTaskKit.Tests.Notebooks;

/// <summary>mtk notebook run on small notebooks the tests write themselves.</summary>
[Collection(ProcessStateCollection.Name)] // the runner changes the process's current directory while a notebook runs
public class NotebookRunnerTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("mtk-nb-").FullName;
    public void Dispose() => Directory.Delete(dir, true);

    internal static string Notebook(string dir, string name, params (string Kind, string Text)[] cells)
    {
        var arr = new JsonArray();
        foreach (var (kind, text) in cells)
            arr.Add(kind == "md"
                ? new JsonObject { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = text }
                : new JsonObject
                {
                    ["cell_type"] = "code", ["execution_count"] = null, ["outputs"] = new JsonArray(), ["source"] = text,
                    ["metadata"] = new JsonObject { ["polyglot_notebook"] = new JsonObject { ["kernelName"] = "csharp" } },
                });
        var nb = new JsonObject
        {
            ["cells"] = arr, ["nbformat"] = 4, ["nbformat_minor"] = 5,
            ["metadata"] = JsonNode.Parse("""{"kernelspec":{"display_name":".NET (C#)","language":"C#","name":".net-csharp"},"polyglot_notebook":{"kernelInfo":{"defaultKernelName":"csharp","items":[{"aliases":[],"name":"csharp"}]}}}"""),
        };
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, nb.ToJsonString());
        return path;
    }

    [Fact]
    public void VerifyTakesDotnetReplsEndTimeAsProofThatASilentCellRan()
    {
        // dotnet-repl leaves execution_count empty and records the cell's end time in its metadata instead.
        var path = Notebook(dir, "repl.ipynb", ("code", "class Silent { }"), ("code", "var x = 1;"));
        Assert.Equal(2, ExecutedNotebook.Problems(path, expectCharts: false).Count(p => p.Contains("not executed")));
        var nb = JsonNode.Parse(File.ReadAllText(path))!;
        nb["cells"]![0]!["metadata"]!["dotnet_repl_cellExecutionEndTime"] = "2026-11-29T23:18:40.068532+00:00";
        File.WriteAllText(path, nb.ToJsonString());
        var problems = ExecutedNotebook.Problems(path, expectCharts: false);
        Assert.Equal(["cell 2 ('var x = 1;'): not executed"], problems);
    }

    [Fact]
    public async Task RunsCellsWritesOutputsAndUpdatesProgressInPlace()
    {
        var path = Notebook(dir, "ok.ipynb",
            ("md", "# A test notebook"),
            ("cs", "#i \"nuget: ../artifacts/feed\"\n#r \"nuget: MultiTaskKit.Interactive, *-*\""),
            ("cs", "using MultiTaskKit.Charts;\nusing MultiTaskKit.Interactive;\nusing MultiTaskKit.Training;\nConsole.WriteLine(\"hello \" + (6 * 7));"),
            ("cs", "var p = ProgressView.Show(\"loop\", TimeSpan.Zero);\nfor (int i = 1; i <= 50; i++) p.Report(new TrainingProgress(\"step\", i, 50, 0, new Dictionary<string, double> { [\"a\"] = 1.0 / i }, 1, 0, TimeSpan.Zero, null));\np.Updates"),
            ("cs", "MtlCharts.Lines(\"l\", \"x (steps)\", \"y (units)\", [new Series(\"s\", [1, 2, 3], [3, 1, 2])])"),
            ("cs", "new KitTable(\"t\", [\"text\"], [[\"<script>alert(1)</script>\"]])"));
        var result = await NotebookRunner.RunAsync(path, Path.Combine(dir, "out"));
        Assert.Null(result.Failure);
        Assert.Equal(5, result.CellsRun);

        var nb = JsonNode.Parse(File.ReadAllText(result.NotebookPath))!;
        var cells = nb["cells"]!.AsArray();
        Assert.Contains("hello 42", cells[2]!["outputs"]!.ToJsonString());
        // 50 reports, one output: the display is updated in place, and the cell's value says 50 updates were pushed.
        var progressOutputs = cells[3]!["outputs"]!.AsArray();
        Assert.Equal(2, progressOutputs.Count); // the live display + the returned Updates count
        Assert.Contains("step 50/50", progressOutputs[0]!.ToJsonString());
        Assert.Contains("mtk-chart", cells[4]!["outputs"]!.ToJsonString());
        Assert.DoesNotContain("<script>alert", cells[5]!["outputs"]!.ToJsonString());

        var html = File.ReadAllText(result.HtmlPath);
        Assert.Single(Regex.Matches(html, @"\* plotly\.js v\d"));
        Assert.Contains("class=\"mtk-chart\"", html);
        Assert.Contains("<h1 id=\"a-test-notebook\">A test notebook</h1>", html); // headings carry anchors, as in VS Code
        Assert.DoesNotContain("<script>alert", html);
    }

    [Fact]
    public async Task AFailingCellStopsTheRunAndIsNamed()
    {
        var path = Notebook(dir, "bad.ipynb",
            ("md", "text"),
            ("cs", "var x = 1;"),
            ("cs", "throw new InvalidOperationException(\"boom in the third cell\");"),
            ("cs", "Console.WriteLine(\"never\");"));
        var result = await NotebookRunner.RunAsync(path, Path.Combine(dir, "out"));
        Assert.NotNull(result.Failure);
        Assert.Contains("cell 3", result.Failure);
        Assert.Contains("throw new InvalidOperationException", result.Failure);
        Assert.Contains("boom in the third cell", result.Failure);
        Assert.Equal(2, result.CellsRun);
        Assert.DoesNotContain("never\\n", File.ReadAllText(result.NotebookPath));
    }

    [Fact]
    public async Task OtherPackageReferencesAreRefusedByName()
    {
        var path = Notebook(dir, "pkg.ipynb", ("cs", "#r \"nuget: Newtonsoft.Json, 13.0.4\""));
        var result = await NotebookRunner.RunAsync(path, Path.Combine(dir, "out"));
        Assert.Contains("Newtonsoft.Json", result.Failure);
        Assert.Contains("cell 1", result.Failure);
    }

    [Fact]
    public async Task CompileErrorsFailTheCell()
    {
        var path = Notebook(dir, "compile.ipynb", ("cs", "int y = \"not an int\";"));
        var result = await NotebookRunner.RunAsync(path, Path.Combine(dir, "out"));
        Assert.Contains("cell 1", result.Failure);
        Assert.Contains("CS0029", result.Failure);
    }
}
