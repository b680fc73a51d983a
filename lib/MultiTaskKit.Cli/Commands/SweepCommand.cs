using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.Charts;
using MultiTaskKit.Comparison;
using MultiTaskKit.Data;
using MultiTaskKit.IO;
using MultiTaskKit.Sweeps;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;
using Spectre.Console;

namespace MultiTaskKit.Cli.Commands;

/// <summary><c>mtk sweep plan|run|report</c>: grids and random samples over configuration keys, run here or by a scheduler.</summary>
static class SweepCommand
{
    public static Command Create()
    {
        var command = new Command("sweep", "Sweeps over configuration keys: plan the cells (with Slurm and Kubernetes files), run them here or on a scheduler, report.");
        command.Subcommands.Add(Plan());
        command.Subcommands.Add(RunCommand());
        command.Subcommands.Add(Report());
        return command;
    }

    static Option<string> DirOption(bool required = true) => new("--dir") { Description = "The sweep folder (holds sweep.json and cells/).", Required = required };

    internal static (Option<string?> Image, Option<string?> Shared, Option<int> Cpus, Option<int> Memory, Option<int?> Parallelism, Option<string> Claim) SchedulerOptionsSet() => (
        new Option<string?>("--image") { Description = "Kubernetes: the container image with mtk on its path (default mtk:latest)." },
        new Option<string?>("--shared-path") { Description = "The sweep folder as the nodes see it (default: its path here)." },
        new Option<int>("--cpus-per-task") { Description = "Cores per cell on the scheduler (also its --threads).", DefaultValueFactory = _ => 2 },
        new Option<int>("--mem-gib") { Description = "Memory per cell on the scheduler, GiB.", DefaultValueFactory = _ => 8 },
        new Option<int?>("--max-parallel") { Description = "Cells at once on the scheduler (default: no limit)." },
        new Option<string>("--claim") { Description = "Kubernetes: the PersistentVolumeClaim holding the shared folder.", DefaultValueFactory = _ => "mtk-sweep" });

    internal static SchedulerOptions ReadScheduler(ParseResult parse, (Option<string?> Image, Option<string?> Shared, Option<int> Cpus, Option<int> Memory, Option<int?> Parallelism, Option<string> Claim) o)
    {
        int cpus = parse.GetValue(o.Cpus), mem = parse.GetValue(o.Memory);
        if (cpus < 1) throw new UsageException($"--cpus-per-task: expected at least 1, found {cpus}.");
        if (mem < 1) throw new UsageException($"--mem-gib: expected at least 1, found {mem}.");
        if (parse.GetValue(o.Parallelism) is < 1) throw new UsageException($"--max-parallel: expected at least 1, found {parse.GetValue(o.Parallelism)}.");
        return new SchedulerOptions(parse.GetValue(o.Shared), parse.GetValue(o.Image) ?? "mtk:latest", cpus, mem, parse.GetValue(o.Parallelism), parse.GetValue(o.Claim)!,
            parse.GetValue(CommonOptions.DataDir));
    }

    static Command Plan()
    {
        var config = new Option<string>("--config") { Description = "The base run configuration (JSON).", Required = true };
        var set = new Option<string[]>("--set") { Description = "An axis: key=v1,v2,… with a dotted configuration key (optimizer.lr, sharing.plan, sharing.shared_layers, method.weighting, method.aggregation, seed, tasks.0.batch_size). Repeat for more axes.", AllowMultipleArgumentsPerToken = false };
        var random = new Option<int?>("--random") { Description = "Draw this many distinct cells of the grid at random (seeded) instead of all of them." };
        var sampleSeed = new Option<ulong>("--sample-seed") { Description = "Seed of --random.", DefaultValueFactory = _ => 0UL };
        var output = new Option<string>("--out") { Description = "The sweep folder to create.", Required = true };
        var sched = SchedulerOptionsSet();
        var command = new Command("plan", "Write the cells of a grid or random sweep (sweep.json, each cell with a stable index and its own run folder), a Slurm array script (slurm.sh) and a Kubernetes Indexed Job (job.yaml).");
        foreach (var o in new Option[] { config, set, random, sampleSeed, output, sched.Image, sched.Shared, sched.Cpus, sched.Memory, sched.Parallelism, sched.Claim }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var runtime = CommonOptions.Apply(parse);
            var baseConfig = CommonOptions.WithRuntime(RunConfig.Load(parse.GetValue(config)!), parse.GetValue(config), runtime, parse);
            var axes = (parse.GetValue(set) ?? []).Select(s => SweepKeys.ParseAxis(s)).ToList();
            if (axes.Count == 0) throw new UsageException("--set: expected at least one axis (key=v1,v2), found none.");
            var plan = SweepPlan.Create(baseConfig, axes, parse.GetValue(random), parse.GetValue(sampleSeed));
            var dir = parse.GetValue(output)!;
            plan.Save(dir, ReadScheduler(parse, sched));
            PrintPlan(dir, plan);
            return 0;
        });
        return command;
    }

    internal static void PrintPlan(string dir, SweepPlan plan)
    {
        Console.WriteLine($"sweep ({plan.Kind}): {plan.Cells.Count} cells in {Path.GetFullPath(dir)}");
        foreach (var c in plan.Cells.Take(50)) Console.WriteLine($"  {c.Index,4}  {c.Id}");
        if (plan.Cells.Count > 50) Console.WriteLine($"  … and {plan.Cells.Count - 50} more (sweep.json)");
        Console.WriteLine($"run here:  mtk sweep run --dir {dir} --local --parallel P");
        Console.WriteLine($"Slurm:     sbatch {Path.Combine(dir, SchedulerFiles.SlurmFile)}");
        Console.WriteLine($"Kubernetes: kubectl apply -f {Path.Combine(dir, SchedulerFiles.KubernetesFile)}");
        Console.WriteLine($"then:      mtk sweep report --dir {dir}");
    }

    static Command RunCommand()
    {
        var dir = DirOption();
        var cell = new Option<int?>("--cell") { Description = "The cell to run (default: SLURM_ARRAY_TASK_ID, else JOB_COMPLETION_INDEX)." };
        var local = new Option<bool>("--local") { Description = "Run every unfinished cell on this machine." };
        var parallel = new Option<int>("--parallel") { Description = "With --local: cells at once, each in its own process with an equal share of the cores.", DefaultValueFactory = _ => 1 };
        var command = new Command("run", "Run one cell (--cell i, or the index a scheduler sets) or, with --local, all of them; finished cells are skipped and interrupted ones resume.");
        foreach (var o in new Option[] { dir, cell, local, parallel }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var runtime = CommonOptions.Apply(parse);
            var folder = parse.GetValue(dir)!;
            var plan = SweepPlan.Load(folder);
            var sources = DatasetSources.Default(parse.GetValue(CommonOptions.DataDir));
            if (parse.GetValue(local))
            {
                if (parse.GetValue(cell) is not null) throw new UsageException("--local and --cell: expected one of them, found both.");
                return RunLocal(folder, plan, parse.GetValue(parallel), parse.GetValue(CommonOptions.Threads), parse.GetValue(CommonOptions.DataDir), runtime);
            }
            int index = SweepRunner.ResolveIndex(parse.GetValue(cell), Environment.GetEnvironmentVariable);
            var c = plan.Cell(index);
            return RunOne(folder, c, sources, runtime);
        });
        return command;
    }

    internal static int RunOne(string folder, SweepCell c, DatasetSources sources, Runtime.KitOptions runtime)
    {
        Console.WriteLine($"cell {c.Index} ({c.Id}) -> {c.RunDirIn(folder)}");
        var clock = Stopwatch.StartNew();
        var (outcome, result) = SweepRunner.Run(folder, c, sources, runtime, m => Console.WriteLine(m), null, (d, h, t) => RunCharts.Write(d, h, t));
        Console.WriteLine(outcome switch
        {
            CellOutcome.SkippedFinished => $"cell {c.Index}: finished before; skipped",
            _ => $"cell {c.Index}: {(outcome == CellOutcome.Resumed ? "resumed and finished" : "finished")} in {clock.Elapsed.TotalSeconds:F1} s ({result!.Steps} steps); "
                 + string.Join("; ", result.Test.Tasks.Select(t => $"{t.Task} " + string.Join(" ", t.Metrics.Values.Take(3).Select(kv => $"{kv.Key} {kv.Value.ToString("F4", CultureInfo.InvariantCulture)}")))),
        });
        return 0;
    }

    /// <summary>
    /// Every unfinished cell on this machine. One at a time runs in this process; with P &gt; 1 each cell runs in its own
    /// mtk process (libtorch's generator and thread pool are per process, so cells cannot share one) with ⌊cores/P⌋
    /// threads, its output in <c>logs/cell-NNNN.log</c>. A cell another process holds is left to it.
    /// </summary>
    internal static int RunLocal(string folder, SweepPlan plan, int parallel, int? threads, string? dataDir, Runtime.KitOptions runtime)
    {
        if (parallel < 1) throw new UsageException($"--parallel: expected at least 1, found {parallel}.");
        var todo = SweepStatus.Read(folder, plan).Where(s => s.State is CellState.NotStarted or CellState.Interrupted).Select(s => s.Cell).ToList();
        int done = plan.Cells.Count - todo.Count;
        Console.WriteLine($"sweep in {Path.GetFullPath(folder)}: {plan.Cells.Count} cells, {done} finished or running elsewhere, {todo.Count} to run, {parallel} at a time");
        if (todo.Count == 0) return 0;
        int cores = threads ?? Runtime.TorchRuntime.Threads;
        int each = Math.Max(1, cores / parallel);
        var clock = Stopwatch.StartNew();
        int failures = 0;
        if (parallel == 1)
        {
            var sources = DatasetSources.Default(dataDir);
            foreach (var c in todo)
            {
                try { RunOne(folder, c, sources, runtime); }
                catch (Exception e) when (e is IOException or InvalidDataException)
                {
                    failures++;
                    Console.Error.WriteLine($"cell {c.Index} ({c.Id}): {e.Message}");
                }
            }
        }
        else
        {
            Directory.CreateDirectory(Path.Combine(folder, SchedulerFiles.LogFolder));
            var queue = new Queue<SweepCell>(todo);
            var running = new List<(SweepCell Cell, Process Process, Stopwatch Clock)>();
            while (queue.Count > 0 || running.Count > 0)
            {
                while (running.Count < parallel && queue.Count > 0)
                {
                    var c = queue.Dequeue();
                    var log = Path.Combine(folder, SchedulerFiles.LogFolder, $"cell-{c.Index:D4}.log");
                    var args = new List<string> { "sweep", "run", "--dir", Path.GetFullPath(folder), "--cell", c.Index.ToString(CultureInfo.InvariantCulture), "--threads", each.ToString(CultureInfo.InvariantCulture) };
                    if (dataDir is not null) { args.Add("--data-dir"); args.Add(dataDir); }
                    var p = SelfProcess.Start(args, log);
                    Console.WriteLine($"cell {c.Index} ({c.Id}): started, process {p.Id}, {each} threads, log {log}");
                    running.Add((c, p, Stopwatch.StartNew()));
                }
                Thread.Sleep(500);
                foreach (var r in running.Where(r => r.Process.HasExited).ToList())
                {
                    running.Remove(r);
                    r.Process.WaitForExit();
                    if (r.Process.ExitCode != 0) failures++;
                    Console.WriteLine($"cell {r.Cell.Index} ({r.Cell.Id}): {(r.Process.ExitCode == 0 ? "done" : $"FAILED (exit {r.Process.ExitCode}; see its log)")} after {r.Clock.Elapsed.TotalSeconds:F1} s");
                    r.Process.Dispose();
                }
            }
        }
        Console.WriteLine($"sweep: {todo.Count - failures} of {todo.Count} cells ran in {clock.Elapsed.TotalMinutes:F1} min{(failures > 0 ? $"; {failures} failed" : "")}");
        return failures > 0 ? CliErrors.Failure : 0;
    }

    static Command Report()
    {
        var dir = DirOption();
        var resamples = new Option<int>("--resamples") { Description = "Comparisons: bootstrap resamples.", DefaultValueFactory = _ => 1000 };
        var alpha = new Option<double>("--alpha") { Description = "Comparisons: significance level of the verdicts.", DefaultValueFactory = _ => 0.05 };
        var command = new Command("report", "Aggregate what has finished in a sweep folder and name what has not (needs nothing else running). A comparison's folder gets its full report and charts.");
        foreach (var o in new Option[] { dir, resamples, alpha }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var folder = parse.GetValue(dir)!;
            var plan = SweepPlan.Load(folder);
            if (plan.Kind == ComparePlan.Kind)
            {
                CompareCommand.ReportComparison(folder, plan, new ComparisonOptions(parse.GetValue(alpha), parse.GetValue(resamples)));
                return 0;
            }
            var report = SweepReport.Build(folder, plan);
            Console.Write(report.ToText());
            report.Save(folder);
            return 0;
        });
        return command;
    }
}

/// <summary>Starts this mtk again as a child process (the apphost, or <c>dotnet mtk.dll</c>), output to a log file.</summary>
static class SelfProcess
{
    public static Process Start(IReadOnlyList<string> args, string logFile)
    {
        var entry = System.Reflection.Assembly.GetEntryAssembly()!.Location;
        var host = Environment.ProcessPath ?? "dotnet";
        bool viaDotnet = Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        var psi = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (viaDotnet) psi.ArgumentList.Add(entry);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        var writer = new StreamWriter(logFile, append: true) { AutoFlush = true };
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (writer) writer.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (writer) writer.WriteLine(e.Data); };
        p.Exited += (_, _) => { p.WaitForExit(); lock (writer) writer.Dispose(); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }
}
