using MultiTaskKit.Runs;

namespace MultiTaskKit.Tests.Runs;

/// <summary>
/// The run folder's own checks, called directly. Mutation testing (<c>.ci/mutation runfolder</c>) found them unread by
/// the suites that reach them through whole runs: a same-size change to a data file, the lock holder's description, a
/// link inside the folder, the bounds of a run's name and what an interrupted swap leaves behind.
/// </summary>
public sealed class RunFolderTests : IDisposable
{
    readonly string root = Directory.CreateTempSubdirectory("mtk-runfolder-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public void ADataFileChangedAtTheSameSizeIsCaughtByItsHash()
    {
        var data = Path.Combine(root, "train.csv");
        File.WriteAllText(data, "text,label\nabc,1\n");
        var run = Directory.CreateDirectory(Path.Combine(root, "run")).FullName;
        RunFolder.SaveFingerprints(run, RunFolder.Fingerprints([data]));
        Assert.Null(RunFolder.CheckFingerprints(run, RunFolder.Fingerprints([data]), "evaluate"));

        File.WriteAllText(data, "text,label\nabc,0\n"); // same size, one label flipped
        var e = Assert.Throws<InvalidDataException>(() => RunFolder.CheckFingerprints(run, RunFolder.Fingerprints([data]), "evaluate"));
        Assert.Contains("evaluate: data file", e.Message);
        Assert.Contains("changed since the run started (expected 17 bytes", e.Message);
        Assert.Contains("found 17 bytes", e.Message);
    }

    [Fact]
    public void AFolderInUseNamesItsHolder()
    {
        var dir = Path.Combine(root, "busy");
        using var first = RunFolder.Acquire(dir, "train");
        var e = Assert.Throws<IOException>(() => RunFolder.Acquire(dir, "evaluate"));
        Assert.Contains($"is in use by process {Environment.ProcessId} (mtk train, started ", e.Message);
        Assert.Contains($" on {Environment.MachineName})", e.Message);
        Assert.True(File.Exists(Path.Combine(dir, RunFolder.MarkerFile)));
    }

    [Fact]
    public void ALinkInsideTheFolderIsRefusedBeforeAnythingIsWritten()
    {
        var dir = Directory.CreateDirectory(Path.Combine(root, "linked")).FullName;
        var outside = Directory.CreateDirectory(Path.Combine(root, "outside")).FullName;
        File.CreateSymbolicLink(Path.Combine(dir, "charts"), outside);
        File.WriteAllText(Path.Combine(dir, RunFolder.MarkerFile), "planted\n");
        var e = Assert.Throws<IOException>(() => RunFolder.Acquire(dir));
        Assert.Contains("'charts' is a symbolic link", e.Message);
        Assert.False(File.Exists(Path.Combine(dir, RunFolder.HolderFile)));
        Assert.False(File.Exists(Path.Combine(dir, RunFolder.LockFile)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
    }

    [Theory]
    [InlineData("a", true)]
    [InlineData("run_1-b.2", true)]
    [InlineData("x", true, 100)]
    [InlineData("x", false, 101)]
    [InlineData(".hidden", false)]
    [InlineData("a b", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    public void ARunNameIsOneToAHundredSafeCharacters(string name, bool ok, int repeat = 1)
    {
        var full = string.Concat(Enumerable.Repeat(name, repeat));
        if (ok) RunFolder.ValidateName(full, "tasks.json");
        else Assert.Contains("tasks.json: 'name' must be 1-100 letters", Assert.Throws<InvalidDataException>(() => RunFolder.ValidateName(full, "tasks.json")).Message);
    }
}
