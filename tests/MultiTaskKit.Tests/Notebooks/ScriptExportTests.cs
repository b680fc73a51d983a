using System.Text.Json.Nodes;
using MultiTaskKit.Notebooks;

namespace MultiTaskKit.Tests.Notebooks;

/// <summary>The notebook → script mapping of <see cref="ScriptExport"/> on small hand-written notebooks.</summary>
public class ScriptExportTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("mtk-export-").FullName;
    public void Dispose() => Directory.Delete(dir, true);

    string Notebook(params (string Kind, string Source)[] cells)
    {
        var nb = new JsonObject
        {
            ["cells"] = new JsonArray(cells.Select(c => (JsonNode)new JsonObject
            {
                ["cell_type"] = c.Kind == "md" ? "markdown" : "code",
                ["metadata"] = new JsonObject(),
                ["source"] = c.Source,
            }).ToArray()),
            ["metadata"] = new JsonObject(), ["nbformat"] = 4, ["nbformat_minor"] = 5,
        };
        var path = Path.Combine(dir, "01-test.ipynb");
        File.WriteAllText(path, nb.ToJsonString());
        return path;
    }

    [Fact]
    public void LoadCellBecomesProjectDirectivesUsingsGoUpTypesGoDown()
    {
        var script = ScriptExport.Export(Notebook(
            ("md", "# Title"),
            ("cs", ScriptExport.KitPackageLine + "\nusing MultiTaskKit.Interactive;\nusing MultiTaskKit.Charts;"),
            ("md", "A class."),
            ("cs", "class Box { public int V = 6; }"),
            ("md", "Use it."),
            ("cs", "using System.IO;\n// a comment\nvar b = new Box();\n(b.V * 7).Display();")));
        var lines = script.Split('\n');
        Assert.Contains("#:project ../../lib/MultiTaskKit.Charts", lines);
        Assert.Contains("using MultiTaskKit.Charts.Scripts;", lines);
        Assert.DoesNotContain("using MultiTaskKit.Interactive;", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("#r", StringComparison.Ordinal));
        int usingIo = Array.IndexOf(lines, "using System.IO;"), statement = Array.IndexOf(lines, "var b = new Box();"), type = Array.IndexOf(lines, "class Box { public int V = 6; }");
        Assert.True(usingIo >= 0 && statement > usingIo && type > statement, script);
        Assert.Equal("// a comment", lines[statement - 1]);
        Assert.Contains("// # Title", lines);
        Assert.Equal("// A class.", lines[type - 2]);
    }

    [Fact]
    public void MarkdownAfterTheLastCodeCellIsKept()
    {
        var script = ScriptExport.Export(Notebook(
            ("cs", ScriptExport.KitPackageLine),
            ("md", "Run it."),
            ("cs", "var x = 6;\n(x * 7).Display();\nclass Box { }"),
            ("md", "## Exercises\n\n1. Change x."),
            ("md", "## Glossary")));
        var lines = script.Split('\n');
        int statement = Array.IndexOf(lines, "(x * 7).Display();"), exercises = Array.IndexOf(lines, "// ## Exercises"),
            item = Array.IndexOf(lines, "// 1. Change x."), glossary = Array.IndexOf(lines, "// ## Glossary"), type = Array.IndexOf(lines, "class Box { }");
        Assert.True(statement >= 0 && exercises > statement && item > exercises && glossary > item && type > glossary, script);
    }

    [Fact]
    public void ABareExpressionIsRefusedNamingTheCell()
    {
        var path = Notebook(("cs", ScriptExport.KitPackageLine), ("md", "x"), ("cs", "var x = 6;\nx * 7"));
        var e = Assert.Throws<InvalidDataException>(() => ScriptExport.Export(path));
        Assert.Contains("cell 3 ('var x = 6;')", e.Message);
        Assert.Contains(".Display();", e.Message);
    }

    [Fact]
    public void OtherDirectivesAndAMissingLoadCellAreRefused()
    {
        var e = Assert.Throws<InvalidDataException>(() => ScriptExport.Export(Notebook(("cs", ScriptExport.KitPackageLine), ("cs", "#r \"nuget: Foo, 1.0\""))));
        Assert.Contains("#r \"nuget: Foo, 1.0\"", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ScriptExport.Export(Notebook(("cs", "var x = 1;"))));
        Assert.Contains("found none", e.Message);
    }

    [Fact]
    public void CheckReportsDriftAndWritesNothing()
    {
        var path = Notebook(("cs", ScriptExport.KitPackageLine), ("cs", "1.Display();"));
        Assert.Equal([ScriptExport.ScriptPathFor(path)], ScriptExport.Run([path], check: true));
        Assert.False(File.Exists(ScriptExport.ScriptPathFor(path)));
        Assert.Equal([ScriptExport.ScriptPathFor(path)], ScriptExport.Run([path], check: false));
        Assert.Empty(ScriptExport.Run([path], check: true));
        File.AppendAllText(ScriptExport.ScriptPathFor(path), "// edited by hand\n");
        Assert.Single(ScriptExport.Run([path], check: true));
    }
}
