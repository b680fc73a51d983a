using System.Globalization;

namespace MultiTaskKit.Data;

/// <summary>
/// VADER tweets (Hutto and Gilbert, ICWSM 2014): <c>id \t mean rating \t text</c>, CRLF line ends, no header. The mean
/// of ten human ratings in [-4, 4] is the regression target. Texts pass through the tweet normaliser.
/// </summary>
public static class VaderReader
{
    public const string DatasetName = "vader-tweets";
    public const string FileName = "tweets_GroundTruth.txt";

    /// <summary>Reads <paramref name="path"/> (the file, or a folder holding <c>tweets_GroundTruth.txt</c>) as one dataset named split <c>all</c>.</summary>
    public static TextDataset Read(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, FileName);
        if (!File.Exists(path)) throw new FileNotFoundException($"VADER tweets: expected '{path}' (id \\t rating \\t text), found no such file.", path);
        var examples = new List<TextExample>();
        int lineNo = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNo++;
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            var parts = line.Split('\t', 3);
            if (parts.Length != 3)
                throw new InvalidDataException($"{path}, line {lineNo}: expected 3 tab-separated fields (id, rating, text), found {parts.Length}.");
            if (!float.TryParse(parts[1].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var rating) || !float.IsFinite(rating))
                throw new InvalidDataException($"{path}, line {lineNo}: expected a numeric mean rating in [-4, 4], found '{parts[1]}'.");
            if (rating is < -4 or > 4)
                throw new InvalidDataException($"{path}, line {lineNo}: expected a mean rating in [-4, 4], found {rating.ToString(CultureInfo.InvariantCulture)}.");
            examples.Add(new TextExample(parts[0].Trim(), TextNormalizer.NormalizeTweet(parts[2]), Target: rating));
        }
        if (examples.Count == 0) throw new InvalidDataException($"{path}: expected at least one tweet, found an empty file.");
        return new TextDataset(DatasetName, "all", TaskKind.Regression, [], examples, path);
    }
}
