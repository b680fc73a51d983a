using System.CommandLine;
using MultiTaskKit.Cli;
using MultiTaskKit.Cli.Commands;

var root = new RootCommand("mtk: multi-task learning with shared-trunk networks (MultiTask Kit).");
CommonOptions.AddTo(root);
root.Subcommands.Add(DoctorCommand.Create());
root.Subcommands.Add(CaseStudyCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(CompareCommand.Create());
root.Subcommands.Add(SweepCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(PredictCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
root.Subcommands.Add(NotebookCommand.Create());
var bench = BenchCommand.Create();
bench.Subcommands.Add(BenchMethodsCommand.Create());
bench.Subcommands.Add(BenchExportCommand.Create());
root.Subcommands.Add(bench);

bool verbose = CliErrors.Verbose(args);
try
{
    var parse = root.Parse(args);
    if (parse.Errors.Count > 0 && !args.Any(a => a is "--help" or "-h" or "-?"))
        return CliErrors.ReportParse(parse.Errors.Select(e => e.Message), string.Join(' ', parse.CommandResult.Command.Name == root.Name ? [] : new[] { parse.CommandResult.Command.Name }));
    return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e)
{
    return CliErrors.Report(e, verbose);
}
