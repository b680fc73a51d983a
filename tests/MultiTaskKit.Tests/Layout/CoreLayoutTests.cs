using System.Text.RegularExpressions;

namespace MultiTaskKit.Tests.Layout;

/// <summary>
/// The library's source layout, read from the files themselves: each top-level folder of the core is one namespace,
/// the core's folders import each other without cycles, and every file of every project is named after a type it holds.
/// </summary>
public class CoreLayoutTests
{
    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Kit.sln"))) return d.FullName;
        throw new DirectoryNotFoundException($"expected Kit.sln above {AppContext.BaseDirectory}, found none");
    }

    static string CoreDir => Path.Combine(RepoRoot(), "lib", "MultiTaskKit");

    /// <summary>The core's C# sources (build outputs excluded), with their top-level folder ("" for the root).</summary>
    static IEnumerable<(string Path, string Folder)> CoreSources()
    {
        var core = CoreDir;
        foreach (var file in Directory.EnumerateFiles(core, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(core, file).Replace('\\', '/');
            if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal)) continue;
            var slash = relative.IndexOf('/');
            yield return (relative, slash < 0 ? "" : relative[..slash]);
        }
    }

    static readonly Regex UsingDirective = new(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?MultiTaskKit\.(\w+)", RegexOptions.Compiled);
    static readonly Regex QualifiedName = new(@"(?<![\w.])MultiTaskKit\.(\w+)\.", RegexOptions.Compiled);
    static readonly Regex RelativeName = new(@"(?<![\w.])(\w+)\.(\w+)", RegexOptions.Compiled);
    static readonly Regex StringLiteral = new("@?\"(?:[^\"\\\\]|\\\\.)*\"", RegexOptions.Compiled);

    /// <summary>What each top-level folder of the core declares: its types and its sub-namespaces (sub-folders).</summary>
    static Dictionary<string, HashSet<string>> FolderMembers()
    {
        var members = new Dictionary<string, HashSet<string>>();
        foreach (var (path, folder) in CoreSources())
        {
            if (folder == "") continue;
            if (!members.TryGetValue(folder, out var names)) members[folder] = names = new();
            foreach (Match m in TopLevelType.Matches(File.ReadAllText(Path.Combine(CoreDir, path)))) names.Add(m.Groups[1].Value);
            var parts = path.Split('/');
            if (parts.Length > 2) names.Add(parts[1]);
        }
        return members;
    }

    /// <summary>
    /// The core folders one line of code (comments and string literals already removed) imports: a <c>using
    /// MultiTaskKit.X</c> directive (plain, static, alias or global), a fully qualified <c>MultiTaskKit.X.Name</c>, or a
    /// name qualified relative to the enclosing <c>MultiTaskKit</c> namespace, <c>X.Name</c>, where Name is a type or
    /// sub-namespace that folder X declares (code inside <c>MultiTaskKit.Text</c> may write <c>Models.TrunkInput</c>).
    /// </summary>
    static IEnumerable<string> Imports(string code, IReadOnlyDictionary<string, HashSet<string>> members)
    {
        var directive = UsingDirective.Match(code);
        if (directive.Success) return [directive.Groups[1].Value];
        return QualifiedName.Matches(code).Select(m => m.Groups[1].Value)
            .Concat(RelativeName.Matches(code)
                .Where(m => members.TryGetValue(m.Groups[1].Value, out var names) && names.Contains(m.Groups[2].Value))
                .Select(m => m.Groups[1].Value));
    }

    /// <summary>
    /// Folder → folder imports of the core (<see cref="Imports"/>, line by line, comments and string literals are not
    /// code), where the target is another top-level folder of the core. Each edge keeps the files that make it.
    /// </summary>
    static Dictionary<(string From, string To), List<string>> ImportGraph()
    {
        var folders = Directory.GetDirectories(CoreDir).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj")).ToHashSet()!;
        var members = FolderMembers();
        var edges = new Dictionary<(string, string), List<string>>();
        foreach (var (path, folder) in CoreSources())
        {
            if (folder == "") continue;
            foreach (var raw in File.ReadLines(Path.Combine(CoreDir, path)))
            {
                var line = raw.TrimStart();
                if (line.StartsWith("//", StringComparison.Ordinal)) continue;
                var code = StringLiteral.Replace(line, "\"\"");
                var comment = code.IndexOf("//", StringComparison.Ordinal);
                if (comment >= 0) code = code[..comment];
                foreach (var target in Imports(code, members).Where(t => t != folder && folders.Contains(t)))
                {
                    if (!edges.TryGetValue((folder, target), out var files)) edges[(folder, target)] = files = new();
                    if (!files.Contains(path)) files.Add(path);
                }
            }
        }
        return edges;
    }

    [Fact]
    public void TheImportScanReadsDirectivesFullAndRelativeNames()
    {
        var members = new Dictionary<string, HashSet<string>> { ["Models"] = ["TrunkInput", "Bert"], ["Runtime"] = ["TorchRuntime"] };
        Assert.Equal(["Models"], Imports("using MultiTaskKit.Models.Bert;", members));
        Assert.Equal(["Runtime"], Imports("using static MultiTaskKit.Runtime.TorchRuntime;", members));
        Assert.Equal(["Models"], Imports("public MultiTaskKit.Models.TrunkInput X() =>", members));
        Assert.Equal(["Models"], Imports("public Models.TrunkInput ToTrunkInput(Device? device = null)", members));
        Assert.Equal(["Models"], Imports("var b = new Models.Bert.BertModel(config);", members));
        Assert.Equal(["Runtime"], Imports("device ??= Runtime.TorchRuntime.Device;", members));
        // a member access on something that only shares a folder's name, and a name under System, are no imports
        Assert.Empty(Imports("var n = Models.Count + System.Runtime.GCSettings.IsServerGC;", members));
        Assert.Empty(Imports("var s = batch.Models.TrunkInput;", members));
    }

    /// <summary>Strongly connected components with more than one folder (Tarjan): each is a set of folders in a cycle.</summary>
    static List<List<string>> Cycles(IEnumerable<(string From, string To)> edges)
    {
        var next = edges.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).Order(StringComparer.Ordinal).ToList());
        var nodes = edges.SelectMany(e => new[] { e.From, e.To }).Distinct().Order(StringComparer.Ordinal).ToList();
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var components = new List<List<string>>();
        int counter = 0;

        void Visit(string v)
        {
            index[v] = low[v] = counter++;
            stack.Push(v); onStack.Add(v);
            foreach (var w in next.GetValueOrDefault(v) ?? [])
            {
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] == index[v]) // v is a component's root: pop the component
            {
                var component = new List<string>();
                string x;
                do { x = stack.Pop(); onStack.Remove(x); component.Add(x); } while (x != v);
                if (component.Count > 1) components.Add(component.Order(StringComparer.Ordinal).ToList());
            }
        }

        foreach (var v in nodes) if (!index.ContainsKey(v)) Visit(v);
        return components;
    }

    [Fact]
    public void FoldersOfTheCoreImportEachOtherWithoutCycles()
    {
        var graph = ImportGraph();
        Assert.NotEmpty(graph); // the scan sees imports at all (Training uses Data, for one)
        Assert.Contains(("Training", "Data"), graph.Keys);

        var cycles = Cycles(graph.Keys);
        var report = string.Join("\n", cycles.Select(c =>
            $"cycle among {string.Join(", ", c)}:\n" + string.Join("\n", graph
                .Where(e => c.Contains(e.Key.From) && c.Contains(e.Key.To))
                .OrderBy(e => e.Key.From, StringComparer.Ordinal).ThenBy(e => e.Key.To, StringComparer.Ordinal)
                .Select(e => $"  {e.Key.From} -> {e.Key.To}: {string.Join(", ", e.Value)}"))));
        Assert.True(cycles.Count == 0, "the core's folders import each other in circles:\n" + report);
    }

    [Fact]
    public void TheCycleFinderFindsACycle()
    {
        var cycles = Cycles([("A", "B"), ("B", "C"), ("C", "A"), ("C", "D"), ("D", "E")]);
        Assert.Equal(["A", "B", "C"], Assert.Single(cycles));
        Assert.Empty(Cycles([("A", "B"), ("B", "C"), ("A", "C")]));
    }

    [Fact]
    public void EachFolderIsOneNamespace()
    {
        var wrong = new List<string>();
        foreach (var (path, folder) in CoreSources())
        {
            var ns = File.ReadLines(Path.Combine(CoreDir, path)).Select(l => Regex.Match(l, @"^namespace\s+([\w.]+)")).FirstOrDefault(m => m.Success)?.Groups[1].Value;
            var expected = folder == "" ? "MultiTaskKit" : "MultiTaskKit." + folder;
            if (ns is null || (ns != expected && !ns.StartsWith(expected + ".", StringComparison.Ordinal)))
                wrong.Add($"{path}: expected namespace {expected} (or below it), found {ns ?? "none"}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    /// <summary>The core's top-level folders, in the order data flows through them; each names one concern.</summary>
    static readonly string[] CoreFolders =
        ["IO", "Runtime", "Text", "Models", "Evaluation", "Data", "Weighting", "Aggregation", "Optim", "Steps", "Runs", "Training", "Sweeps", "Comparison"];

    [Fact]
    public void TheCoreHasOneFolderPerConcern()
    {
        var folders = Directory.GetDirectories(CoreDir).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj")).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(CoreFolders.Order(StringComparer.Ordinal), folders);
        // A folder imports only folders before it in the flow (its own lower layers), never one after it.
        var late = ImportGraph().Keys.Where(e => Array.IndexOf(CoreFolders, e.To) > Array.IndexOf(CoreFolders, e.From))
            .Select(e => $"{e.From} -> {e.To}").ToList();
        Assert.True(late.Count == 0, "folders that import a folder later in the flow: " + string.Join(", ", late));
    }

    [Theory]
    [InlineData("Aggregation/MethodCatalog.cs", "Weighting/EqualWeighting.cs")]           // the methods' catalogue, beside them
    [InlineData("Models/Architectures/ArchitectureCatalog.cs", "Models/Architectures/MultiTaskModel.cs")]
    [InlineData("Data/BuiltInTasks.cs", "Data/ImdbReader.cs")]                             // the datasets' one table
    [InlineData("IO/AtomicFolder.cs", "IO/AtomicFile.cs")]
    [InlineData("Steps/TrainingStep.cs", "Steps/MultiTaskStep.cs")]                        // the step, in one folder
    [InlineData("Data/Tasks/TaskKind.cs", "Data/Tasks/TokenClassificationKind.cs")]        // the kinds' registry, beside them
    public void RegistriesAndSharedPartsLiveBesideWhatTheyServe(string file, string neighbour)
    {
        Assert.True(File.Exists(Path.Combine(CoreDir, file)), $"expected lib/MultiTaskKit/{file}");
        Assert.True(File.Exists(Path.Combine(CoreDir, neighbour)), $"expected lib/MultiTaskKit/{neighbour}");
    }

    /// <summary>Code lines of every project under <c>lib/</c> (comments dropped), with their file.</summary>
    static IEnumerable<(string File, string Code)> CodeLines() =>
        LibrarySources().SelectMany(f => File.ReadLines(f.Full).Select(l => l.TrimStart())
            .Where(l => !l.StartsWith("//", StringComparison.Ordinal)).Select(l => (f.Relative, l)));

    [Fact]
    public void EachFactIsWrittenOnce()
    {
        var lines = CodeLines().ToList();
        // history.csv: one codec (RunHistory) writes and reads the header.
        var header = lines.Where(l => l.Code.Contains("\"step,epoch,kind,task,metric,value\"", StringComparison.Ordinal)).Select(l => l.File).Distinct().ToList();
        Assert.Equal(["MultiTaskKit/Runs/RunHistory.cs"], header);
        // Metric directions: one table.
        var tables = lines.Where(l => Regex.IsMatch(l.Code, @"HashSet<string>.*(Lower|Higher)", RegexOptions.IgnoreCase)).Select(l => l.File).Distinct().ToList();
        Assert.Equal(["MultiTaskKit/Evaluation/MetricDirections.cs"], tables);
        // Dataset names: switched on in the built-in table only.
        var switches = lines.Where(l => Regex.IsMatch(l.Code, @"(==|\bis|\bor|case)\s*""(imdb|vader|vader-tweets)""|StartsWith\(""tweeteval/"""))
            .Select(l => l.File).Distinct().ToList();
        Assert.True(switches.All(f => f == "MultiTaskKit/Data/BuiltInTasks.cs"), "files that switch on a dataset's name: " + string.Join(", ", switches));
        // Task kinds: nothing outside Data/Tasks/ compares kinds or names a kind's class.
        var kindBranches = lines.Where(l => !l.File.StartsWith("MultiTaskKit/Data/Tasks/", StringComparison.Ordinal)
                && Regex.IsMatch(l.Code, @"[!=]=\s*TaskKind\.|TaskKind\.\w+\s*[!=]=|\b(Classification|Regression|MultiLabel|TokenClassification)Kind\b"))
            .Select(l => $"{l.File}: {l.Code}").ToList();
        Assert.True(kindBranches.Count == 0, "code that branches on a task kind outside Data/Tasks/:\n" + string.Join("\n", kindBranches));
        // The atomic-folder writer lives in IO/, not in a model's checkpoint code.
        Assert.DoesNotContain(lines, l => l.File != "MultiTaskKit/IO/AtomicFolder.cs" && l.Code.Contains("Directory.Move(tmp", StringComparison.Ordinal));
    }

    static readonly Regex TopLevelType = new(
        @"^(?:(?:public|internal|static|sealed|abstract|partial|readonly|file|unsafe|ref)\s+)*(?:class|struct|interface|enum|record(?:\s+(?:class|struct))?|delegate\s+[\w<>\[\],. ?]+?)\s+(\w+)",
        RegexOptions.Compiled | RegexOptions.Multiline);

    /// <summary>Every C# source of every project under <c>lib/</c> (build outputs excluded), relative to <c>lib/</c>.</summary>
    static IEnumerable<(string Relative, string Full)> LibrarySources()
    {
        var lib = Path.Combine(RepoRoot(), "lib");
        foreach (var project in Directory.GetDirectories(lib).Order(StringComparer.Ordinal))
            foreach (var file in Directory.EnumerateFiles(project, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var relative = Path.GetRelativePath(lib, file).Replace('\\', '/');
                if (relative.Contains("/bin/", StringComparison.Ordinal) || relative.Contains("/obj/", StringComparison.Ordinal)) continue;
                yield return (relative, file);
            }
    }

    [Fact]
    public void EachFileIsNamedAfterATypeItHolds()
    {
        var wrong = new List<string>();
        int files = 0;
        foreach (var (relative, full) in LibrarySources())
        {
            files++;
            var text = File.ReadAllText(full);
            var types = TopLevelType.Matches(text).Select(m => m.Groups[1].Value).Distinct().ToList();
            var name = Path.GetFileNameWithoutExtension(relative);
            if (name == "Program" && types.Count == 0) continue; // top-level statements
            if (!types.Contains(name))
                wrong.Add($"lib/{relative}: expected a type {name}, found {(types.Count == 0 ? "no top-level type" : string.Join(", ", types))}");
        }
        Assert.True(files > 100, $"expected the library's sources under lib/, found {files} files");
        Assert.True(wrong.Count == 0, "files whose name is none of their types:\n" + string.Join("\n", wrong));
    }

    [Fact]
    public void TheCoreCarriesNoToolsOrTheirPackages()
    {
        var project = System.Xml.Linq.XDocument.Load(Path.Combine(CoreDir, "MultiTaskKit.csproj"));
        // A reference with ExcludeAssets="all" only keeps a transitive package out (SentenceTransformers names ONNX Runtime).
        var packages = project.Descendants("PackageReference")
            .Where(e => !string.Equals((string?)e.Attribute("ExcludeAssets"), "all", StringComparison.OrdinalIgnoreCase))
            .Select(e => (string)e.Attribute("Include")!).ToList();
        Assert.Contains("TorchSharp.PyBridge", packages); // the scan reads the real file
        string[] forbidden = ["Microsoft.ML.OnnxRuntime", "Plotly.NET", "Plotly.NET.CSharp", "FSharp.Core", "PuppeteerSharp", "Microsoft.Playwright", "Markdig", "Microsoft.DotNet.Interactive"];
        Assert.Empty(packages.Where(p => forbidden.Any(f => p.StartsWith(f, StringComparison.OrdinalIgnoreCase))));

        // What a consumer of the core really gets, transitive packages included: the core's own deps.json, built with the tests.
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        var deps = Path.Combine(CoreDir, "bin", configuration, "net10.0", "MultiTaskKit.deps.json");
        Assert.True(File.Exists(deps), $"expected the core's build output at {deps}");
        var graph = System.Text.Json.JsonDocument.Parse(File.ReadAllText(deps)).RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name).ToList();
        Assert.Contains(graph, l => l.StartsWith("TorchSharp/", StringComparison.Ordinal));
        Assert.Empty(graph.Where(l => forbidden.Any(f => l.StartsWith(f, StringComparison.OrdinalIgnoreCase))));
        Assert.Empty(project.Descendants("ProjectReference"));

        var references = typeof(MultiTaskKit.Runtime.TorchRuntime).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.Contains("TorchSharp", references);
        Assert.Empty(references.Where(r => forbidden.Any(f => r.StartsWith(f, StringComparison.OrdinalIgnoreCase)) || r.StartsWith("MultiTaskKit.", StringComparison.Ordinal)));
        Assert.Empty(typeof(MultiTaskKit.Runtime.TorchRuntime).Assembly.GetManifestResourceNames().Where(n => n.Contains("Plotly", StringComparison.OrdinalIgnoreCase)));
    }
}
