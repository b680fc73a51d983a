using MultiTaskKit.IO;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Tests.Runtime;

public class KitPathsTests
{
    [Fact]
    public void ExplicitDataDirThatDoesNotExistNamesTheArgument()
    {
        var ex = Assert.Throws<DirectoryNotFoundException>(() => KitPaths.FindDataDir("/no/such/folder/xyz"));
        Assert.Contains("--data-dir", ex.Message);
        Assert.Contains("/no/such/folder/xyz", ex.Message);
    }

    [Fact]
    public void ExplicitDataDirWins()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-data").FullName;
        Assert.Equal(dir, KitPaths.FindDataDir(dir));
    }

    [Fact]
    public void AtomicWriteLeavesNoTemporaryFiles()
    {
        var dir = Directory.CreateTempSubdirectory("mtk-atomic").FullName;
        var path = Path.Combine(dir, "a.bin");
        AtomicFile.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        AtomicFile.WriteAllBytes(path, new byte[] { 4 });
        Assert.Equal(new byte[] { 4 }, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir));
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, tmp => { File.WriteAllText(tmp, "half"); throw new InvalidOperationException(); }));
        Assert.Equal(new byte[] { 4 }, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir));
    }
}
