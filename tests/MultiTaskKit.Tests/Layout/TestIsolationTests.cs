using System.Text.RegularExpressions;

namespace MultiTaskKit.Tests.Layout;

/// <summary>
/// A trainer in this process re-seeds torch's global generator at every step, so two test classes training in-process at
/// once draw each other's dropout masks: results that should match a straight run then differ by chance (the hostile
/// resume row failed this way). Every test file that trains, seeds the global generator, or changes other process-wide
/// state therefore sits in <see cref="ProcessStateCollection"/>, read here from the test sources. The device is not
/// among them: a run's device is its own (<see cref="Training.TrainerDeviceTests"/>).
/// </summary>
public class TestIsolationTests
{
    /// <summary>What changes process-wide state, as written in a test source (comments are not read).</summary>
    static readonly (string What, Regex Pattern)[] ProcessWide =
    [
        ("trains in-process (re-seeds the global generator every step)", new(@"new Trainer\(|SyntheticTraining\.Train\(|SweepRunner\.Run\(")),
        ("seeds torch's global generator", new(@"\bmanual_seed\(|SeedGlobalGenerator\(")),
        ("changes libtorch's threads or the default device", new(@"TorchRuntime\.(Configure|ConfigureProcess|SetThreads)\(|set_num_threads\(")),
        ("sets an environment variable", new(@"Environment\.SetEnvironmentVariable\(")),
        ("changes the current directory", new(@"SetCurrentDirectory\(|Environment\.CurrentDirectory\s*=|NotebookRunner\.")),
        ("runs the benchmarks (they set libtorch's threads and seed)", new(@"BenchRunner\.Run\(|BertBenchmarks\.")),
        ("redirects the console", new(@"Console\.Set(Out|Error|In)\(")),
    ];

    /// <summary>Files that seed the global generator outside the collection, and why that is harmless: each seeds only to
    /// make a failure reproducible, and every assertion holds for any weights (the kit against ONNX Runtime on one and
    /// the same model, or a refusal).</summary>
    static readonly HashSet<string> SeedOnlyForReproducibility =
    [
        Path.Combine("Export", "OnnxParityTests.cs"),
        Path.Combine("Export", "OnnxTaskKindParityTests.cs"),
    ];

    static string Root()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "MultiTaskKit.Tests.csproj"))) root = Path.GetDirectoryName(root) ?? throw new DirectoryNotFoundException($"expected MultiTaskKit.Tests.csproj above {AppContext.BaseDirectory}");
        return root;
    }

    /// <summary>A source without its comments (line comments, XML docs, block comments), so that a mention is not a call.</summary>
    internal static string Code(string source) =>
        Regex.Replace(Regex.Replace(source, @"/\*.*?\*/", "", RegexOptions.Singleline), @"//[^\n]*", "");

    [Fact]
    public void EveryTestFileThatChangesProcessWideStateRunsInTheProcessStateCollection()
    {
        var root = Root();
        var sep = Path.DirectorySeparatorChar;
        var files = Directory.GetFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{sep}bin{sep}") && !f.Contains($"{sep}obj{sep}"))
            .Select(f => (Path: Path.GetRelativePath(root, f), Text: File.ReadAllText(f)))
            .Where(f => f.Path != Path.Combine("Layout", "TestIsolationTests.cs"))
            .ToList();
        // the patterns still find what they are for (the rule would pass vacuously on a renamed API)
        foreach (var (what, pattern) in ProcessWide.Where(p => !p.What.Contains("console")))
            Assert.True(files.Any(f => pattern.IsMatch(Code(f.Text))), $"no test file {what} any more; is the pattern '{pattern}' stale?");
        var outside = files
            .Where(f => !f.Text.Contains("[Collection(ProcessStateCollection.Name)]"))
            .SelectMany(f => ProcessWide.Where(p => p.Pattern.IsMatch(Code(f.Text)))
                .Where(p => !(p.What.StartsWith("seeds") && SeedOnlyForReproducibility.Contains(f.Path)))
                .Select(p => $"{f.Path} {p.What}"))
            .ToList();
        Assert.True(outside.Count == 0, $"outside the ProcessState collection: {string.Join("; ", outside)}");
    }

    [Fact]
    public void CommentsAreNotReadAsCalls()
    {
        Assert.Equal("x(); \n\ny();", Code("x(); // manual_seed(1)\n/// <c>new Trainer(</c>\ny();/* SetCurrentDirectory( */"));
        Assert.Matches(ProcessWide[1].Pattern, Code("torch.manual_seed(3);"));
    }
}
