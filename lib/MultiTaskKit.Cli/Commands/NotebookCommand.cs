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
        var command = new Command("notebook", "Work with the kit's Polyglot notebooks.");
        command.Subcommands.Add(run);
        command.Subcommands.Add(verify);
        return command;
    }
}
