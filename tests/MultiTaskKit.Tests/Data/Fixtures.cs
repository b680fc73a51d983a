using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace MultiTaskKit.Tests.Data;

static class Fixtures
{
    /// <summary>A gzip'd tar holding the given text files.</summary>
    public static byte[] TarGz(params (string Name, string Text)[] files)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax))
        {
            foreach (var (name, text) in files)
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) };
                tar.WriteEntry(entry);
            }
        }
        return ms.ToArray();
    }

    /// <summary>An IMDB-shaped archive: the upstream layout plus unsup/ and extra files the reader must skip.</summary>
    public static byte[] ImdbArchive() => TarGz(
        ("aclImdb/README", "readme"),
        ("aclImdb/imdb.vocab", "the\nmovie"),
        ("aclImdb/train/labeledBow.feat", "0 1:2"),
        ("aclImdb/train/pos/12_9.txt", "Great film.<br /><br />Loved it."),
        ("aclImdb/train/pos/3_10.txt", "Superb."),
        ("aclImdb/train/neg/7_2.txt", "Dull<br/>and slow."),
        ("aclImdb/train/unsup/1_0.txt", "no label"),
        ("aclImdb/train/urls_pos.txt", "http://x"),
        ("aclImdb/test/pos/1_8.txt", "Nice."),
        ("aclImdb/test/neg/2_1.txt", "Awful."));

    public static string TempDir(string prefix = "mtk-test") => Directory.CreateTempSubdirectory(prefix).FullName;
}
