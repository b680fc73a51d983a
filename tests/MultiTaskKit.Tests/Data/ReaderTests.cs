using System.Formats.Tar;
using MultiTaskKit.Data;
using MultiTaskKit.IO;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Tests.Data;

public class ReaderTests
{
    [Fact]
    public void ImdbFromUpstreamShapedArchiveSkipsExtrasAndCleansText()
    {
        var dir = Fixtures.TempDir();
        var path = Path.Combine(dir, "aclImdb_v1.tar.gz");
        File.WriteAllBytes(path, Fixtures.ImdbArchive());
        var (train, test) = ImdbReader.Read(path);
        Assert.Equal(3, train.Count);
        Assert.Equal(2, test.Count);
        // Ordered by label, then numeric id: neg 7, pos 3, pos 12.
        Assert.Equal(["train/neg/7_2", "train/pos/3_10", "train/pos/12_9"], train.Examples.Select(e => e.Id));
        Assert.Equal([0, 1, 1], train.Examples.Select(e => e.Label));
        Assert.Equal([2, 10, 9], train.Examples.Select(e => e.Rating!.Value));
        Assert.Equal("Great film. Loved it.", train.Examples[2].Text);
        Assert.Equal("Dull and slow.", train.Examples[0].Text);
    }

    [Fact]
    public void ImdbFromExtractedFolderMatchesArchive()
    {
        var dir = Fixtures.TempDir();
        var path = Path.Combine(dir, "a.tar.gz");
        File.WriteAllBytes(path, Fixtures.ImdbArchive());
        var extracted = Path.Combine(dir, "x");
        SafeArchive.Extract(path, extracted);
        var fromFolder = ImdbReader.Read(Path.Combine(extracted, "aclImdb"));
        var fromArchive = ImdbReader.Read(path);
        Assert.Equal(fromArchive.Train.Examples, fromFolder.Train.Examples);
        Assert.Equal(fromArchive.Test.Examples, fromFolder.Test.Examples);
    }

    [Fact]
    public void CorruptArchiveGivesClearError()
    {
        var dir = Fixtures.TempDir();
        var path = Path.Combine(dir, "aclImdb_v1.tar.gz");
        var bytes = Fixtures.ImdbArchive();
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<InvalidDataException>(() => ImdbReader.Read(path));
        Assert.Contains(path, ex.Message);
        File.WriteAllBytes(path, "not a gzip file at all"u8.ToArray());
        ex = Assert.Throws<InvalidDataException>(() => ImdbReader.Read(path));
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void ArchiveWithoutReviewsIsAnEmptyDatasetError()
    {
        var path = Path.Combine(Fixtures.TempDir(), "empty.tar.gz");
        File.WriteAllBytes(path, Fixtures.TarGz(("aclImdb/README", "x")));
        var ex = Assert.Throws<InvalidDataException>(() => ImdbReader.Read(path));
        Assert.Contains("found none", ex.Message);
    }

    [Fact]
    public void ExtractionRefusesEntriesEscapingTheTarget()
    {
        var dir = Fixtures.TempDir();
        var path = Path.Combine(dir, "evil.tar.gz");
        File.WriteAllBytes(path, Fixtures.TarGz(("ok.txt", "fine"), ("../evil.txt", "bad")));
        var target = Path.Combine(dir, "out");
        var ex = Assert.Throws<InvalidDataException>(() => SafeArchive.Extract(path, target));
        Assert.Contains("../evil.txt", ex.Message);
        Assert.False(File.Exists(Path.Combine(dir, "evil.txt")));
        Assert.False(Directory.Exists(target)); // no half-extracted folder left to trust
        Assert.Empty(Directory.GetDirectories(dir));
    }

    [Fact]
    public void ExtractionRefusesLinksPointingOutside()
    {
        var dir = Fixtures.TempDir();
        var path = Path.Combine(dir, "link.tar");
        using (var fs = File.Create(path))
        using (var tar = new TarWriter(fs, TarEntryFormat.Pax))
            tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "a/link") { LinkName = "../../etc/passwd" });
        var ex = Assert.Throws<InvalidDataException>(() => SafeArchive.Extract(path, Path.Combine(dir, "out")));
        Assert.Contains("../../etc/passwd", ex.Message);
    }

    [Fact]
    public void TweetEvalLineCountMismatchNamesBothCounts()
    {
        var dir = Path.Combine(Fixtures.TempDir(), "irony");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "mapping.txt"), "0\tnon_irony\n1\tirony\n");
        File.WriteAllText(Path.Combine(dir, "train_text.txt"), "a\nb\nc\n");
        File.WriteAllText(Path.Combine(dir, "train_labels.txt"), "0\n1\n");
        var ex = Assert.Throws<InvalidDataException>(() => TweetEvalReader.Read(dir, "train"));
        Assert.Contains("3 lines", ex.Message);
        Assert.Contains("has 2", ex.Message);
        File.WriteAllText(Path.Combine(dir, "train_labels.txt"), "0\n7\n1\n");
        ex = Assert.Throws<InvalidDataException>(() => TweetEvalReader.Read(dir, "train"));
        Assert.Contains("line 2", ex.Message);
        Assert.Contains("'7'", ex.Message);
    }

    [Fact]
    public void VaderNonNumericRatingNamesTheLine()
    {
        var path = Path.Combine(Fixtures.TempDir(), "tweets_GroundTruth.txt");
        File.WriteAllText(path, "1\t1.5\tgood\r\n2\tgreat\tbad row\r\n");
        var ex = Assert.Throws<InvalidDataException>(() => VaderReader.Read(path));
        Assert.Contains("line 2", ex.Message);
        Assert.Contains("'great'", ex.Message);
        File.WriteAllText(path, "\r\n");
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => VaderReader.Read(path)).Message);
    }

    [Fact]
    public void CsvReadsClassificationAndRegressionAndNamesBadInput()
    {
        var dir = Fixtures.TempDir();
        var csv = Path.Combine(dir, "reviews.csv");
        File.WriteAllText(csv, "id,review,stars,sentiment\n1,\"Good, really\",4.5,pos\n2,Bad,1,neg\n3,Fine,3,pos\n");
        var cls = CsvTaskReader.Read(csv, new CsvTaskOptions { TextColumn = "review", LabelColumn = "sentiment" });
        Assert.Equal(["neg", "pos"], cls.LabelNames);
        Assert.Equal([1, 0, 1], cls.Examples.Select(e => e.Label));
        Assert.Equal("Good, really", cls.Examples[0].Text);
        var reg = CsvTaskReader.Read(csv, new CsvTaskOptions { TextColumn = "review", LabelColumn = "stars", Kind = TaskKind.Regression });
        Assert.Equal([4.5f, 1f, 3f], reg.Examples.Select(e => e.Target));

        var ex = Assert.Throws<InvalidDataException>(() => CsvTaskReader.Read(csv, new CsvTaskOptions { TextColumn = "text", LabelColumn = "sentiment" }));
        Assert.Contains("'text'", ex.Message);
        Assert.Contains("'review'", ex.Message); // lists what exists

        File.WriteAllText(csv, "review,stars\nGood,4\nBad,n/a\n");
        ex = Assert.Throws<InvalidDataException>(() => CsvTaskReader.Read(csv, new CsvTaskOptions { TextColumn = "review", LabelColumn = "stars", Kind = TaskKind.Regression }));
        Assert.Contains("line 3", ex.Message);
        Assert.Contains("'n/a'", ex.Message);

        File.WriteAllText(csv, "review,stars\n");
        Assert.Contains("no", Assert.Throws<InvalidDataException>(() => CsvTaskReader.Read(csv, new CsvTaskOptions { TextColumn = "review", LabelColumn = "stars" })).Message);

        var tsv = Path.Combine(dir, "t.tsv");
        File.WriteAllText(tsv, "text\tlabel\nhello @bob\t1\nbye\t0\n");
        var t = CsvTaskReader.Read(tsv, new CsvTaskOptions { TextColumn = "text", LabelColumn = "label", Normalizer = TextNormalizer.Tweet });
        Assert.Equal(["0", "1"], t.LabelNames);
        Assert.Equal("hello @user", t.Examples[0].Text);
    }

    [Fact]
    public void TweetNormalisationIsTheOneFunction()
    {
        Assert.Equal("@user see http &", TextNormalizer.Apply("tweet", "@jack_1 see https://t.co/abc  &amp;"));
        Assert.Equal("email a@b.com kept", TextNormalizer.NormalizeTweet("email a@b.com kept"));
        Assert.Equal("a b", TextNormalizer.Apply("imdb", "a<br /><br />b"));
        Assert.Throws<ArgumentException>(() => TextNormalizer.Apply("bogus", "x"));
    }

    [SkippableFact]
    public void RealSharedDataLoadsWithDocumentedSplits()
    {
        var dataDir = KitPaths.FindDataDir();
        Skip.If(dataDir is null, "No shared/data folder found (set MTK_DATA_DIR): the real-data reader test needs the dataset copies.");
        var sources = new DatasetSources { DataDir = dataDir };
        var vader = BuiltInTasks.Vader(sources, 42);
        Assert.Equal(4200, vader.Train.Count + vader.Validation.Count + vader.Test.Count);
        Assert.Equal(420, vader.Test.Count);
        Assert.All(vader.Train.Examples, e => Assert.InRange(e.Target, -4f, 4f));
        var sentiment = BuiltInTasks.TweetEval("sentiment", sources, 42);
        Assert.Equal(2000, sentiment.Test.Count);
        Assert.Equal(12284, sentiment.Train.Count + sentiment.Validation.Count);
        Assert.Contains("upstream train is absent", sentiment.Note);
        var hate = BuiltInTasks.TweetEval("hate", sources, 42);
        Assert.Equal((9000, 1000, 2970), (hate.Train.Count, hate.Validation.Count, hate.Test.Count));
        var imdb = BuiltInTasks.Imdb(sources, 42);
        Assert.Equal(24980, imdb.Train.Count + imdb.Validation.Count);
        Assert.Equal(24980, imdb.Test.Count);
        Assert.DoesNotContain(imdb.Test.Examples, e => e.Text.Contains("<br"));
        Assert.All(imdb.Test.Examples, e => Assert.True(e.Label == 1 ? e.Rating >= 7 : e.Rating <= 4));
    }
}
