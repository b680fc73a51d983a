using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Charts;
using MultiTaskKit.Data;
using MultiTaskKit.IO;
using MultiTaskKit.Models.Bert;
using MultiTaskKit.Runtime;
using MultiTaskKit.Tests.Cli;
using MultiTaskKit.Tests.Data;
using MultiTaskKit.Training;
using MultiTaskKit.Weighting;
using static TorchSharp.torch;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Tests.Hostile;

/// <summary>
/// Bad inputs and faults as a careless or hostile user tries them, one row per case. Each row asserts the exact class
/// of outcome: refused with the expected exception type and a message that names the file, line, key or argument; or
/// handled, with the result checked. Most rows run in-process on tiny inputs; the command-line rows run the real mtk.
/// </summary>
[Collection(ProcessStateCollection.Name)]
public class HostileInputTests : IDisposable
{
    public HostileInputTests() => TorchRuntime.EnsureInitialized();

    /// <summary>The folders this case made; removed after it (each row writes a few megabytes).</summary>
    static readonly System.Collections.Concurrent.ConcurrentBag<string> Made = [];

    public void Dispose()
    {
        while (Made.TryTake(out var dir))
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    public static TheoryData<string> Names() => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void Case(string name) => Cases[name]();

    [Fact]
    public void TheSuiteCoversEveryFamilyWithAtLeastSixtyCases()
    {
        Assert.True(Cases.Count >= 60, $"{Cases.Count} cases");
        var families = Cases.Keys.Select(k => k[..k.IndexOf(':')]).Distinct().ToList();
        foreach (var f in new[] { "data", "config", "model", "archive", "download", "runfolder", "resume", "concurrency", "predict", "cli", "html", "api" })
            Assert.Contains(f, families);
    }

    // ---- outcome helpers -------------------------------------------------------------------------------------

    /// <summary>Refused: <typeparamref name="T"/> (or a subclass), and the message names every one of <paramref name="mentions"/>.</summary>
    static T Refused<T>(Action act, params string[] mentions) where T : Exception
    {
        var e = Record.Exception(act);
        Assert.True(e is T, $"expected {typeof(T).Name}, got {(e is null ? "no exception" : $"{e.GetType().Name}: {e.Message}")}");
        foreach (var m in mentions) Assert.Contains(m, e!.Message);
        return (T)e!;
    }

    /// <summary>How many tensors <paramref name="act"/> made on this thread: a refusal before allocating makes none,
    /// however fast or slow the machine is.</summary>
    static long TensorsMadeBy(Action act)
    {
        var stats = TorchSharp.DisposeScopeManager.Statistics;
        long before = stats.CreatedInScopeCount + stats.CreatedOutsideScopeCount;
        act();
        return stats.CreatedInScopeCount + stats.CreatedOutsideScopeCount - before;
    }

    /// <summary>The tensors a safetensors file holds, read from its header.</summary>
    static int SafetensorsEntries(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)BitConverter.ToInt64(bytes, 0)))!.AsObject();
        return header.Count(kv => kv.Key != "__metadata__");
    }

    static string Temp()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-hostile").FullName;
        Made.Add(dir);
        return dir;
    }

    static string WriteFile(string dir, string name, string text) { var p = Path.Combine(dir, name); File.WriteAllText(p, text); return p; }

    static string WriteBytes(string dir, string name, byte[] bytes) { var p = Path.Combine(dir, name); File.WriteAllBytes(p, bytes); return p; }

    static CsvTaskOptions Cls(string text = "text", string label = "label") => new() { TextColumn = text, LabelColumn = label, Kind = TaskKind.Classification };

    static CsvTaskOptions Reg(string text = "text", string label = "target") => new() { TextColumn = text, LabelColumn = label, Kind = TaskKind.Regression };

    /// <summary>The tiny two-task run of <see cref="TinyRun"/>, loaded as a configuration, with its folder.</summary>
    static (RunConfig Config, string Dir, string Path) Tiny(int steps = 6, int checkpointEvery = 2)
    {
        var dir = Temp();
        var path = TinyRun.Write(dir, steps, checkpointEvery);
        return (RunConfig.Load(path), dir, path);
    }

    static TrainingResult Train(RunConfig config, string runDir, bool resume = false, List<string>? log = null)
    {
        using var trainer = new Trainer(config, runDir, new DatasetSources()) { Log = m => log?.Add(m) };
        return trainer.Run(resume);
    }

    /// <summary>A run configuration file with one key's JSON replaced (keys as in <see cref="TinyRun"/>).</summary>
    static string ConfigWith(string from, string to)
    {
        var dir = Temp();
        var path = TinyRun.Write(dir);
        var text = File.ReadAllText(path);
        Assert.Contains(from, text);
        File.WriteAllText(path, text.Replace(from, to));
        return path;
    }

    static (string Dir, string Folder) TinyBertFolder()
    {
        var dir = Temp();
        var folder = Path.Combine(dir, "bert");
        using var model = new BertModel(BertConfig.Tiny with { VocabSize = 30 }, addPoolingLayer: false);
        var vocab = WriteFile(dir, "vocab.txt", string.Join("\n", new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Enumerable.Range(0, 25).Select(i => $"w{i}"))) + "\n");
        BertCheckpoint.Save(model, folder, vocab);
        return (dir, folder);
    }

    static void EditJson(string path, Action<JsonObject> edit)
    {
        var o = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(o);
        File.WriteAllText(path, o.ToJsonString());
    }

    static (Tensor G, AggregationInput Input) Matrix(double[][] rows, string[] names, double[]? losses = null)
    {
        var g = tensor(rows.SelectMany(r => r).ToArray(), new long[] { rows.Length, rows.Length == 0 ? 3 : rows[0].Length }, dtype: ScalarType.Float64);
        return (g, new AggregationInput(names, GradientMatrix.Gramian(g), losses ?? names.Select(_ => 1.0).ToArray(), new StepContext()));
    }

    static WeightingInput Losses(string[] names, double[] losses) =>
        new(names, tensor(losses, dtype: ScalarType.Float32), losses, new StepContext(History: new LossHistory()));

    static readonly double[][] WithNaN = [[1, 0, 2], [double.NaN, 1, 0]];

    static (int Code, string Output) Mtk(string workDir, params string[] args) => MtkProcess.Run(workDir, args);

    /// <summary>One line naming the problem, no stack trace.</summary>
    static void OneLineError(string output, params string[] mentions)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("mtk: ")).ToList();
        Assert.True(lines.Count == 1, output);
        foreach (var m in mentions) Assert.Contains(m, lines[0]);
        Assert.DoesNotContain("   at ", output);
    }

    // ---- the cases ---------------------------------------------------------------------------------------------

    static readonly Dictionary<string, Action> Cases = new()
    {
        // Data files.
        ["data: TSV field opening a quote that closes lines later is read row by row"] = () =>
        {
            var p = WriteFile(Temp(), "q.tsv", "text\tlabel\n\"it opens\tpos\nsecond\tneg\nthird\tpos\nfourth\tneg\nit closes\"\tpos\nlast\tneg\n");
            var d = CsvTaskReader.Read(p, Cls());
            Assert.Equal(6, d.Count);
            Assert.Equal("\"it opens", d.Examples[0].Text);
        },
        ["data: TSV field starting with a quote is read as written"] = () =>
        {
            var p = WriteFile(Temp(), "imdb-like.tsv", "text\tlabel\n\"Great\" she said, and it was.\t1\nPlain one.\t0\n");
            var d = CsvTaskReader.Read(p, Cls());
            Assert.Equal("\"Great\" she said, and it was.", d.Examples[0].Text);
            Assert.Equal(2, d.Count);
        },
        ["data: CSV quote left open names the file and line"] = () =>
        {
            var p = WriteFile(Temp(), "open.csv", "text,label\nfine,a\n\"never closed,b\nx,a\n");
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls()), "open.csv", "line 3", "does not close");
        },
        ["data: invalid UTF-8 in a CSV names the file and line"] = () =>
        {
            var bytes = Encoding.UTF8.GetBytes("text,label\na,x\nb,y\nbad ").Concat(new byte[] { 0xFF, 0xFE }).Concat(Encoding.UTF8.GetBytes(",x\n")).ToArray();
            var p = WriteBytes(Temp(), "latin.csv", bytes);
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls()), "latin.csv", "line 4", "UTF-8", "0xFF");
        },
        ["data: UTF-16 file is refused as not UTF-8"] = () =>
        {
            var p = WriteBytes(Temp(), "wide.csv", Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("text,label\na,x\n")).ToArray());
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls()), "wide.csv", "line 1", "UTF-8");
        },
        ["data: labels 0 and 0.0 are one class"] = () =>
        {
            var p = WriteFile(Temp(), "num.csv", "text,label\na,0\nb,0.0\nc,1\nd,1.0\n");
            var d = CsvTaskReader.Read(p, Cls());
            Assert.Equal(["0", "1"], d.LabelNames);
            Assert.Equal([0, 0, 1, 1], d.Examples.Select(e => e.Label));
        },
        ["data: a single class names the task and the file"] = () =>
        {
            var p = WriteFile(Temp(), "one.csv", "text,label\na,pos\nb,pos\n");
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls(), "train", "mytask"), "one.csv", "'mytask'", "single class");
        },
        ["data: missing column lists the columns found"] = () =>
        {
            var p = WriteFile(Temp(), "cols.csv", "review,stars\na,1\n");
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls()), "cols.csv", "'text'", "'review'");
        },
        ["data: a short row names the line and the field counts"] = () =>
        {
            var p = WriteFile(Temp(), "short.tsv", "text\tlabel\na\tx\nno tab here\nb\ty\n");
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls()), "short.tsv", "line 3", "expected 2", "found 1");
        },
        ["data: a long row names the line"] = () =>
        {
            var p = WriteFile(Temp(), "long.csv", "text,label\na,x\nb,y,z\n");
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls()), "long.csv", "line 3", "found 3");
        },
        ["data: empty file"] = () =>
        {
            var p = WriteFile(Temp(), "empty.csv", "");
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls()), "empty.csv", "header");
        },
        ["data: header only"] = () =>
        {
            var p = WriteFile(Temp(), "header.csv", "text,label\n");
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls()), "header.csv", "at least one data row");
        },
        ["data: empty text field names the line and column"] = () =>
        {
            var p = WriteFile(Temp(), "blank.csv", "text,label\na,x\n ,y\n");
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls()), "blank.csv", "line 3", "'text'");
        },
        ["data: non-numeric regression target"] = () =>
        {
            var p = WriteFile(Temp(), "reg.csv", "text,target\na,0.5\nb,high\n");
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Reg()), "reg.csv", "line 3", "'high'");
        },
        ["data: NaN regression target"] = () =>
        {
            var p = WriteFile(Temp(), "nan.csv", "text,target\na,0.5\nb,NaN\n");
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Reg()), "nan.csv", "line 3", "'NaN'");
        },
        ["data: label outside the configured labels"] = () =>
        {
            var p = WriteFile(Temp(), "lab.csv", "text,label\na,pos\nb,maybe\n");
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls() with { LabelNames = ["neg", "pos"] }), "lab.csv", "line 3", "'maybe'");
        },
        ["data: header naming a column twice"] = () =>
        {
            var p = WriteFile(Temp(), "dup.csv", "text,text,label\na,b,c\n");
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls()), "dup.csv", "'text' twice");
        },
        ["data: BOM and CRLF are read correctly"] = () =>
        {
            var p = WriteBytes(Temp(), "win.csv", Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("text,label\r\nhello,a\r\nbye,b\r\n")).ToArray());
            var d = CsvTaskReader.Read(p, Cls());
            Assert.Equal(["a", "b"], d.LabelNames);
            Assert.Equal("hello", d.Examples[0].Text);
        },
        ["data: text after a closing quote"] = () =>
        {
            var p = WriteFile(Temp(), "after.csv", "text,label\n\"quoted\"tail,a\n");
            Refused<InvalidDataException>(() => CsvTaskReader.Read(p, Cls()), "after.csv", "line 2");
        },
        ["data: doubled quotes inside a quoted CSV field"] = () =>
        {
            var p = WriteFile(Temp(), "esc.csv", "text,label\n\"she said \"\"hi\"\", then left\",a\nplain,b\n");
            Assert.Equal("she said \"hi\", then left", CsvTaskReader.Read(p, Cls()).Examples[0].Text);
        },
        ["data: a missing file names the path"] = () =>
            Refused<FileNotFoundException>(() => CsvTaskReader.Read(Path.Combine(Temp(), "nope.csv"), Cls()), "nope.csv"),

        // Configuration.
        ["config: a run name escaping runs/"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"name\": \"tiny\"", "\"name\": \"../../victim\"")), "'name'", "../../victim"),
        ["config: an absolute run name"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"name\": \"tiny\"", "\"name\": \"/tmp/x\"")), "'name'", "/tmp/x"),
        ["config: an empty run name"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"name\": \"tiny\"", "\"name\": \"\"")), "'name'"),
        ["config: steps 0"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"steps\": 24", "\"steps\": 0")), "training.steps", "found 0"),
        ["config: negative steps"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"steps\": 24", "\"steps\": -5")), "training.steps", "-5"),
        ["config: warmup fraction above 1"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"lr\": 0.002", "\"lr\": 0.002, \"warmup_fraction\": 1.5")), "optimizer.warmup_fraction", "1.5"),
        ["config: negative warmup fraction"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"lr\": 0.002", "\"lr\": 0.002, \"warmup_fraction\": -0.1")), "optimizer.warmup_fraction", "-0.1"),
        ["config: head_lr 0"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"lr\": 0.002", "\"lr\": 0.002, \"head_lr\": 0")), "optimizer.head_lr", "found 0"),
        ["config: negative lr"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"lr\": 0.002", "\"lr\": -1")), "optimizer.lr", "-1"),
        ["config: shared layers deeper than the trunk"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"shared_layers\": 1", "\"shared_layers\": 5")), "sharing.shared_layers", "model.layers", "5"),
        ["config: unknown key"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"steps\": 24", "\"stepz\": 24")), "run.json", "stepz"),
        ["config: hidden size of a million"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"hidden\": 16", "\"hidden\": 1000000")), "model.hidden", "1000000"),
        ["config: hidden not a multiple of heads"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"hidden\": 16", "\"hidden\": 15")), "model.hidden", "model.heads"),
        ["config: fixed weights for the wrong number of tasks"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"optimizer\":", "\"method\": { \"weighting\": \"fixed\", \"weights\": [1, 2, 3] }, \"optimizer\":")), "method.weights", "3 weights"),
        ["config: selection metric of an unknown task"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"steps\": 24", "\"steps\": 24, \"selection_metric\": \"nosuch/accuracy\"")), "training.selection_metric", "nosuch/accuracy"),
        ["config: two tasks with one name"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"name\": \"score\"", "\"name\": \"sentiment\"")), "'sentiment'", "2 times"),
        ["config: a task name with a slash"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"name\": \"score\"", "\"name\": \"a/b\"")), "task name", "'a/b'"),
        ["config: validation fraction 1.5"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"max_tokens\": 12 }\n", "\"max_tokens\": 12, \"validation_fraction\": 1.5 }\n")), "validation_fraction", "1.5"),
        ["config: dropout 1"] = () => Refused<InvalidDataException>(() => RunConfig.Load(ConfigWith("\"intermediate\": 32", "\"intermediate\": 32, \"dropout\": 1.0")), "model.dropout"),
        ["config: not JSON"] = () =>
        {
            var p = WriteFile(Temp(), "broken.json", "{ \"name\": \"x\", ");
            Refused<InvalidDataException>(() => RunConfig.Load(p), "broken.json");
        },
        ["config: max_tokens beyond the position table names the task"] = () =>
        {
            var (c, dir, _) = Tiny();
            c = c with { Tasks = c.Tasks.Select(t => t.Name == "score" ? t with { MaxTokens = 100_000 } : t).ToList() };
            Refused<InvalidDataException>(() => Train(c, Path.Combine(dir, "out")), "task 'score'", "max_tokens", "100000");
        },

        // Model folders.
        ["model: config.json claiming hidden 10^6 is refused before allocating"] = () =>
        {
            var (_, folder) = TinyBertFolder();
            EditJson(Path.Combine(folder, "config.json"), o => o["hidden_size"] = 1_000_000);
            Assert.Equal(0, TensorsMadeBy(() => Refused<ArgumentException>(() => PretrainedBert.Load(folder), "config.json", "'hidden_size'", "1000000")));
        },
        ["model: config.json disagreeing with the weights names the key"] = () =>
        {
            var (_, folder) = TinyBertFolder();
            EditJson(Path.Combine(folder, "config.json"), o => { o["hidden_size"] = 8192; o["num_attention_heads"] = 4; });
            // reading the weights makes one tensor per entry of the file; building the claimed 8192-wide model would make
            // as many again
            long made = TensorsMadeBy(() => Refused<InvalidDataException>(() => PretrainedBert.Load(folder), "config.json", "'hidden_size' is 8192", "word_embeddings"));
            int inFile = SafetensorsEntries(Path.Combine(folder, "model.safetensors"));
            Assert.True(made <= inFile, $"the refusal made {made} tensors; the file holds {inFile}, so a model was built first");
        },
        ["model: layer count disagreeing with the weights"] = () =>
        {
            var (_, folder) = TinyBertFolder();
            EditJson(Path.Combine(folder, "config.json"), o => o["num_hidden_layers"] = 7);
            Refused<InvalidDataException>(() => PretrainedBert.Load(folder), "num_hidden_layers", "7");
        },
        ["model: truncated model.safetensors names the file"] = () =>
        {
            var (_, folder) = TinyBertFolder();
            var w = Path.Combine(folder, "model.safetensors");
            File.WriteAllBytes(w, File.ReadAllBytes(w)[..100]);
            Refused<InvalidDataException>(() => PretrainedBert.Load(folder), "model.safetensors");
        },
        ["model: a pickle-only folder gives a hint mtk can follow"] = () =>
        {
            var (_, folder) = TinyBertFolder();
            File.Move(Path.Combine(folder, "model.safetensors"), Path.Combine(folder, "pytorch_model.bin"));
            var e = Refused<InvalidOperationException>(() => PretrainedBert.Load(folder), "pytorch_model.bin", "PretrainedBertOptions.AllowPickle", "safetensors");
            Assert.DoesNotContain("--allow-pickle", e.Message);
        },
        ["model: hub id a/.. is not the current folder"] = () => Refused<ArgumentException>(() => PretrainedBert.Load("a/.."), "'a/..'"),
        ["model: hub id a/. is not the current folder either"] = () => Refused<ArgumentException>(() => PretrainedBert.Load("a/."), "'a/.'"),
        ["model: folder without vocab.txt"] = () =>
        {
            var (_, folder) = TinyBertFolder();
            File.Delete(Path.Combine(folder, "vocab.txt"));
            Refused<FileNotFoundException>(() => PretrainedBert.Load(folder), "vocab.txt");
        },
        ["model: config.json that is not JSON"] = () =>
        {
            var (_, folder) = TinyBertFolder();
            File.WriteAllText(Path.Combine(folder, "config.json"), "{ hidden_size: ");
            Refused<InvalidDataException>(() => PretrainedBert.Load(folder), "config.json");
        },

        // Archives.
        ["archive: entry escaping the target"] = () =>
        {
            var dir = Temp();
            var p = WriteBytes(dir, "evil.tar.gz", Fixtures.TarGz(("ok.txt", "fine"), ("../evil.txt", "bad")));
            Refused<InvalidDataException>(() => SafeArchive.Extract(p, Path.Combine(dir, "out")), "../evil.txt");
            Assert.False(File.Exists(Path.Combine(dir, "evil.txt")));
        },
        ["archive: absolute entry path"] = () =>
        {
            var dir = Temp();
            var victim = Path.Combine(dir, "abs-victim.txt");
            var p = WriteBytes(dir, "abs.tar.gz", Fixtures.TarGz((victim, "bad")));
            Refused<InvalidDataException>(() => SafeArchive.Extract(p, Path.Combine(dir, "out")), "abs.tar.gz", victim, "outside the target");
            Assert.False(File.Exists(victim));
        },
        ["archive: extracting onto an existing folder"] = () =>
        {
            var dir = Temp();
            var p = WriteBytes(dir, "ok.tar.gz", Fixtures.TarGz(("a.txt", "x")));
            Directory.CreateDirectory(Path.Combine(dir, "out"));
            File.WriteAllText(Path.Combine(dir, "out", "keep.txt"), "mine");
            Refused<IOException>(() => SafeArchive.Extract(p, Path.Combine(dir, "out")), "already exists");
            Assert.Equal("mine", File.ReadAllText(Path.Combine(dir, "out", "keep.txt")));
        },
        ["archive: symlink pointing outside"] = () =>
        {
            var dir = Temp();
            var p = Path.Combine(dir, "link.tar");
            using (var fs = File.Create(p))
            using (var tar = new TarWriter(fs, TarEntryFormat.Pax))
                tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "a/link") { LinkName = "../../../etc/passwd" });
            Refused<InvalidDataException>(() => SafeArchive.Extract(p, Path.Combine(dir, "out")), "../../../etc/passwd");
        },
        ["archive: truncated gzip names the archive"] = () =>
        {
            var dir = Temp();
            var bytes = Fixtures.ImdbArchive();
            var p = WriteBytes(dir, "cut.tar.gz", bytes[..(bytes.Length / 2)]);
            Refused<InvalidDataException>(() => SafeArchive.Extract(p, Path.Combine(dir, "out")), "cut.tar.gz");
            Assert.False(Directory.Exists(Path.Combine(dir, "out")));
        },
        ["archive: not an archive at all"] = () =>
        {
            var dir = Temp();
            var p = WriteFile(dir, "text.tar.gz", "this is not gzip");
            Refused<InvalidDataException>(() => SafeArchive.Extract(p, Path.Combine(dir, "out")), "text.tar.gz");
        },

        // Downloads on a loopback server.
        ["download: cut short names the URL"] = () =>
        {
            using var server = new LoopbackHttpServer();
            server.Files["big.bin"] = RandomNumberGenerator.GetBytes(400_000);
            server.CutNextAfter = 100_000;
            var url = new Uri(server.BaseUri, "big.bin");
            Refused<IOException>(() => new Downloader().Download(url, Path.Combine(Temp(), "big.bin"), null), url.ToString());
        },
        ["download: 404 names the URL and the status"] = () =>
        {
            using var server = new LoopbackHttpServer();
            var url = new Uri(server.BaseUri, "missing.bin");
            Refused<HttpRequestException>(() => new Downloader().Download(url, Path.Combine(Temp(), "m.bin"), null), url.ToString(), "404");
        },
        ["download: checksum mismatch caches nothing"] = () =>
        {
            using var server = new LoopbackHttpServer();
            server.Files["a.bin"] = RandomNumberGenerator.GetBytes(10_000);
            var url = new Uri(server.BaseUri, "a.bin");
            var target = Path.Combine(Temp(), "a.bin");
            Refused<InvalidDataException>(() => new Downloader().Download(url, target, Checksum.Sha256(new string('0', 64))), url.ToString(), "mismatch");
            Assert.False(File.Exists(target));
            Assert.False(File.Exists(target + Downloader.PartialSuffix));
        },
        ["download: a local upstream IMDB archive with other bytes"] = () =>
        {
            var dir = Temp();
            Directory.CreateDirectory(Path.Combine(dir, "imdb"));
            WriteBytes(Path.Combine(dir, "imdb"), DatasetSources.UpstreamImdbName, Fixtures.ImdbArchive());
            Refused<InvalidDataException>(() => new DatasetSources { DataDir = dir }.ImdbPath(), DatasetSources.UpstreamImdbName, "7c2ac02c");
        },
        ["download: a local repacked copy is said to be unverified"] = () =>
        {
            var dir = Temp();
            Directory.CreateDirectory(Path.Combine(dir, "imdb"));
            WriteBytes(Path.Combine(dir, "imdb"), "aclImdb-labeled.tar.gz", Fixtures.ImdbArchive());
            var sources = new DatasetSources { DataDir = dir };
            Assert.Contains("aclImdb-labeled.tar.gz, not checksum-verified", sources.Verification(sources.ImdbPath()));
        },

        // Run folders.
        ["runfolder: a non-empty folder that is not a run is left alone"] = () =>
        {
            var (c, dir, _) = Tiny();
            var victim = Path.Combine(dir, "victim");
            Directory.CreateDirectory(Path.Combine(victim, "best"));
            File.WriteAllText(Path.Combine(victim, "best", "mine.txt"), "precious");
            File.WriteAllText(Path.Combine(victim, "metrics.json"), "{\"mine\": true}");
            Refused<IOException>(() => Train(c, victim), victim, RunFolder.MarkerFile);
            Assert.Equal("precious", File.ReadAllText(Path.Combine(victim, "best", "mine.txt")));
            Assert.Equal("{\"mine\": true}", File.ReadAllText(Path.Combine(victim, "metrics.json")));
            Assert.Equal(2, Directory.EnumerateFileSystemEntries(victim).Count());
        },
        ["runfolder: a folder left by a kill before the marker was written is taken"] = () =>
        {
            var (c, dir, _) = Tiny(steps: 2);
            var run = Path.Combine(dir, "out");
            Directory.CreateDirectory(run);
            File.WriteAllText(Path.Combine(run, RunFolder.LockFile), "");
            File.WriteAllText(Path.Combine(run, RunFolder.HolderFile), "{\"pid\": 999999}");
            File.WriteAllText(Path.Combine(run, RunFolder.MarkerFile + ".tmp-999999-abc"), "half");
            Train(c, run);
            Assert.True(File.Exists(Path.Combine(run, RunFolder.MarkerFile)));
            Assert.Empty(Directory.EnumerateFileSystemEntries(run, "*.tmp-*"));
        },
        ["runfolder: --out naming a file"] = () =>
        {
            var (c, dir, _) = Tiny();
            var file = WriteFile(dir, "afile", "x");
            Refused<IOException>(() => Train(c, file), "afile", "found a file");
            Assert.Equal("x", File.ReadAllText(file));
        },
        ["runfolder: leftovers of interrupted writes are removed"] = () =>
        {
            var (c, dir, _) = Tiny(steps: 4);
            var run = Path.Combine(dir, "out");
            Train(c, run);
            Directory.CreateDirectory(Path.Combine(run, "checkpoint.tmp-1-abc"));
            Directory.CreateDirectory(Path.Combine(run, "best.old-def"));
            File.WriteAllText(Path.Combine(run, "metrics.json.tmp-1-abc"), "half");
            Train(c, run, resume: true);
            Assert.Empty(Directory.EnumerateFileSystemEntries(run, "*.tmp-*"));
            Assert.Empty(Directory.EnumerateFileSystemEntries(run, "*.old-*"));
        },
        ["runfolder: a folder caught between its two renames gets its previous version back"] = () =>
        {
            var (c, dir, _) = Tiny(steps: 4, checkpointEvery: 2);
            var run = Path.Combine(dir, "out");
            Train(c, run);
            var before = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!["tasks"]!.ToJsonString();
            // The state a kill leaves between "move checkpoint/ aside" and "move the new one in".
            Directory.Move(Path.Combine(run, "checkpoint"), Path.Combine(run, "checkpoint.old-0123"));
            Directory.CreateDirectory(Path.Combine(run, "checkpoint.tmp-99-x"));
            Train(c, run, resume: true);
            Assert.True(File.Exists(Path.Combine(run, "checkpoint", "state.json")));
            Assert.Empty(Directory.EnumerateFileSystemEntries(run, "*.old-*"));
            Assert.Empty(Directory.EnumerateFileSystemEntries(run, "*.tmp-*"));
            Assert.Equal(before, JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!["tasks"]!.ToJsonString());
        },

        // Resume.
        ["resume: --resume without a checkpoint is refused"] = () =>
        {
            var (c, dir, _) = Tiny();
            var run = Path.Combine(dir, "never");
            Refused<IOException>(() => Train(c, run, resume: true), "--resume", "no checkpoint", "never");
            Assert.False(Directory.Exists(run));
        },
        ["resume: after the training data was edited"] = () =>
        {
            var (c, dir, _) = Tiny(steps: 2);
            var run = Path.Combine(dir, "out");
            Train(c, run);
            File.AppendAllText(Path.Combine(dir, "reviews.csv"), "\"an extra review, good\",pos\n");
            Refused<InvalidDataException>(() => Train(c, run, resume: true), "reviews.csv", "changed since the run started");
        },
        ["resume: state.json with a negative step"] = () =>
        {
            var (c, dir, _) = Tiny(steps: 2);
            var run = Path.Combine(dir, "out");
            Train(c, run);
            EditJson(Path.Combine(run, "checkpoint", "state.json"), o => o["step"] = -3);
            Refused<InvalidDataException>(() => Train(c, run, resume: true), "state.json", "'step'", "-3");
        },
        ["resume: state.json that is garbage"] = () =>
        {
            var (c, dir, _) = Tiny(steps: 2);
            var run = Path.Combine(dir, "out");
            Train(c, run);
            File.WriteAllText(Path.Combine(run, "checkpoint", "state.json"), "\u0001garbage{");
            Refused<InvalidDataException>(() => Train(c, run, resume: true), "state.json");
        },
        ["resume: truncated optimizer.bin"] = () =>
        {
            var (c, dir, _) = Tiny(steps: 2);
            var run = Path.Combine(dir, "out");
            Train(c, run);
            var opt = Path.Combine(run, "checkpoint", "optimizer.bin");
            File.WriteAllBytes(opt, File.ReadAllBytes(opt)[..40]);
            Refused<InvalidDataException>(() => Train(c, run, resume: true), "optimizer.bin");
        },
        ["resume: best/ written after the checkpoint is kept and rewritten"] = () =>
        {
            var (c, dir, _) = Tiny(steps: 12, checkpointEvery: 0);
            // An evaluation and a checkpoint every step, and a rate at which the tiny model improves after step 1.
            c = c with { Training = c.Training with { EvalEverySteps = 1 }, Optimizer = c.Optimizer with { Lr = 0.05 } };
            Train(c, Path.Combine(dir, "straight"));
            var straight = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "straight", "metrics.json")))!;
            long b = straight["run"]!["best_step"]!.GetValue<long>();
            Assert.InRange(b, 2, 12);
            // Stop a run after its step b-1 checkpoint, then put the straight run's best/ (written at step b) beside
            // it: what a kill between "best/ written at step b" and "checkpoint/ written at step b" leaves.
            var run = Path.Combine(dir, "out");
            using var cancel = new CancellationTokenSource();
            using (var trainer = new Trainer(c, run, new DatasetSources()) { Progress = new Stopper(cancel, b - 1) })
                Assert.ThrowsAny<OperationCanceledException>(() => trainer.Run(cancel: cancel.Token));
            Directory.Delete(Path.Combine(run, "best"), recursive: true);
            CopyFolder(Path.Combine(dir, "straight", "best"), Path.Combine(run, "best"));
            var log = new List<string>();
            Train(c, run, resume: true, log);
            Assert.Contains(log, l => l.Contains($"best/ is from step {b}, after the checkpoint's step {b - 1}"));
            Assert.Equal(straight["tasks"]!.ToJsonString(), JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!["tasks"]!.ToJsonString());
        },
        ["resume: best/ disagreeing with state.json"] = () =>
        {
            var (c, dir, _) = Tiny(steps: 4, checkpointEvery: 0);
            c = c with { Training = c.Training with { EvalEverySteps = 2 } };
            var run = Path.Combine(dir, "out");
            Train(c, run);
            var best = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "checkpoint", "state.json")))!["best_step"]!.GetValue<long>();
            EditJson(Path.Combine(run, "best", "state.json"), o => o["step"] = best == 2 ? 1 : 2);
            Refused<InvalidDataException>(() => Train(c, run, resume: true), "best", "disagree");
        },
        ["resume: a different configuration names the keys"] = () =>
        {
            var (c, dir, _) = Tiny(steps: 2);
            var run = Path.Combine(dir, "out");
            Train(c, run);
            var other = c with { Seed = 12, Optimizer = c.Optimizer with { Lr = 0.5 } };
            Refused<InvalidDataException>(() => Train(other, run, resume: true), "seed (saved 11, now 12)", "optimizer.lr (saved 0.002, now 0.5)");
        },

        // Concurrency.
        ["concurrency: a second writer names the holder"] = () =>
        {
            var (c, dir, _) = Tiny(steps: 2);
            var run = Path.Combine(dir, "out");
            using (RunFolder.Acquire(run, "train"))
                Refused<IOException>(() => Train(c, run), "in use by process", Environment.ProcessId.ToString());
            Train(c, run); // the lock is released with its holder
        },
        ["concurrency: a stale lock is taken over and said so"] = () =>
        {
            var (c, dir, _) = Tiny(steps: 2);
            var run = Path.Combine(dir, "out");
            Directory.CreateDirectory(run);
            File.WriteAllText(Path.Combine(run, RunFolder.MarkerFile), "");
            File.WriteAllText(Path.Combine(run, RunFolder.LockFile), "");
            File.WriteAllText(Path.Combine(run, RunFolder.HolderFile), "{\"pid\": 999999, \"command\": \"train\"}");
            var log = new List<string>();
            Train(c, run, log: log);
            Assert.Contains(log, l => l.Contains("took over the lock of process 999999"));
            Assert.True(File.Exists(Path.Combine(run, "metrics.json")));
        },

        // The library API: one guard place for every method.
        ["api: NaN gradient in PCGrad"] = () => { var (g, i) = Matrix(WithNaN, ["a", "b"]); Refused<ArgumentException>(() => new PCGrad().Aggregate(g, i), "PCGrad", "'b'", "not finite"); },
        ["api: NaN gradient in GradVac"] = () => { var (g, i) = Matrix(WithNaN, ["a", "b"]); Refused<ArgumentException>(() => new GradVac(["a", "b"]).Aggregate(g, i), "'b'", "not finite"); },
        ["api: NaN gradient in IMTL"] = () => { var (g, i) = Matrix(WithNaN, ["a", "b"]); Refused<ArgumentException>(() => new IMTL().Aggregate(g, i), "'b'", "not finite"); },
        ["api: NaN gradient in Nash-MTL"] = () => { var (g, i) = Matrix(WithNaN, ["a", "b"]); Refused<ArgumentException>(() => new NashMTL(2).Aggregate(g, i), "'b'", "not finite"); },
        ["api: infinite gradient in Aligned-MTL"] = () => { var (g, i) = Matrix([[1, 0, 2], [double.PositiveInfinity, 1, 0]], ["a", "b"]); Refused<ArgumentException>(() => new AlignedMTL().Aggregate(g, i), "'b'", "not finite"); },
        ["api: three task names for a two-row matrix"] = () => { var (g, i) = Matrix([[1, 0, 2], [0, 1, 0]], ["a", "b"]); Refused<ArgumentException>(() => new UPGrad().Aggregate(g, i with { Tasks = ["a", "b", "c"] }), "[3, P]", "[2, 3]"); },
        ["api: one task name for a two-row matrix in CAGrad"] = () => { var (g, i) = Matrix([[1, 0, 2], [0, 1, 0]], ["a", "b"]); Refused<ArgumentException>(() => new CAGrad().Aggregate(g, i with { Tasks = ["a"] }), "[1, P]"); },
        ["api: repeated task names in MGDA"] = () => { var (g, i) = Matrix([[1, 0, 2], [0, 1, 0]], ["a", "a"]); Refused<ArgumentException>(() => new MGDA().Aggregate(g, i), "'a' appears twice"); },
        ["api: GradVac with a task it was not built for"] = () => { var (g, i) = Matrix([[1, 0, 2], [0, 1, 0]], ["a", "z"]); Refused<ArgumentException>(() => new GradVac(["a", "b"]).Aggregate(g, i), "unknown task 'z'"); },
        ["api: empty [0, P] matrix"] = () =>
        {
            using var g = zeros(0, 3, dtype: ScalarType.Float64);
            Refused<ArgumentException>(() => GradientMatrix.Gramian(g), "at least one task row", "[0, 3]");
            Refused<ArgumentException>(() => new Sum().Aggregate(g, new AggregationInput([], new double[0, 0], [], new StepContext())), "at least one task");
        },
        ["api: EW with three names for two losses"] = () => Refused<ArgumentException>(() => new EqualWeighting(["a", "b", "c"]).Weigh(Losses(["a", "b", "c"], [1, 2])), "EW", "one loss per task (3"),
        ["api: DWA with three names for two losses"] = () => Refused<ArgumentException>(() => new DWA(["a", "b", "c"]).Weigh(Losses(["a", "b", "c"], [1, 2])), "DWA", "one loss per task (3"),
        ["api: EW with an unknown task"] = () => Refused<ArgumentException>(() => new EqualWeighting(["a", "b"]).Weigh(Losses(["a", "x"], [1, 2])), "unknown task 'x'"),
        ["api: EW with no tasks"] = () => Refused<ArgumentException>(() => new EqualWeighting(["a", "b"]).Weigh(Losses([], [])), "at least one task"),

        // HTML.
        ["html: a link in a label stays text"] = () =>
        {
            var chart = MtlCharts.Lines("<a href=\"https://evil.example\">click</a>", "step", "loss",
                [new Series("<b>task</b><a href=\"https://evil.example\">x</a>", [1, 2], [1, 2])]);
            Assert.DoesNotContain("<a href", chart.FigureJson);
            Assert.DoesNotContain("\\u003Ca href", chart.FigureJson);
            Assert.Contains("evil.example", chart.FigureJson);
            Assert.Contains("&lt;a href", chart.FigureJson.Replace("\\u0026", "&").Replace("\\u003C", "<"));
        },
        ["html: a confusion-matrix label with markup stays text"] = () =>
        {
            var chart = MtlCharts.ConfusionMatrix(["<img src=x onerror=alert(1)>", "ok"], new[,] { { 1, 0 }, { 0, 1 } });
            var json = chart.FigureJson.Replace("\\u0026", "&").Replace("\\u003C", "<").Replace("\\u003E", ">");
            Assert.DoesNotContain("<img", json);
            Assert.Contains("&lt;img", json);
        },

        // The command line: one line, the right exit code, the trace only on request.
        ["cli: a run name escaping runs/ through mtk"] = () =>
        {
            var dir = Temp();
            var work = Path.Combine(dir, "a", "b");
            Directory.CreateDirectory(work);
            var victim = Path.Combine(dir, "victim");
            Directory.CreateDirectory(Path.Combine(victim, "best"));
            File.WriteAllText(Path.Combine(victim, "best", "mine.txt"), "precious");
            var config = TinyRun.Write(work, steps: 2);
            File.WriteAllText(config, File.ReadAllText(config).Replace("\"name\": \"tiny\"", "\"name\": \"../../../victim\""));
            var (code, output) = Mtk(work, "train", "--config", config);
            Assert.Equal(1, code);
            OneLineError(output, "'name'", "../../../victim");
            Assert.Equal("precious", File.ReadAllText(Path.Combine(victim, "best", "mine.txt")));
            Assert.Single(Directory.EnumerateFileSystemEntries(victim));
        },
        ["cli: an unknown option is a usage error (exit 2)"] = () =>
        {
            var (code, output) = Mtk(Temp(), "train", "--config", "x.json", "--bogus");
            Assert.Equal(2, code);
            OneLineError(output, "--bogus");
        },
        ["cli: --verbose adds the stack trace"] = () =>
        {
            var dir = Temp();
            var (code, output) = Mtk(dir, "train", "--config", Path.Combine(dir, "none.json"), "--verbose");
            Assert.Equal(1, code);
            Assert.Contains("none.json", output);
            Assert.Contains("   at ", output);
        },
        ["cli: MTK_DEVICE=bogus names the variable"] = () =>
        {
            var dir = Temp();
            var psi = MtkProcess.StartInfo(dir, "predict", "--run", dir, "--text", "x");
            psi.Environment["MTK_DEVICE"] = "bogus";
            using var p = System.Diagnostics.Process.Start(psi)!;
            var output = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.Equal(1, p.ExitCode);
            OneLineError(output.Result + stdout, "MTK_DEVICE", "'bogus'");
        },

        // Predict and evaluate (one real run shared by these rows).
        ["predict: no text is a usage error"] = () =>
        {
            var run = SharedRun.Value;
            var (code, output) = Mtk(Path.GetDirectoryName(run)!, "predict", "--run", run);
            Assert.Equal(2, code);
            OneLineError(output, "--text", "--file");
        },
        ["predict: --file with invalid UTF-8 names the file and line"] = () =>
        {
            var run = SharedRun.Value;
            var file = WriteBytes(Temp(), "texts.txt", Encoding.UTF8.GetBytes("fine line\nanother\n").Concat(new byte[] { 0x66, 0xC3, 0x28, 0x0A }).ToArray());
            var (code, output) = Mtk(Path.GetDirectoryName(run)!, "predict", "--run", run, "--file", file);
            Assert.Equal(1, code);
            OneLineError(output, "texts.txt", "line 3", "UTF-8");
        },
        ["predict: evaluate --task that the run does not have"] = () =>
        {
            var run = SharedRun.Value;
            var file = WriteFile(Temp(), "more.csv", "review,sentiment\ngood film,pos\nbad film,neg\n");
            var (code, output) = Mtk(Path.GetDirectoryName(run)!, "evaluate", "--run", run, "--file", file, "--task", "nosuch");
            Assert.Equal(2, code);
            OneLineError(output, "--task", "'nosuch'");
        },
        ["predict: evaluate a file with a TSV quote the old reader merged"] = () =>
        {
            var run = SharedRun.Value;
            var file = WriteFile(Temp(), "quoted.tsv", "review\tsentiment\n\"so good\tpos\nbad\tneg\nawful\tneg\nfine\"\tpos\n");
            var (code, output) = Mtk(Path.GetDirectoryName(run)!, "evaluate", "--run", run, "--file", file, "--task", "sentiment", "--json");
            Assert.True(code == 0, output);
            Assert.Equal(4, JsonNode.Parse(output[output.IndexOf('{')..])!["tasks"]!["sentiment"]!["count"]!.GetValue<int>());
        },
        ["predict: evaluate a run folder that does not exist"] = () =>
        {
            var dir = Temp();
            var (code, output) = Mtk(dir, "evaluate", "--run", Path.Combine(dir, "gone"));
            Assert.Equal(1, code);
            OneLineError(output, "gone");
        },
    };

    /// <summary>Cancels training once a step is reported (the next step's start throws).</summary>
    sealed class Stopper(CancellationTokenSource cancel, long atStep) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) { if (value.Step >= atStep) cancel.Cancel(); }
    }

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.EnumerateFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    /// <summary>One tiny trained run, made once, for the predict and evaluate rows.</summary>
    static readonly Lazy<string> SharedRun = new(() =>
    {
        TorchRuntime.EnsureInitialized();
        var dir = Directory.CreateTempSubdirectory("mtk-hostile-shared").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, recursive: true); } catch (IOException) { } };
        var config = RunConfig.Load(TinyRun.Write(dir, steps: 2));
        var run = Path.Combine(dir, "shared");
        Train(config, run);
        return run;
    });
}
