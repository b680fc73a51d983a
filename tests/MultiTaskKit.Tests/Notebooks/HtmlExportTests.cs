using System.Text.Json.Nodes;
using MultiTaskKit.Notebooks;

namespace MultiTaskKit.Tests.Notebooks;

/// <summary>The HTML export renders a notebook's Markdown as VS Code does.</summary>
public class HtmlExportTests
{
    [Fact]
    public void TheGlossaryOfNotebook01IsATable()
    {
        var nb = JsonNode.Parse(File.ReadAllText(Path.Combine(CommittedNotebookTests.NotebookDir(), "01-why-multitask.ipynb")))!;
        var glossary = nb["cells"]!.AsArray()
            .Select(c => c!["source"] is JsonArray a ? string.Concat(a.Select(x => x!.GetValue<string>())) : c["source"]!.GetValue<string>())
            .Single(s => s.Contains("## Glossary", StringComparison.Ordinal));
        var html = HtmlExport.MarkdownToHtml(glossary);
        Assert.Contains("<table>", html);
        Assert.Contains("<td>共享层</td>", html);
        Assert.DoesNotContain("|---|", html);
    }
}
