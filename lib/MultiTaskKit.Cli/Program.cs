using System.CommandLine;
using MultiTaskKit.Cli;
using MultiTaskKit.Cli.Commands;

var root = new RootCommand("mtk: multi-task learning with shared-trunk networks (MultiTask Kit).");
CommonOptions.AddTo(root);
root.Subcommands.Add(DoctorCommand.Create());
root.Subcommands.Add(CaseStudyCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(PredictCommand.Create());
root.Subcommands.Add(NotebookCommand.Create());
var bench = BenchCommand.Create();
bench.Subcommands.Add(BenchMethodsCommand.Create());
root.Subcommands.Add(bench);
return root.Parse(args).Invoke();
