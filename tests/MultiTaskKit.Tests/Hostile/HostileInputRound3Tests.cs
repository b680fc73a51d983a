using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using MultiTaskKit.Charts;
using MultiTaskKit.Data;
using MultiTaskKit.Evaluation;
using MultiTaskKit.IO;
using MultiTaskKit.Models;
using MultiTaskKit.Models.Hub;
using MultiTaskKit.Notebooks;
using MultiTaskKit.Runtime;
using MultiTaskKit.Steps;
using MultiTaskKit.Tests.Cli;
using MultiTaskKit.Tests.Data;
using MultiTaskKit.Tests.Models.Hub;
using MultiTaskKit.Runs;
using MultiTaskKit.Training;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Weighting;
using static TorchSharp.torch;

namespace MultiTaskKit.Tests.Hostile;

/// <summary>
/// The third round of hostile inputs (issue 26), one row per case, as in <see cref="HostileInputTests"/>: the row's name
/// starts with its class, <c>D</c> (a crash or a write outside the run), <c>C</c> (silently wrong) or <c>B</c> (clear
/// but unhelpful), then its family. Each row asserts the outcome and what the message names.
/// </summary>
[Collection(ProcessStateCollection.Name)]
public class HostileInputRound3Tests : IDisposable
{
    public HostileInputRound3Tests() => TorchRuntime.EnsureInitialized();

    static readonly System.Collections.Concurrent.ConcurrentBag<string> Made = [];

    public void Dispose()
    {
        while (Made.TryTake(out var dir))
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public static TheoryData<string> Names() => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void Case(string name) => Cases[name]();

    [Fact]
    public void EveryRowIsClassedAndEveryClassIsPresent()
    {
        var classes = Cases.Keys.Select(k => k[..k.IndexOf(' ')]).ToList();
        Assert.All(classes, c => Assert.Contains(c, new[] { "D", "C", "B" }));
        Assert.True(classes.Count(c => c == "D") >= 4, "D rows");
        Assert.True(classes.Count(c => c == "C") >= 14, "C rows");
        Assert.True(classes.Count(c => c == "B") >= 16, "B rows");
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    static T Refused<T>(Action act, params string[] mentions) where T : Exception
    {
        var e = Record.Exception(act);
        Assert.True(e is T, $"expected {typeof(T).Name}, got {(e is null ? "no exception" : $"{e.GetType().Name}: {e.Message}")}");
        foreach (var m in mentions) Assert.Contains(m, e!.Message);
        return (T)e!;
    }

    static string Temp()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-hostile3").FullName;
        Made.Add(dir);
        return dir;
    }

    static string WriteFile(string dir, string name, string text) { var p = Path.Combine(dir, name); File.WriteAllText(p, text); return p; }

    static CsvTaskOptions Cls(string text = "text", string label = "label") => new() { TextColumn = text, LabelColumn = label, Kind = TaskKind.Classification };

    static (RunConfig Config, string Dir) Tiny(int steps = 4, int checkpointEvery = 2, string extraTraining = "", string? model = null, string? sharing = null, string? method = null)
    {
        var dir = Temp();
        var path = TinyRun.Write(dir, steps, checkpointEvery, extraTraining, model, sharing, method);
        return (RunConfig.Load(path), dir);
    }

    /// <summary>The tiny run's configuration file with <paramref name="from"/> replaced by <paramref name="to"/>.</summary>
    static string ConfigWith(string from, string to) => ConfigWith((from, to));

    /// <summary>The tiny run's configuration file with each edit's text replaced.</summary>
    static string ConfigWith(params (string From, string To)[] edits)
    {
        var dir = Temp();
        var path = TinyRun.Write(dir);
        var text = File.ReadAllText(path);
        foreach (var (from, to) in edits)
        {
            Assert.Contains(from, text);
            text = text.Replace(from, to);
        }
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>The tiny run's configuration with only its first (classification) task.</summary>
    static string OneTaskConfig(string sharing)
    {
        var dir = Temp();
        var path = TinyRun.Write(dir, sharing: sharing);
        var o = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        o["tasks"]!.AsArray().RemoveAt(1);
        File.WriteAllText(path, o.ToJsonString());
        return path;
    }

    static TrainingResult Train(RunConfig config, string runDir, bool resume = false, List<string>? log = null, bool charts = false)
    {
        using var trainer = new Trainer(config, runDir, new DatasetSources())
        {
            Log = m => { if (log != null) lock (log) log.Add(m); },
            WriteCharts = charts ? (dir, history, test) => RunCharts.Write(dir, history, test) : null,
        };
        return trainer.Run(resume);
    }

    static void EditJson(string path, Action<JsonObject> edit)
    {
        var o = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(o);
        File.WriteAllText(path, o.ToJsonString());
    }

    static (int Code, string Output) Mtk(string workDir, params string[] args) => MtkProcess.Run(workDir, args);

    static void OneLineError(string output, params string[] mentions)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("mtk: ")).ToList();
        Assert.True(lines.Count == 1, output);
        foreach (var m in mentions) Assert.Contains(m, lines[0]);
        Assert.DoesNotContain("   at ", output);
    }

    /// <summary>A tiny trained run (2 steps) in a folder of its own.</summary>
    static string TrainedRun()
    {
        var (c, dir) = Tiny(steps: 2);
        var run = Path.Combine(dir, "run");
        Train(c, run);
        return run;
    }

    static (MultiTaskModel Model, TrunkInput Input, Dictionary<string, Tensor> Targets) SmallModel()
    {
        manual_seed(5);
        var model = new MultiTaskModel(new MlpTrunk(new MlpTrunkOptions(4, 8, 2)), new Dictionary<string, TaskHead>
        {
            ["a"] = new RegressionHead(8),
            ["b"] = new RegressionHead(8),
        }, SharingPlan.Hard);
        return (model, TrunkInput.FromFeatures(randn(6, 4)), new Dictionary<string, Tensor> { ["a"] = randn(6), ["b"] = randn(6) });
    }

    /// <summary>Runs <paramref name="act"/> with <paramref name="dir"/> made immutable (chattr +i: root ignores file modes), or read-only by mode.</summary>
    static void WithReadOnlyFolder(string dir, Action act)
    {
        bool root = Environment.UserName == "root" || (OperatingSystem.IsLinux() && File.ReadAllText("/proc/self/status").Contains("Uid:\t0\t"));
        void Run(string tool, params string[] args)
        {
            var psi = new System.Diagnostics.ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = System.Diagnostics.Process.Start(psi)!;
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"{tool} {string.Join(' ', args)}: {p.StandardError.ReadToEnd()}");
        }
        if (root) Run("chattr", "+i", dir);
        else File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try { act(); }
        finally
        {
            if (root) Run("chattr", "-i", dir);
            else File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>One tiny trained run, made once, for the rows that only read it.</summary>
    static readonly Lazy<string> SharedRun = new(() =>
    {
        TorchRuntime.EnsureInitialized();
        var dir = Directory.CreateTempSubdirectory("mtk-hostile3-shared").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, recursive: true); } catch (IOException) { } };
        var config = RunConfig.Load(TinyRun.Write(dir, steps: 2));
        var run = Path.Combine(dir, "shared");
        Train(config, run);
        return run;
    });

    // ---- the cases ---------------------------------------------------------------------------------------------

    static readonly Dictionary<string, Action> Cases = new()
    {
        // D: a crash, or a write outside the run folder.
        ["D threads: --threads 100000 is refused, naming the option and the bound"] = () =>
        {
            var dir = Temp();
            var (code, output) = Mtk(dir, "predict", "--run", Path.Combine(dir, "none"), "--text", "x", "--threads", "100000");
            Assert.True(code is 1 or 2, $"exit {code}: {output}");
            OneLineError(output, "--threads", "100000", $"{KitOptions.MaxThreads}");
        },
        ["D threads: runtime.threads 100000 in a configuration is refused, naming the key and the bound"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"seed\": 11,", "\"seed\": 11, \"runtime\": { \"threads\": 100000 },")),
                "runtime.threads", "100000", $"at most {KitOptions.MaxThreads}"),
        ["D runfolder: a planted .mtk-lock.holder link is not written through"] = () =>
        {
            var (c, dir) = Tiny(steps: 2);
            var victim = WriteFile(dir, "victim.txt", "precious");
            var run = Path.Combine(dir, "run");
            Directory.CreateDirectory(run);
            File.WriteAllText(Path.Combine(run, RunFolder.MarkerFile), "");
            File.CreateSymbolicLink(Path.Combine(run, RunFolder.HolderFile), victim);
            var e = Record.Exception(() => Train(c, run));
            Assert.Equal("precious", File.ReadAllText(victim));
            if (e is not null) Assert.Contains(RunFolder.HolderFile, e.Message);
        },
        ["D runfolder: a planted .mtk-lock link is not opened"] = () =>
        {
            var (c, dir) = Tiny(steps: 2);
            var outside = Path.Combine(dir, "outside-lock");
            var run = Path.Combine(dir, "run");
            Directory.CreateDirectory(run);
            File.WriteAllText(Path.Combine(run, RunFolder.MarkerFile), "");
            File.CreateSymbolicLink(Path.Combine(run, RunFolder.LockFile), outside);
            Refused<IOException>(() => Train(c, run), RunFolder.LockFile, "symbolic link");
            Assert.False(File.Exists(outside));
        },
        ["D runfolder: a planted charts link is refused and nothing lands outside"] = () =>
        {
            var (c, dir) = Tiny(steps: 2);
            var outside = Path.Combine(dir, "elsewhere");
            Directory.CreateDirectory(outside);
            var run = Path.Combine(dir, "run");
            Directory.CreateDirectory(run);
            File.WriteAllText(Path.Combine(run, RunFolder.MarkerFile), "");
            Directory.CreateSymbolicLink(Path.Combine(run, RunCharts.Folder), outside);
            Refused<IOException>(() => Train(c, run, charts: true), RunCharts.Folder, "symbolic link");
            Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        },
        ["D runfolder: a charts link planted after the run took the folder is refused by the chart writer"] = () =>
        {
            var dir = Temp();
            var outside = Path.Combine(dir, "elsewhere");
            Directory.CreateDirectory(outside);
            var run = Path.Combine(dir, "run");
            Directory.CreateDirectory(run);
            Directory.CreateSymbolicLink(Path.Combine(run, RunCharts.Folder), outside);
            var history = new RunHistory();
            history.Add(1, 0, "train", "a", "loss", 1.0);
            Refused<IOException>(() => RunCharts.Write(run, history, new MetricsReport([])), RunCharts.Folder, "symbolic link");
            Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        },

        // C: silently wrong.
        ["C data: labels 0.5, 1.5, 2 and 2.0 are three classes"] = () =>
        {
            var p = WriteFile(Temp(), "half.csv", "text,label\na,0.5\nb,1.5\nc,2\nd,2.0\ne,0.5\nf,1.5\n");
            var d = CsvTaskReader.Read(p, Cls());
            Assert.Equal(["0.5", "1.5", "2"], d.LabelNames);
            Assert.Equal([0, 1, 2, 2, 0, 1], d.Examples.Select(e => e.Label));
        },
        ["C config: label_column equal to text_column is refused"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"label_column\": \"sentiment\"", "\"label_column\": \"review\"")),
                "task 'sentiment'", "label_column", "text_column", "'review'"),
        ["C data: a classification task with more classes than half its rows is refused unless asked"] = () =>
        {
            var dir = Temp();
            WriteFile(dir, "ids.csv", "text,label\n" + string.Join("", Enumerable.Range(0, 40).Select(i => $"row {i} text,id{i % 30}\n")));
            var task = new TaskConfig { Name = "ids", Dataset = "csv", Kind = TaskKind.Classification, Train = Path.Combine(dir, "ids.csv"), TextColumn = "text", LabelColumn = "label" };
            Refused<InvalidDataException>(() => TaskData.Load(task, new DatasetSources(), 1), "ids.csv", "task 'ids'", "30 classes", "40 rows", "many_classes");
            var splits = TaskData.Load(task with { ManyClasses = true }, new DatasetSources(), 1);
            Assert.Equal(30, splits.Train.LabelNames.Count);
        },
        ["C config: cross_stitch with one task is refused"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(OneTaskConfig("""{ "plan": "cross_stitch" }""")), "sharing.plan", "cross_stitch", "at least 2 tasks", "found 1"),
        ["C config: plateau_patience with no evaluation before the end is refused"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith(("\"eval_every_steps\": 8", "\"eval_every_steps\": 0, \"eval_per_epoch\": false"), ("\"lr\": 0.002", "\"lr\": 0.002, \"plateau_patience\": 2"))),
                "optimizer.plateau_patience", "eval_every_steps", "eval_per_epoch"),
        ["C config: early_stopping_patience with no evaluation before the end is refused"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"eval_every_steps\": 8", "\"eval_every_steps\": 0, \"eval_per_epoch\": false, \"early_stopping_patience\": 3")),
                "training.early_stopping_patience", "eval_every_steps", "eval_per_epoch"),
        ["C config: a key given twice is refused"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"lr\": 0.002", "\"lr\": 0.001, \"lr\": 5")), "run.json", "'lr'", "twice"),
        ["C config: weights with a method other than fixed are refused"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"optimizer\":", "\"method\": { \"weighting\": \"dwa\", \"weights\": [1, 2] }, \"optimizer\":")),
                "method.weights", "fixed", "'dwa'"),
        ["C download: a stale .partial longer than the file, answered 416, is not taken as the download"] = () =>
        {
            using var server = new LoopbackHttpServer();
            var body = RandomNumberGenerator.GetBytes(1000);
            server.Files["f.bin"] = body;
            var target = Path.Combine(Temp(), "f.bin");
            File.WriteAllBytes(target + Downloader.PartialSuffix, RandomNumberGenerator.GetBytes(1500));
            new Downloader().Download(new Uri(server.BaseUri, "f.bin"), target, null);
            Assert.Equal(body, File.ReadAllBytes(target));
        },
        ["C resume: a stream position beyond the data is refused"] = () =>
        {
            var (c, dir) = Tiny(steps: 4, checkpointEvery: 2);
            var run = Path.Combine(dir, "run");
            Train(c, run);
            var state = Path.Combine(run, Checkpoint.LatestFolder, Checkpoint.StateFile);
            EditJson(state, o => o["streams"]!["sentiment"]![1] = 100_000_000);
            Refused<InvalidDataException>(() => Train(c, run, resume: true), "state.json", "'sentiment'", "100000000");
        },
        ["C resume: a stream epoch beyond the steps taken is refused"] = () =>
        {
            var (c, dir) = Tiny(steps: 4, checkpointEvery: 2);
            var run = Path.Combine(dir, "run");
            Train(c, run);
            var state = Path.Combine(run, Checkpoint.LatestFolder, Checkpoint.StateFile);
            EditJson(state, o => o["streams"]!["score"]![0] = 5000);
            Refused<InvalidDataException>(() => Train(c, run, resume: true), "state.json", "'score'", "5000");
        },
        ["C predict: with best/ deleted, predict says it uses checkpoint/"] = () =>
        {
            var run = TrainedRun();
            Directory.Delete(Path.Combine(run, Checkpoint.BestFolder), recursive: true);
            var (code, output) = Mtk(Path.GetDirectoryName(run)!, "predict", "--run", run, "--text", "a good film");
            Assert.True(code == 0, output);
            Assert.Contains($"{Checkpoint.LatestFolder}/", output);
            Assert.Contains("no best/", output);
        },
        ["C evaluate: a training file changed after training is refused, naming the file"] = () =>
        {
            var run = TrainedRun();
            var reviews = Path.Combine(Path.GetDirectoryName(run)!, "reviews.csv");
            File.WriteAllText(reviews, File.ReadAllText(reviews).Replace(",pos\n", ",tmp\n").Replace(",neg\n", ",pos\n").Replace(",tmp\n", ",neg\n"));
            using var predictor = RunPredictor.Load(run);
            Refused<InvalidDataException>(() => predictor.EvaluateSplit("test", new DatasetSources()), "reviews.csv", "changed since the run");
        },
        ["C html: a notebook Markdown cell's <script> and javascript: link are escaped"] = () =>
        {
            var html = HtmlExport.MarkdownToHtml("Hello <script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n[x](javascript:alert(3)) and [ok](https://example.org)");
            Assert.DoesNotContain("<script", html);
            Assert.DoesNotContain("<img", html);
            Assert.DoesNotContain("href=\"javascript:", html);
            Assert.Contains("&lt;script&gt;", html);
            Assert.Contains("href=\"https://example.org\"", html);
        },
        ["C predict: control characters in --text are escaped on the terminal"] = () =>
        {
            var run = SharedRun.Value;
            var (code, output) = Mtk(Path.GetDirectoryName(run)!, "predict", "--run", run, "--text", "good \u001b]0;pwned\u0007 film \u001b[2J");
            Assert.True(code == 0, output);
            Assert.DoesNotContain('\u001b', output);
            Assert.DoesNotContain('\u0007', output);
            Assert.Contains("\\x1b", output);
        },
        ["C api: MethodCatalog.Create refuses duplicate task names for every method"] = () =>
        {
            Assert.Equal(30, MethodCatalog.Names.Count);
            foreach (var m in MethodCatalog.Names)
                Refused<ArgumentException>(() => MethodCatalog.Create(m, ["a", "a", "b"]), "'a'", "twice");
        },
        ["C api: a finite loss with a NaN gradient under ew is refused, naming the task"] = () =>
        {
            var (model, input, targets) = SmallModel();
            Dictionary<string, Tensor> Losses()
            {
                var output = model.forward(input);
                var losses = model.Losses(output, targets);
                // sqrt at 0: the loss is 0, its gradient 0 · ∞ = NaN
                losses["b"] = (output["b"] - output["b"].detach()).pow(2).sum().sqrt();
                return losses;
            }
            Refused<NonFiniteGradientException>(() => MultiTaskStep.Backward(model, Losses(), new EqualWeighting(model.Tasks)), "'b'", "not finite");
            var skipped = MultiTaskStep.Backward(model, Losses(), new EqualWeighting(model.Tasks), options: new StepOptions { OnNonFiniteLoss = NonFiniteLossPolicy.SkipStep });
            Assert.True(skipped.Skipped);
            Assert.Contains("'b'", skipped.SkipReason);
            Assert.All(model.parameters(), p => Assert.True(p.grad is null || p.grad.isfinite().all().item<bool>()));
        },
        ["C api: a NaN gradient under ew with per-task diagnostics is refused, naming the task"] = () =>
        {
            var (model, input, targets) = SmallModel();
            var output = model.forward(input);
            var losses = model.Losses(output, targets);
            losses["b"] = (output["b"] - output["b"].detach()).pow(2).sum().sqrt();
            Refused<NonFiniteGradientException>(() => MultiTaskStep.Backward(model, losses, new EqualWeighting(model.Tasks), options: new StepOptions { TaskGradientDiagnostics = true }), "'b'", "not finite");
        },

        // B: clear but unhelpful.
        ["B charts: a constant regression target (Pearson NaN) finishes with charts and a note"] = () =>
        {
            var (c, dir) = Tiny(steps: 2);
            var tweets = Path.Combine(dir, "tweets.tsv");
            var lines = File.ReadAllLines(tweets);
            File.WriteAllLines(tweets, lines.Take(1).Concat(lines.Skip(1).Select(l => l[..l.LastIndexOf('\t')] + "\t1.000")));
            var run = Path.Combine(dir, "run");
            var log = new List<string>();
            var result = Train(c, run, log: log, charts: true);
            Assert.True(File.Exists(Path.Combine(run, RunCharts.Folder, RunCharts.PageFile)));
            Assert.Contains(log, l => l.Contains("not finite") && l.Contains("score/pearson"));
            var history = RunHistory.Load(Path.Combine(run, Trainer.HistoryFile));
            Assert.Contains(history.Rows, r => r.Metric == "pearson" && double.IsNaN(r.Value));
            foreach (var chart in RunChartsWriter.Charts(history, result.Test))
            {
                Assert.DoesNotContain("NaN", chart.FigureJson);
                Assert.DoesNotContain("Infinity", chart.FigureJson);
            }
        },
        ["B charts: NaN and infinite points are left out of a figure"] = () =>
        {
            var chart = MtlCharts.Lines("t", "step", "loss", [new Series("a", [1, 2, 3, 4], [1, double.NaN, double.PositiveInfinity, 2])]);
            var figure = JsonNode.Parse(chart.FigureJson)!;
            var y = figure["data"]![0]!["y"]!.AsArray().Select(v => v!.GetValue<double>()).ToList();
            Assert.Equal([1.0, 2.0], y);
        },
        ["B charts: a NaN cell of a heatmap is written as null"] = () =>
        {
            var chart = MtlCharts.ConflictHeatmap([new HistoryPoint(1, 0, "train", "a|b", "grad_cosine", double.NaN), new HistoryPoint(2, 0, "train", "a|b", "grad_cosine", 0.5)]);
            Assert.DoesNotContain("NaN", chart.FigureJson);
            Assert.Contains("null", chart.FigureJson);
        },
        ["B data: a training file over 2 GiB names the file and the limit"] = () =>
        {
            var p = Path.Combine(Temp(), "huge.csv");
            using (var f = new FileStream(p, FileMode.CreateNew)) f.SetLength((1L << 31) + 10); // sparse: no disk used
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls()), "huge.csv", "2 GiB");
        },
        ["B data: a folder given as the training file says it is a folder"] = () =>
        {
            var dir = Temp();
            Refused<InvalidDataException>(() => CsvTaskReader.Read(dir, Cls()), dir, "a folder");
        },
        ["B config: steps 1e18 is refused naming the bound"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"steps\": 24", "\"steps\": 1000000000000000000")), "training.steps", "1000000000000000000", "at most"),
        ["B config: epochs 1e300 is refused naming the bound"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"steps\": 24", "\"epochs\": 1e300")), "training.epochs", "at most"),
        ["B config: an unknown task kind lists the kinds"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"kind\": \"regression\"", "\"kind\": \"ranking\"")), "run.json", "kind", "'ranking'", "classification", "regression"),
        ["B config: an unknown precision lists the precisions"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"seed\": 11,", "\"seed\": 11, \"runtime\": { \"precision\": \"fp16\" },")), "run.json", "precision", "'fp16'", "fp32", "bf16", "auto"),
        ["B config: an unknown sampling mode lists the modes"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"steps\": 24", "\"steps\": 24, \"sampling\": \"roundrobin\"")), "run.json", "sampling", "'roundrobin'", "all_tasks"),
        ["B config: an MLP trunk of hidden 10^6 is refused before allocating"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"trunk\": \"random\", \"hidden\": 16", "\"trunk\": \"mlp\", \"hidden\": 1000000")), "model.hidden", "1000000", $"{ModelConfig.MaxHidden}"),
        ["B config: an MLP trunk of 1000 layers is refused"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"trunk\": \"random\", \"hidden\": 16, \"layers\": 2", "\"trunk\": \"mlp\", \"hidden\": 16, \"layers\": 1000")), "model.layers", "1000", $"{ModelConfig.MaxLayers}"),
        ["B config: batch_size 2147483647 is refused naming the bound"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"batch_size\": 8, \"max_tokens\": 12 },", "\"batch_size\": 2147483647, \"max_tokens\": 12 },")), "batch_size", "2147483647", $"{TaskConfig.MaxBatchSize}"),
        ["B config: eval_batch_size 2147483647 is refused naming the bound"] = () =>
            Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"steps\": 24", "\"steps\": 24, \"eval_batch_size\": 2147483647")), "training.eval_batch_size", $"{TaskConfig.MaxBatchSize}"),
        ["B hub: a malformed commit header is named as such"] = () =>
        {
            using var server = new LoopbackHubServer { CommitHeader = "not-a-commit" };
            server.AddRepo("o/m", new string('a', 40), new Dictionary<string, byte[]> { ["config.json"] = "{}"u8.ToArray() });
            Refused<InvalidDataException>(() => new HubClient(Temp(), server.Endpoint).DownloadFile("o/m", "config.json"), "X-Repo-Commit", "'not-a-commit'", "40");
        },
        ["B hub: a body longer than announced says so and keeps no partial file"] = () =>
        {
            using var server = new LoopbackHubServer { LinkedSizeShortBy = 10 };
            var data = RandomNumberGenerator.GetBytes(5000);
            server.AddRepo("o/m", new string('b', 40), new Dictionary<string, byte[]> { ["model.safetensors"] = data }, "model.safetensors");
            var cache = Temp();
            Refused<IOException>(() => new HubClient(cache, server.Endpoint) { MaxAttempts = 2 }.DownloadFile("o/m", "model.safetensors"), "model.safetensors", "5000 bytes", "expected 4990");
            Assert.Empty(Directory.EnumerateFiles(cache, "*.incomplete", SearchOption.AllDirectories));
        },
        ["B hub: a redirect to file:// is refused naming the URL"] = () =>
        {
            using var server = new LoopbackHubServer { RedirectTo = "file:///etc/passwd" };
            server.AddRepo("o/m", new string('c', 40), new Dictionary<string, byte[]> { ["config.json"] = "{}"u8.ToArray() });
            Refused<HttpRequestException>(() => new HubClient(Temp(), server.Endpoint).DownloadFile("o/m", "config.json"), "file:///etc/passwd", "http");
        },
        ["B runfolder: a read-only run folder is named as read-only"] = () =>
        {
            var (c, dir) = Tiny(steps: 2);
            var run = Path.Combine(dir, "run");
            Directory.CreateDirectory(run);
            WithReadOnlyFolder(run, () => Refused<IOException>(() => Train(c, run), run, "cannot be written"));
        },
        ["B predict: a truncated tasks.json names the file"] = () =>
        {
            var run = TrainedRun();
            var tasks = Path.Combine(run, Trainer.TasksFile);
            File.WriteAllText(tasks, File.ReadAllText(tasks)[..40]);
            Refused<InvalidDataException>(() => RunPredictor.Load(run), "tasks.json");
        },
        ["B notebook: a truncated .ipynb names the file"] = () =>
        {
            var dir = Temp();
            var nb = WriteFile(dir, "cut.ipynb", "{\"cells\": [{\"cell_type\": \"markdown\", \"source\": [\"# Ti");
            Refused<InvalidDataException>(() => NotebookRunner.RunAsync(nb, Path.Combine(dir, "out")).GetAwaiter().GetResult(), "cut.ipynb");
        },
        ["B cli: --out \"\" is a usage error naming --out"] = () =>
        {
            var dir = Temp();
            var config = TinyRun.Write(dir, steps: 2);
            var (code, output) = Mtk(dir, "train", "--config", config, "--out", "");
            Assert.Equal(2, code);
            OneLineError(output, "--out");
            Assert.DoesNotContain("Parameter", output);
        },
        ["B api: a target of the wrong shape names the task and the expected shape"] = () =>
        {
            var (model, input, targets) = SmallModel();
            targets["b"] = randn(4);
            Refused<ArgumentException>(() => model.Losses(model.forward(input), targets), "task 'b'", "[6]", "[4]");
        },
        ["B api: features of the wrong width name the expected width"] = () =>
        {
            var (model, _, _) = SmallModel();
            Refused<ArgumentException>(() => model.forward(TrunkInput.FromFeatures(randn(6, 5))), "[6, 5]", "4 features");
        },
    };
}
