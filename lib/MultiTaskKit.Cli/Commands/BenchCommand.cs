using System.CommandLine;
using MultiTaskKit.Benchmarks;
using MultiTaskKit.IO;
using MultiTaskKit.Runtime;
using Spectre.Console;

namespace MultiTaskKit.Cli.Commands;

/// <summary><c>mtk bench</c>: every performance figure of the kit, measured side by side in one process.</summary>
static class BenchCommand
{
    public static Command Create()
    {
        var only = new Option<string?>("--only")
        {
            Description = $"Comma-separated sections to run: {string.Join(",", BenchOptions.AllSections)} (default: all).",
        };
        var steps = new Option<int?>("--steps") { Description = "Timed training steps per variant, one per interleaved round, after 3 warm-up steps (default 9; --quick: 2)." };
        var soakSteps = new Option<int?>("--soak-steps") { Description = "Steps of the memory soak (default 2000; --quick: 300)." };
        var quick = new Option<bool>("--quick") { Description = "A fast pass: fewer steps, a short soak, the naive step at one shape only." };
        var outPath = new Option<string?>("--out") { Description = "Write the full report as JSON to this file." };
        var python = new Option<string>("--python")
        {
            Description = "Interpreter for the PyTorch reference (Debian's, which sees python3-torch).",
            DefaultValueFactory = _ => PyTorchReference.DefaultPython,
        };

        var precision = PrecisionOption.Create("auto: fp32 rows, and bf16 rows beside them where auto picks bf16; bf16 forces the bf16 rows, fp32 leaves them out");
        var command = new Command("bench", "Measure training, inference, tokenizer, method overhead and memory side by side; prints a table, writes JSON.")
        {
            only, steps, soakSteps, quick, outPath, python, precision,
        };
        command.SetAction(parse =>
        {
            CommonOptions.Apply(parse);
            // Redirected output has no terminal width; 80 columns would wrap every table row.
            if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 160;
            var o = new BenchOptions
            {
                Only = (parse.GetValue(only) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(s => s.ToLowerInvariant()).ToHashSet(),
                Python = parse.GetValue(python)!,
                Precision = PrecisionOption.Parse(parse, precision) ?? Precision.Auto,
            };
            if (parse.GetValue(quick)) o = BenchOptions.Quick(o);
            if (parse.GetValue(steps) is { } n) o = o with { Steps = n };
            if (parse.GetValue(soakSteps) is { } s) o = o with { SoakSteps = s };
            try { o.Validate(); }
            catch (ArgumentException e)
            {
                AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
                return 2;
            }

            var report = BenchRunner.Run(o, KitBench.Parts(parse.GetValue(CommonOptions.DataDir)),
                line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(DateTime.Now.ToString("HH:mm:ss"))} {Markup.Escape(line)}[/]"));
            report.Command = "mtk " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1));
            Print(report);
            if (parse.GetValue(outPath) is { } path)
            {
                AtomicFile.WriteAllText(path, report.ToJson());
                AnsiConsole.MarkupLine($"JSON written to [bold]{Markup.Escape(Path.GetFullPath(path))}[/]");
            }
            return 0;
        });
        return command;
    }

    static void Print(BenchReport r)
    {
        AnsiConsole.MarkupLine($"[bold]mtk bench[/]  threads {r.Machine["threads"]}, {Markup.Escape(r.Machine.GetValueOrDefault("cpu", ""))}, load at start {Markup.Escape(r.Machine.GetValueOrDefault("load_average_at_start", "?"))}");
        if (r.Gemm.Count > 0)
        {
            var t = new Table().Title("GEMM (best of N per pass; the figure is the better pass)").AddColumn("shape").AddColumn("dtype")
                .AddColumn(new TableColumn("at start").RightAligned()).AddColumn(new TableColumn("after steps").RightAligned())
                .AddColumn(new TableColumn("GFLOP/s").RightAligned());
            static string F(double x) => double.IsNaN(x) ? "" : $"{x:F1}";
            foreach (var g in r.Gemm) t.AddRow(Markup.Escape(g.Name), g.Dtype, F(g.AtStart), F(g.AfterSteps), $"{g.Gflops:F1}");
            t.AddRow("[bold]model-shape figure[/] (FLOP-weighted)", "fp32", "", "", $"[bold]{r.ModelGemmGflops:F1}[/]");
            if (!double.IsNaN(r.ModelGemmBf16Gflops)) t.AddRow("[bold]model-shape figure[/] (FLOP-weighted)", "bf16", "", "", $"[bold]{r.ModelGemmBf16Gflops:F1}[/]");
            AnsiConsole.Write(t);
        }
        if (r.Steps.Count > 0)
        {
            var t = new Table().Title("training step (forward, backward, AdamW)")
                .AddColumn("implementation").AddColumn(new TableColumn("tokens").NoWrap()).AddColumn(new TableColumn("s/step").RightAligned())
                .AddColumn(new TableColumn("tokens/s").RightAligned()).AddColumn(new TableColumn("GFLOP/s").RightAligned())
                .AddColumn(new TableColumn("CPU s/step").RightAligned());
            foreach (var s in r.Steps)
                t.AddRow(Markup.Escape(s.Implementation), s.Shape, $"{s.SecondsPerStep:F3}", $"{s.TokensPerSecond:F0}", $"{s.AchievedGflops:F1}", $"{s.CpuSecondsPerStep:F2}");
            AnsiConsole.Write(t);
        }
        if (r.Ratios.Count > 0)
        {
            var t = new Table().Title("ratios (higher is better for the kit)").AddColumn("ratio").AddColumn(new TableColumn("value").RightAligned());
            foreach (var (k, v) in r.Ratios) t.AddRow(Markup.Escape(k), $"{v:F2}x");
            AnsiConsole.Write(t);
        }
        if (r.Throughput.Count > 0)
        {
            var t = new Table().Title("throughput").AddColumn("what").AddColumn("implementation").AddColumn(new TableColumn("per second").RightAligned()).AddColumn("note");
            foreach (var x in r.Throughput) t.AddRow(Markup.Escape(x.What), Markup.Escape(x.Implementation), $"{x.PerSecond:N0} {Markup.Escape(x.Unit)}", Markup.Escape(x.Note));
            AnsiConsole.Write(t);
        }
        if (r.Methods.Count > 0)
        {
            var t = new Table().Title("method overhead on the case-study model").AddColumn("method").AddColumn("kind")
                .AddColumn(new TableColumn("s/step").RightAligned()).AddColumn(new TableColumn("÷ equal").RightAligned()).AddColumn(new TableColumn("limit").RightAligned());
            foreach (var m in r.Methods)
                t.AddRow(Markup.Escape(m.Method), Markup.Escape(m.Kind), $"{m.SecondsPerStep:F3}", (m.WithinLimit ? "[green]" : "[red]") + $"{m.RatioToEqual:F2}x[/]", $"{m.Limit:F1}x");
            AnsiConsole.Write(t);
        }
        if (r.Profile.Count > 0)
        {
            var t = new Table().Title("profile (medians; differences carry the noise of their parts)").AddColumn("step").AddColumn("part")
                .AddColumn(new TableColumn("seconds").RightAligned()).AddColumn("note");
            foreach (var p in r.Profile) t.AddRow(Markup.Escape(p.Step), Markup.Escape(p.Part), $"{p.Seconds:F3}", Markup.Escape(p.Note));
            AnsiConsole.Write(t);
        }
        foreach (var s in r.Soak)
            AnsiConsole.MarkupLine($"soak: {Markup.Escape(s.Model)}, {s.Steps} steps ({s.SecondsPerStep:F3} s/step): RSS {s.RssMiBAtEarly:F0} MiB at step {s.EarlyStep}, " +
                $"{s.RssMiBAtEnd:F0} MiB at {s.Steps} ({s.GrowthPercent:F2} %); live tensors {s.LiveTensorsAtStart} → {s.LiveTensorsAtEnd}");
        if (r.Targets.Count > 0)
        {
            var t = new Table().Title("targets (issues 6 and 16)").AddColumn("target").AddColumn(new TableColumn("value").RightAligned()).AddColumn(new TableColumn("bar").RightAligned()).AddColumn("met");
            foreach (var x in r.Targets) t.AddRow(Markup.Escape(x.Target), $"{x.Value:F3}", $"{x.Threshold:F2}", x.Met ? "[green]yes[/]" : "[red]no[/]");
            AnsiConsole.Write(t);
        }
        foreach (var (section, why) in r.Unavailable)
            AnsiConsole.MarkupLine($"[yellow]unavailable[/] {Markup.Escape(section)}: {Markup.Escape(why)}");
        AnsiConsole.MarkupLine($"[grey]total {r.TotalSeconds:F0} s[/]");
    }
}
