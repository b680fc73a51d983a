using System.CommandLine;
using MultiTaskKit.Notebooks;
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
        var sources = new Argument<FileInfo[]>("notebooks") { Description = "Notebooks to export (default: notebooks/NN-*.ipynb of the repository around the current folder).", Arity = ArgumentArity.ZeroOrMore };
        var check = new Option<bool>("--check") { Description = "Write nothing; exit 1 naming each script that differs from what its notebook makes (CI's drift check)." };
        var export = new Command("export-scripts", "Make notebooks/scripts/NN-*.cs from the notebooks (the notebooks are the one source; see ScriptExport).");
        export.Arguments.Add(sources);
        export.Options.Add(check);
        export.SetAction(parse =>
        {
            var given = parse.GetValue(sources) ?? [];
            var notebooks = given.Length > 0 ? given.Select(f => f.FullName).ToList() : DefaultNotebooks();
            if (notebooks.Count == 0) { Console.Error.WriteLine("mtk notebook export-scripts: expected notebooks/NN-*.ipynb under a folder holding Kit.sln, found none; name the notebooks."); return 2; }
            bool checking = parse.GetValue(check);
            IReadOnlyList<string> differing;
            try { differing = ScriptExport.Run(notebooks, checking); }
            catch (InvalidDataException e) { Console.Error.WriteLine(e.Message); return 1; }
            foreach (var nb in notebooks)
            {
                var script = ScriptExport.ScriptPathFor(nb);
                var changed = differing.Contains(script);
                AnsiConsole.MarkupLine(checking
                    ? (changed ? $"[red]DIFFERS[/] {Markup.Escape(script)} (run: mtk notebook export-scripts)" : $"[green]ok[/] {Markup.Escape(script)}")
                    : (changed ? $"[yellow]written[/] {Markup.Escape(script)}" : $"[green]unchanged[/] {Markup.Escape(script)}"));
            }
            return checking && differing.Count > 0 ? 1 : 0;
        });
        var command = new Command("notebook", "Work with the kit's Polyglot notebooks.");
        command.Subcommands.Add(export);
        command.Subcommands.Add(run);
        command.Subcommands.Add(verify);
        return command;
    }

    /// <summary>notebooks/NN-*.ipynb of the repository (the folder holding Kit.sln) around the current folder.</summary>
    static List<string> DefaultNotebooks()
    {
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Kit.sln")))
            {
                var dir = Path.Combine(d.FullName, "notebooks");
                return Directory.Exists(dir) ? Directory.GetFiles(dir, "*.ipynb").Where(f => char.IsAsciiDigit(Path.GetFileName(f)[0])).Order(StringComparer.Ordinal).ToList() : [];
            }
        return [];
    }
}
