using System.Text.RegularExpressions;

namespace MultiTaskKit.Tests.Layout;

/// <summary>
/// A trainer in this process re-seeds torch's global generator at every step and applies its run's runtime options, so
/// two test classes training in-process at once draw each other's dropout masks: results that should match a straight
/// run then differ by chance (the hostile resume row failed this way). Every test class that builds a
/// <c>Trainer</c> therefore sits in <see cref="ProcessStateCollection"/>, read here from the test sources.
/// </summary>
public class TestIsolationTests
{
    [Fact]
    public void EveryTestFileThatTrainsInProcessRunsInTheProcessStateCollection()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "MultiTaskKit.Tests.csproj"))) root = Path.GetDirectoryName(root) ?? throw new DirectoryNotFoundException($"expected MultiTaskKit.Tests.csproj above {AppContext.BaseDirectory}");
        var trains = new Regex(@"new Trainer\(");
        var files = Directory.GetFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Where(f => trains.IsMatch(File.ReadAllText(f))).ToList();
        Assert.NotEmpty(files);
        var outside = files.Where(f => !File.ReadAllText(f).Contains("[Collection(ProcessStateCollection.Name)]"))
            .Select(f => Path.GetRelativePath(root, f)).ToList();
        Assert.True(outside.Count == 0, $"these test files train in-process outside the ProcessState collection: {string.Join(", ", outside)}");
    }
}
