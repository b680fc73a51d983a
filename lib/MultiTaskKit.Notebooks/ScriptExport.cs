using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MultiTaskKit.Notebooks;

/// <summary>
/// Makes each notebook's script (<c>notebooks/scripts/NN-name.cs</c>, a .NET file-based program) from the notebook, so
/// that the notebook is the one source and the script runs the same code (<c>mtk notebook export-scripts</c>; with
/// <c>--check</c>, CI fails when a committed script differs from what this makes).
/// <para>The notebook is the source because it is what a teacher edits and runs (VS Code Polyglot); the script is the
/// compiler's and CI's view of the same cells. The mapping is small and fixed:</para>
/// <list type="bullet">
/// <item>markdown cells become <c>//</c> comments before the code they explain; markdown after the last code cell
/// (take-aways, exercises, glossary) ends the script's statements;</item>
/// <item>the cell that loads the kit (<c>#r "nuget: MultiTaskKit.Interactive, *-*"</c>) becomes <c>#:project</c> directives;
/// <c>using MultiTaskKit.Interactive;</c> becomes <c>using MultiTaskKit.Charts.Scripts;</c>, whose <c>ProgressView</c> and
/// <c>.Display()</c> print to the console and write the charts to an HTML page; and the script first prepares TorchSharp,
/// as the kernel extension does when the notebook loads it;</item>
/// <item><c>using</c> directives move to the top, type declarations to the end (a C# program's order), statements keep
/// the cells' order.</item>
/// </list>
/// A cell must parse as C# statements: a cell that ends in a bare expression (the kernel would display it) is refused,
/// since a script cannot run it; end such a cell with <c>.Display();</c>.
/// </summary>
public static class ScriptExport
{
    /// <summary>The package line of the kit-loading cell.</summary>
    public const string KitPackageLine = "#r \"nuget: MultiTaskKit.Interactive, *-*\"";

    static readonly Regex KitPackage = new(@"^\s*#r\s+""nuget:\s*MultiTaskKit\.Interactive\b[^""]*""\s*$");
    static readonly Regex FeedSource = new(@"^\s*#i\s+""nuget:[^""]*""\s*$");
    static readonly Regex OtherDirective = new(@"^\s*#(r|i|!|load)\b");
    static readonly Dictionary<string, string> UsingMap = new() { ["MultiTaskKit.Interactive"] = "MultiTaskKit.Charts.Scripts" };

    /// <summary>The script of <paramref name="notebookPath"/>: <c>scripts/&lt;name&gt;.cs</c> beside it.</summary>
    public static string ScriptPathFor(string notebookPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(notebookPath))!, "scripts", Path.GetFileNameWithoutExtension(notebookPath) + ".cs");

    /// <summary>The script text for a notebook. Throws <see cref="InvalidDataException"/> naming the notebook and cell when a cell cannot be exported.</summary>
    public static string Export(string notebookPath)
    {
        var name = Path.GetFileNameWithoutExtension(notebookPath);
        JsonNode nb;
        try { nb = JsonNode.Parse(File.ReadAllText(notebookPath)) ?? throw new InvalidDataException("empty"); }
        catch (System.Text.Json.JsonException e) { throw new InvalidDataException($"{notebookPath}: expected notebook JSON, found a parse error: {e.Message}"); }
        var cells = nb["cells"] as JsonArray ?? throw new InvalidDataException($"{notebookPath}: expected a 'cells' array, found none.");

        var usings = new List<string> { "using System.Text;" };
        var body = new StringBuilder();
        var types = new StringBuilder();
        var pendingMarkdown = new StringBuilder();
        bool kitLoaded = false;
        for (int i = 0; i < cells.Count; i++)
        {
            var kind = cells[i]?["cell_type"]?.GetValue<string>();
            var source = Source(cells[i]!).Replace("\r\n", "\n");
            if (kind == "markdown")
            {
                foreach (var line in source.TrimEnd().Split('\n')) pendingMarkdown.Append(line.Length == 0 ? "//" : "// " + line).Append('\n');
                pendingMarkdown.Append("//\n");
                continue;
            }
            if (kind != "code") continue;
            var where = $"{notebookPath}: cell {i + 1} ('{source.Split('\n')[0].Trim()}')";
            var code = new StringBuilder();
            foreach (var line in source.Split('\n'))
            {
                if (KitPackage.IsMatch(line)) { kitLoaded = true; continue; }
                if (FeedSource.IsMatch(line)) continue;
                if (OtherDirective.IsMatch(line))
                    throw new InvalidDataException($"{where}: expected C# only, found the directive '{line.Trim()}' that a script cannot run (the kit is loaded by '{KitPackageLine}').");
                code.Append(line).Append('\n');
            }
            var tree = CSharpSyntaxTree.ParseText(code.ToString(), new CSharpParseOptions(LanguageVersion.Preview, kind: SourceCodeKind.Regular));
            var errors = tree.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            if (errors.Count > 0)
                throw new InvalidDataException($"{where}: expected C# statements, found {errors[0].GetMessage()} at line {errors[0].Location.GetLineSpan().StartLinePosition.Line + 1}. " +
                                               "A cell that ends in a bare expression shows it in the notebook but cannot run in a script: end it with .Display();");
            var root = (CompilationUnitSyntax)tree.GetRoot();
            var statements = new StringBuilder();
            if (root.Usings.Count > 0) statements.Append(root.Usings[0].GetLeadingTrivia().ToFullString().TrimStart('\n'));
            foreach (var u in root.Usings)
            {
                var target = u.Name?.ToString() ?? "";
                var text = u.StaticKeyword.IsKind(SyntaxKind.None) && u.Alias is null && UsingMap.TryGetValue(target, out var mapped)
                    ? $"using {mapped};" : u.WithoutTrivia().ToString();
                if (!usings.Contains(text)) usings.Add(text);
            }
            var declared = new StringBuilder();
            foreach (var member in root.Members)
            {
                if (member is GlobalStatementSyntax) statements.Append(member.ToFullString());
                else declared.Append(member.ToFullString());
            }
            statements.Append(root.EndOfFileToken.LeadingTrivia.ToFullString());
            var text2 = Trim(statements.ToString());
            var declaredText = Trim(declared.ToString());
            if (text2.Length > 0)
            {
                body.Append('\n').Append(pendingMarkdown).Append(text2).Append('\n');
                pendingMarkdown.Clear();
            }
            if (declaredText.Length > 0)
            {
                types.Append('\n').Append(pendingMarkdown).Append(declaredText).Append('\n');
                pendingMarkdown.Clear();
            }
        }
        if (!kitLoaded)
            throw new InvalidDataException($"{notebookPath}: expected a cell that loads the kit with '{KitPackageLine}', found none.");
        // Markdown after the last code cell (take-aways, exercises, glossary) ends the statements, so the script carries it too.
        if (pendingMarkdown.Length > 0) body.Append('\n').Append(Trim(pendingMarkdown.ToString())).Append('\n');

        var sb = new StringBuilder();
        sb.Append($"// Generated from notebooks/{name}.ipynb by `mtk notebook export-scripts`: edit the notebook, not this file\n");
        sb.Append("// (CI fails when this file differs from what the notebook makes).\n");
        sb.Append($"// Run: dotnet run notebooks/scripts/{name}.cs     (MTK_NOTEBOOK_SIZE=small for a quick run)\n");
        sb.Append("// Tables print to the console; charts and diagrams go to runs/notebooks/").Append(name).Append(".html (or $MTK_SCRIPT_OUT).\n");
        sb.Append("#:project ../../lib/MultiTaskKit.Charts\n");
        sb.Append("// The kit writes its run configurations with reflection-based System.Text.Json, which file-based programs turn off by default.\n");
        sb.Append("#:property PublishAot=false\n");
        foreach (var u in usings) sb.Append(u).Append('\n');
        sb.Append("\n// What the kit's kernel extension does when the notebook loads the kit: TorchSharp's native libraries, before any cell.\n");
        sb.Append("MultiTaskKit.Runtime.TorchRuntime.EnsureInitialized();\n");
        sb.Append(body);
        if (types.Length > 0) sb.Append("\n// Types declared in the notebook's cells (a C# program declares them after its statements).\n").Append(types);
        return sb.ToString();
    }

    static string Trim(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd()).ToList();
        while (lines.Count > 0 && lines[0].Length == 0) lines.RemoveAt(0);
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return string.Join('\n', lines);
    }

    static string Source(JsonNode cell) =>
        cell["source"] is JsonArray a ? string.Concat(a.Select(x => x!.GetValue<string>())) : cell["source"]?.GetValue<string>() ?? "";

    /// <summary>Writes (or, with <paramref name="check"/>, compares) the script of each notebook. Returns the scripts that
    /// differed from what their notebook makes (with <paramref name="check"/> false they have been rewritten).</summary>
    public static IReadOnlyList<string> Run(IEnumerable<string> notebooks, bool check)
    {
        var differing = new List<string>();
        foreach (var nb in notebooks)
        {
            var script = ScriptPathFor(nb);
            var expected = Export(nb);
            var actual = File.Exists(script) ? File.ReadAllText(script).Replace("\r\n", "\n") : null;
            if (actual == expected) continue;
            differing.Add(script);
            if (!check)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(script)!);
                IO.AtomicFile.WriteAllText(script, expected);
            }
        }
        return differing;
    }
}
