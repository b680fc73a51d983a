using System.CommandLine;
using MultiTaskKit.Runtime;
using Spectre.Console;

namespace MultiTaskKit.Cli.Commands;

static class DoctorCommand
{
    public static Command Create()
    {
        var command = new Command("doctor", "Check the runtime: TorchSharp, the libstdc++ fix, device, threads, GEMM speed, data and model folders.");
        command.SetAction(parse =>
        {
            CommonOptions.Apply(parse);
            var report = DoctorReport.Measure(parse.GetValue(CommonOptions.DataDir));
            var table = new Table().AddColumn("check").AddColumn("result");
            foreach (var (name, value) in report.Rows()) table.AddRow(Markup.Escape(name), Markup.Escape(value));
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
